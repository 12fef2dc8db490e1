// ICMP echo prober: one socket per tunnel bound to the tunnel interface (SO_BINDTODEVICE),
// an echo request to the AWS inside address every `interval` (200 ms by default). A request
// that has no reply when the next one is due counts as a miss. Runs on the caller's
// boost::asio::io_context; results go to the callback (feed them to FailoverGroup).
// Sockets: an unprivileged ICMP datagram socket when net.ipv4.ping_group_range allows it,
// else a raw ICMP socket (needs CAP_NET_RAW); start() fails with kPermissionDenied when neither
// is allowed. A tunnel interface that does not exist yet, or disappears and comes back (the
// dataplane creates TUNs when SAs are installed), is not an error: the path counts a miss per
// interval and re-opens its socket on the next one (logged once per outage, not per probe).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crossgate/common/net.h"
#include "crossgate/common/result.h"

namespace crossgate::routing {

struct ProbeTarget {
  std::string tunnel;
  std::string interface;
  IpAddress destination;  // IPv4
};

struct ProbeOptions {
  std::chrono::milliseconds interval{200};
};

// answered = false: a miss (rtt is zero then).
using ProbeCallback =
    std::function<void(const std::string& tunnel, bool answered, std::chrono::microseconds rtt)>;

// An ICMP echo reply as received. `with_ip_header` for raw sockets (the IPv4 header comes
// first). `id` is checked only for raw sockets (a datagram socket's id is the kernel's).
// Returns the sequence number of a well-formed echo reply, nullopt for anything else.
std::optional<uint16_t> parseEchoReply(const uint8_t* data, size_t size, bool with_ip_header,
                                       uint16_t id);

class IcmpProber {
 public:
  IcmpProber(boost::asio::io_context& io, std::vector<ProbeTarget> targets, ProbeOptions options,
             ProbeCallback callback);
  ~IcmpProber();
  IcmpProber(const IcmpProber&) = delete;
  IcmpProber& operator=(const IcmpProber&) = delete;

  // Whether this process may open an ICMP socket (raw, or datagram via ping_group_range).
  static Status checkPrivileges();
  Status start();  // checks privileges, sends the first probes and schedules the next
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with pending handlers: safe to destroy any time
};

}  // namespace crossgate::routing
