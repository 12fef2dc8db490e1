// The plugin protocol's request handling, without sockets: sessions (HELLO first), SPI
// reservations, SAs and policies per client, refcounted priority-ordered policies, use times,
// and the lifetime events. dp_server feeds it decoded requests and sends what it returns; the
// fuzz target and the unit tests drive it directly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "crossgate/dataplane/dp_proto.h"
#include "crossgate/dataplane/sa.h"
#include "dp_codec.h"

namespace crossgate::dataplane {

using ClientId = uint64_t;

struct HandleResult {
  size_t reply_len = 0;  // bytes of the reply in the output buffer (0 = no reply, IKE_TX)
  bool close = false;    // the session must be closed after sending the reply
};

// Sends one IKE datagram (IKE_TX); provided by udp_io. Returns false if it could not be sent.
using IkeSender = std::function<bool(const cg_dp_ike& meta, std::span<const uint8_t> payload)>;

// A policy as charon identifies it: direction, selectors, mark, if_id.
struct PolicyKey {
  uint8_t dir = 0;
  cg_dp_ts src_ts{};
  cg_dp_ts dst_ts{};
  cg_dp_mark mark{};
  uint32_t if_id = 0;

  static PolicyKey of(const cg_dp_policy& p);
  bool operator<(const PolicyKey& o) const;
};

// One installation of a policy (charon installs the same policy several times).
struct PolicyUse {
  ClientId owner = 0;
  uint32_t priority = 0;
  uint8_t type = 0;
  uint32_t reqid = 0;
  uint32_t spi = 0;
};

class DpState {
 public:
  // now_s: CLOCK_MONOTONIC seconds (injected for tests).
  DpState(SaTable& table, std::function<uint64_t()> now_s, IkeSender ike_sender);

  // A decoded message from `client`. The reply (if any) is written to `out`
  // (CG_DP_MAX_MSG bytes).
  HandleResult handle(ClientId client, const Request& req, std::span<uint8_t> out);
  // The client's connection closed: drop every SA, reservation and policy it installed.
  void clientGone(ClientId client);

  // The client that receives events without an owner (IKE_RX): the last one that said HELLO.
  ClientId eventClient() const { return event_client_; }
  // Who installed the SA (spi, dst)? 0 if nobody we know.
  ClientId ownerOf(uint32_t spi, const cg_dp_addr& dst) const;

  size_t policyCount() const;
  size_t saCount() const { return sas_.size(); }
  // The active (lowest priority value) installation of a policy, for tests and stats.
  const PolicyUse* activePolicy(const PolicyKey& key) const;

 private:
  struct OwnedSa {
    cg_dp_sa_id id;
    ClientId owner;
    bool reservation;
  };

  HandleResult reply(std::span<uint8_t> out, uint32_t req_id, int32_t status,
                     std::span<const uint8_t> body = {}, bool close = false);
  HandleResult onHello(ClientId client, const Request& req, std::span<uint8_t> out);
  HandleResult onGetSpi(ClientId client, const Request& req, std::span<uint8_t> out);
  HandleResult onAddSa(ClientId client, const Request& req, std::span<uint8_t> out);
  HandleResult onUpdateSa(const Request& req, std::span<uint8_t> out);
  HandleResult onDelSa(const Request& req, std::span<uint8_t> out);
  HandleResult onQuerySa(const Request& req, std::span<uint8_t> out);
  HandleResult onAddPolicy(ClientId client, const Request& req, std::span<uint8_t> out);
  HandleResult onDelPolicy(const Request& req, std::span<uint8_t> out);
  HandleResult onQueryPolicy(const Request& req, std::span<uint8_t> out);
  HandleResult onFlush(const Request& req, std::span<uint8_t> out);

  int findSa(const SaKey& key) const;
  void forgetSa(const SaKey& key);
  uint64_t policyUseTime(const PolicyKey& key, const PolicyUse& use) const;

  SaTable& table_;
  std::function<uint64_t()> now_s_;
  IkeSender ike_sender_;
  std::map<ClientId, bool> sessions_;  // client -> said HELLO
  ClientId event_client_ = 0;
  std::vector<OwnedSa> sas_;
  std::map<PolicyKey, std::vector<PolicyUse>> policies_;  // uses sorted by priority
};

// errno value for a control-plane error code.
int32_t errnoOf(const Error& error);

}  // namespace crossgate::dataplane
