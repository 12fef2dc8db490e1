#include "crossgate/mgmt/daemon/sa_state.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

namespace crossgate::mgmtd {

namespace {

template <typename T>
std::optional<T> number(const vici::Section& s, std::string_view key) {
  auto v = s.value(key);
  if (!v) {
    return std::nullopt;
  }
  T out{};
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size()) {
    return std::nullopt;
  }
  return out;
}

std::string text(const vici::Section& s, std::string_view key) { return s.valueOr(key, ""); }

bool flag(const vici::Section& s, std::string_view key) {
  auto v = s.value(key);
  return v && vici::parseBool(*v).value_or(false);
}

std::string algorithm(const vici::Section& s, std::string_view alg, std::string_view size) {
  std::string out = text(s, alg);
  if (!out.empty() && s.value(size)) {
    out += "-" + text(s, size);
  }
  return out;
}

ChildSaInfo parseChild(const vici::Section& c) {
  ChildSaInfo child;
  child.name = text(c, "name");
  child.uniqueid = number<uint64_t>(c, "uniqueid").value_or(0);
  child.state = text(c, "state");
  child.encap = flag(c, "encap");
  child.spi_in = text(c, "spi-in");
  child.spi_out = text(c, "spi-out");
  child.encryption = algorithm(c, "encr-alg", "encr-keysize");
  child.integrity = algorithm(c, "integ-alg", "integ-keysize");
  child.dh_group = text(c, "dh-group");
  child.bytes_in = number<uint64_t>(c, "bytes-in").value_or(0);
  child.bytes_out = number<uint64_t>(c, "bytes-out").value_or(0);
  child.packets_in = number<uint64_t>(c, "packets-in").value_or(0);
  child.packets_out = number<uint64_t>(c, "packets-out").value_or(0);
  child.rekey_in_s = number<int64_t>(c, "rekey-time");
  child.life_in_s = number<int64_t>(c, "life-time");
  child.installed_s = number<int64_t>(c, "install-time");
  return child;
}

IkeSaInfo parseIke(const std::string& name, const vici::Section& s) {
  IkeSaInfo ike;
  ike.name = name;
  ike.uniqueid = number<uint64_t>(s, "uniqueid").value_or(0);
  ike.state = text(s, "state");
  ike.local_host = text(s, "local-host");
  ike.remote_host = text(s, "remote-host");
  ike.local_id = text(s, "local-id");
  ike.remote_id = text(s, "remote-id");
  ike.local_port = number<uint16_t>(s, "local-port").value_or(0);
  ike.remote_port = number<uint16_t>(s, "remote-port").value_or(0);
  ike.nat_local = flag(s, "nat-local");
  ike.nat_remote = flag(s, "nat-remote");
  ike.encryption = algorithm(s, "encr-alg", "encr-keysize");
  ike.integrity = algorithm(s, "integ-alg", "integ-keysize");
  ike.prf = text(s, "prf-alg");
  ike.dh_group = text(s, "dh-group");
  ike.established_s = number<int64_t>(s, "established");
  ike.rekey_in_s = number<int64_t>(s, "rekey-time");
  if (const vici::Section* children = s.section("child-sas")) {
    for (const vici::Entry& e : children->entries()) {
      if (e.kind == vici::Entry::Kind::kSection) {
        ike.children.push_back(parseChild(e.section));
        if (ike.children.back().name.empty()) {
          ike.children.back().name = e.name;
        }
      }
    }
  }
  return ike;
}

}  // namespace

IkeSaInfo parseIkeSa(const std::string& name, const vici::Section& section) {
  return parseIke(name, section);
}

ChildSaInfo parseChildSa(const vici::Section& section) { return parseChild(section); }

namespace {

int rank(const IkeSaInfo& sa) {
  if (sa.state != "ESTABLISHED") {
    return 1;
  }
  const ChildSaInfo* child = bestChildSa(sa);
  return child != nullptr && child->state == "INSTALLED" ? 3 : 2;
}

}  // namespace

std::vector<IkeSaInfo> parseIkeSas(const vici::Message& message) {
  std::vector<IkeSaInfo> out;
  for (const vici::Entry& e : message.entries()) {
    if (e.kind == vici::Entry::Kind::kSection) {
      out.push_back(parseIke(e.name, e.section));
    }
  }
  return out;
}

