#include "netlink_wire.h"

#include <cerrno>
#include <cstring>

namespace crossgate::routing {
namespace {

constexpr size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }

// NLMSGERR_ATTR_MSG from the TLVs that follow the nlmsgerr (and the echoed request unless
// NLM_F_CAPPED says it was left out).
std::string extackMessage(const uint8_t* msg, size_t len, uint16_t flags) {
  if (!(flags & NLM_F_ACK_TLVS) || len < sizeof(nlmsghdr) + sizeof(nlmsgerr)) {
    return {};
  }
  nlmsgerr err;
  std::memcpy(&err, msg + sizeof(nlmsghdr), sizeof(err));
  size_t off = sizeof(nlmsghdr) + sizeof(nlmsgerr);
  if (!(flags & NLM_F_CAPPED)) {
    if (err.msg.nlmsg_len < sizeof(nlmsghdr)) return {};
    off += align4(err.msg.nlmsg_len) - sizeof(nlmsghdr);
  }
  while (off + sizeof(nlattr) <= len) {
    nlattr a;
    std::memcpy(&a, msg + off, sizeof(a));
    if (a.nla_len < sizeof(nlattr) || a.nla_len > len - off) return {};
    if ((a.nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* s = reinterpret_cast<const char*>(msg + off + sizeof(nlattr));
      size_t n = a.nla_len - sizeof(nlattr);
      return std::string(s, strnlen(s, n));
    }
    off += align4(a.nla_len);
  }
  return {};
}

}  // namespace

ReplyScan scanReplies(const uint8_t* data, size_t size, uint32_t seq, uint32_t portid,
                      const std::function<void(const nlmsghdr*)>& on_reply) {
  ReplyScan out;
  size_t off = 0;
  while (size - off >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    std::memcpy(&h, data + off, sizeof(h));
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > size - off) {
      out.error = EBADMSG;
      out.extack = "malformed reply from the kernel";
      return out;
    }
    const bool ours = (seq == 0 || h.nlmsg_seq == seq) && (portid == 0 || h.nlmsg_pid == portid);
    if (ours) {
      if (h.nlmsg_type == NLMSG_ERROR) {
        if (h.nlmsg_len < sizeof(nlmsghdr) + sizeof(int)) {
          out.error = EBADMSG;
          out.extack = "truncated error message from the kernel";
          return out;
        }
        int code;
        std::memcpy(&code, data + off + sizeof(nlmsghdr), sizeof(code));
        if (code != 0) {
          out.error = -code;
          out.error_seq = h.nlmsg_seq;
          out.extack = extackMessage(data + off, h.nlmsg_len, h.nlmsg_flags);
          return out;
        }
        ++out.acks;
        out.done = true;
      } else if (h.nlmsg_type == NLMSG_DONE) {
        out.done = true;
      } else if (h.nlmsg_type >= NLMSG_MIN_TYPE) {
        out.data_seen = true;
        if (on_reply) {
          on_reply(reinterpret_cast<const nlmsghdr*>(data + off));
        }
      }
    }
    off += align4(h.nlmsg_len);
    if (off > size) break;
  }
  return out;
}

Errc errnoToErrc(int err) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ESRCH:
      return Errc::kNotFound;
    case EEXIST:
      return Errc::kAlreadyExists;
    case EPERM:
    case EACCES:
      return Errc::kPermissionDenied;
    case EINVAL:
    case ERANGE:
      return Errc::kInvalidArgument;
    case EBADMSG:
      return Errc::kProtocol;
    default:
      return Errc::kIo;
  }
}

std::string describeNetlinkError(int err, const std::string& extack) {
  std::string s = std::strerror(err);
  s += " (errno " + std::to_string(err) + ")";
  if (!extack.empty()) {
    s += ": " + extack;
  }
  return s;
}

}  // namespace crossgate::routing
