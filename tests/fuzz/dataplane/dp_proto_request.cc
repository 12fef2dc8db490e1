// Fuzz target: the plugin protocol parser (decodeRequest) and the request handling behind it.
// The input is a sequence of messages, each prefixed by a 2-byte little-endian length; every
// message is decoded and, if valid, handled by one DpState session (after an implicit HELLO),
// so ADD_SA/UPDATE_SA/DEL_SA/policy sequences are explored against a real SA table.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "crossgate/common/log.h"
#include "dp_codec.h"
#include "dp_state.h"

using crossgate::dataplane::DpState;
using crossgate::dataplane::Request;
using crossgate::dataplane::SaTable;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> out(CG_DP_MAX_MSG);
  static const bool quiet = [] {
    crossgate::log::Options o;
    o.level = "off";
    crossgate::log::setup(o);
    return true;
  }();
  (void)quiet;
  SaTable table(1);
  uint64_t now = 1;
  size_t ike_sent = 0;
  DpState state(table, [&now] { return now; },
                [&ike_sent](const cg_dp_ike&, std::span<const uint8_t>) {
                  ++ike_sent;
                  return true;
                });
  cg_dp_hdr h{};
  h.type = CG_DP_HELLO;
  h.len = sizeof(cg_dp_hdr) + sizeof(cg_dp_hello);
  h.req_id = 1;
  cg_dp_hello hello{CG_DP_PROTO_VERSION, 1};
  uint8_t hello_msg[sizeof(h) + sizeof(hello)];
  std::memcpy(hello_msg, &h, sizeof(h));
  std::memcpy(hello_msg + sizeof(h), &hello, sizeof(hello));
  Request req;
  std::string error;
  if (decodeRequest(hello_msg, &req, &error)) {
    state.handle(1, req, out);
  }
  size_t pos = 0;
  while (pos + 2 <= size) {
    const size_t len = data[pos] | size_t{data[pos + 1]} << 8;
    pos += 2;
    const size_t take = len < size - pos ? len : size - pos;
    std::span<const uint8_t> m(data + pos, take);
    pos += take;
    if (decodeRequest(m, &req, &error)) {
      auto r = state.handle(1, req, out);
      if (r.reply_len > out.size()) {
        __builtin_trap();
      }
    }
    ++now;
  }
  state.clientGone(1);
  if (state.saCount() != 0 || !table.snapshot()->entries().empty()) {
    __builtin_trap();  // a disconnect must leave nothing behind
  }
  return 0;
}