const ChildSaInfo* bestChildSa(const IkeSaInfo& sa) {
  const ChildSaInfo* best = nullptr;
  for (const ChildSaInfo& c : sa.children) {
    if (best == nullptr) {
      best = &c;
      continue;
    }
    const bool ci = c.state == "INSTALLED";
    const bool bi = best->state == "INSTALLED";
    if ((ci && !bi) || (ci == bi && c.uniqueid > best->uniqueid)) {
      best = &c;
    }
  }
  return best;
}

const IkeSaInfo* bestIkeSa(const std::vector<IkeSaInfo>& sas, const std::string& name) {
  const IkeSaInfo* best = nullptr;
  for (const IkeSaInfo& sa : sas) {
    if (sa.name != name) {
      continue;
    }
    if (best == nullptr || rank(sa) > rank(*best) ||
        (rank(sa) == rank(*best) && sa.uniqueid > best->uniqueid)) {
      best = &sa;
    }
  }
  return best;
}

std::optional<std::string> classifyLogError(const std::string& msg) {
  static constexpr std::array<std::string_view, 14> kErrors = {
      "AUTHENTICATION_FAILED",
      "MAC mismatched",
      "no shared key found",
      "authentication of",  // "... failed" checked below
      "NO_PROPOSAL_CHOSEN",
      "no acceptable proposal",
      "received proposals unacceptable",
      "TS_UNACCEPTABLE",
      "INVALID_KE_PAYLOAD",
      "peer not responding",
      "giving up after",
      "establishing IKE_SA failed",
      "establishing CHILD_SA",  // "... failed" checked below
      "unable to",
  };
  for (std::string_view needle : kErrors) {
    if (msg.find(needle) == std::string::npos) {
      continue;
    }
    if ((needle == "authentication of" || needle == "establishing CHILD_SA") &&
        msg.find("failed") == std::string::npos) {
      continue;
    }
    return msg;
  }
  return std::nullopt;
}

bool isUp(const TunnelStatus& status) {
  if (!status.ike || status.ike->state != "ESTABLISHED") {
    return false;
  }
  const ChildSaInfo* child = bestChildSa(*status.ike);
  return child != nullptr && child->state == "INSTALLED";
}

nlohmann::json toJson(const TunnelStatus& s) {
  using nlohmann::json;
  json j = {
      {"name", s.name},      {"aws_outside_ip", s.aws_outside_ip},
      {"if_id", s.if_id},    {"loaded", s.loaded},
      {"ike_state", "DOWN"}, {"child_state", "DOWN"},
      {"up", isUp(s)},       {"bytes_in", 0},
      {"bytes_out", 0},      {"packets_in", 0},
      {"packets_out", 0},    {"last_error", s.last_error ? json(*s.last_error) : json(nullptr)}};
  auto opt = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  j["established_s"] = nullptr;
  j["ike_rekey_in_s"] = nullptr;
  j["rekey_in_s"] = nullptr;
  if (!s.ike) {
    return j;
  }
  const IkeSaInfo& ike = *s.ike;
  j["ike_state"] = ike.state;
  j["established_s"] = opt(ike.established_s);
  j["ike_rekey_in_s"] = opt(ike.rekey_in_s);
  j["ike_encryption"] = ike.encryption;
  j["ike_integrity"] = ike.integrity;
  j["ike_prf"] = ike.prf;
  j["ike_dh_group"] = ike.dh_group;
  j["local_host"] = ike.local_host;
  j["local_port"] = ike.local_port;
  j["remote_host"] = ike.remote_host;
  j["remote_port"] = ike.remote_port;
  j["local_id"] = ike.local_id;
  j["remote_id"] = ike.remote_id;
  j["nat_t"] = ike.nat_local || ike.nat_remote;
  if (const ChildSaInfo* child = bestChildSa(ike)) {
    j["child_state"] = child->state;
    j["rekey_in_s"] = opt(child->rekey_in_s);
    j["spi_in"] = child->spi_in;
    j["spi_out"] = child->spi_out;
    j["encryption"] = child->encryption;
    j["integrity"] = child->integrity;
    j["dh_group"] = child->dh_group;
    j["encap"] = child->encap;
    j["bytes_in"] = child->bytes_in;
    j["bytes_out"] = child->bytes_out;
    j["packets_in"] = child->packets_in;
    j["packets_out"] = child->packets_out;
  }
  return j;
}

}  // namespace crossgate::mgmtd
