#include "stats.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "crossgate/dataplane/drop_reasons.h"
#include "crossgate/dataplane/sa.h"
#include "dp_server.h"
#include "workers.h"

namespace crossgate::dataplane {
namespace {

std::string addrText(const cg_dp_addr& a) {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(a.family == 6 ? AF_INET6 : AF_INET, a.addr, buf, sizeof(buf));
  return a.family == 6 ? fmt::format("[{}]:{}", buf, a.port) : fmt::format("{}:{}", buf, a.port);
}

nlohmann::json saJson(const SaEntry& e) {
  const Sa& sa = *e.sa;
  const SaStats st = sa.stats();
  return {{"spi", fmt::format("{:08x}", ntohl(sa.spi()))},
          {"direction", sa.inbound() ? "in" : "out"},
          {"if_id", sa.ifId()},
          {"reqid", sa.reqid()},
          {"cipher", std::string(cipherName(sa.config().cipher))},
          {"integrity", std::string(integrityName(sa.config().integrity))},
          {"src", addrText(e.src)},
          {"dst", addrText(e.dst)},
          {"bytes", st.bytes},
          {"packets", st.packets},
          {"use_time", st.use_time},
          {"install_time", sa.installTime()},
          {"hard_expired", sa.hardExpired()}};
}

}  // namespace

nlohmann::json statsJson(SaTable& table, const Dataplane* dp, const DpServer* server) {
  nlohmann::json doc;
  auto snap = table.snapshot();
  doc["sas"] = nlohmann::json::array();
  for (const SaEntry& e : snap->entries()) {
    doc["sas"].push_back(saJson(e));
  }
  nlohmann::json totals = nlohmann::json::object();
  doc["workers"] = nlohmann::json::array();
  if (dp != nullptr) {
    for (size_t w = 0; w < dp->workerCount(); ++w) {
      const EspCounters& esp = dp->espCounters(w);
      const IoCounters& io = dp->ioCounters(w);
      nlohmann::json drops = nlohmann::json::object();
      for (size_t r = 1; r < kEspDropCount; ++r) {
        const auto reason = static_cast<EspDrop>(r);
        drops[std::string(espDropName(reason))] = esp.drops(reason);
        totals["drop_" + std::string(espDropName(reason))] =
            totals.value("drop_" + std::string(espDropName(reason)), uint64_t{0}) + esp.drops(reason);
      }
      nlohmann::json counters = nlohmann::json::object();
      for (size_t c = 0; c < kIoCounterCount; ++c) {
        const auto id = static_cast<IoCounter>(c);
        const std::string name(ioCounterName(id));
        counters[name] = io.get(id);
        const std::string key = (ioCounterIsDrop(id) ? "drop_" : "") + name;
        totals[key] = totals.value(key, uint64_t{0}) + io.get(id);
      }
      totals["encrypted"] = totals.value("encrypted", uint64_t{0}) + esp.encryptedPackets();
      totals["decrypted"] = totals.value("decrypted", uint64_t{0}) + esp.decryptedPackets();
      doc["workers"].push_back({{"index", w},
                                {"encrypted", esp.encryptedPackets()},
                                {"decrypted", esp.decryptedPackets()},
                                {"esp_drops", drops},
                                {"io", counters}});
    }
    nlohmann::json tuns = nlohmann::json::array();
    for (const TunDevice* t : dp->tunnels()) {
      tuns.push_back({{"interface", t->spec().ifname},
                      {"if_id", t->spec().if_id},
                      {"inside", t->spec().inside.toString()},
                      {"mtu", t->spec().mtu},
                      {"tso", t->offload()}});
    }
    doc["tunnels"] = tuns;
    doc["offloads"] = {{"udp_gso", dp->options().udp_gso && dp->udpGsoActive()},
                       {"udp_gro", dp->options().udp_gro},
                       {"tun_offload", dp->options().tun_offload},
                       {"tun_gro", dp->options().tun_gro}};
  }
  doc["totals"] = totals;
  if (server != nullptr) {
    doc["plugin"] = {{"ike_rx_sent", server->ikeRxSent()},
                     {"expires_sent", server->expiresSent()},
                     {"mappings_sent", server->mappingsSent()},
                     {"events_dropped", server->eventsDropped()}};
  }
  return doc;
}

Result<StatsServer> StatsServer::open(const std::string& path) {
  StatsServer s;
  s.path_ = path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return makeError(Errc::kInvalidArgument, "stats socket path too long: " + path);
  }
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) {
    std::filesystem::create_directories(p.parent_path(), ec);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  s.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  ::unlink(path.c_str());
  if (!s.fd_ || ::bind(s.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::chmod(path.c_str(), 0600) != 0 || ::listen(s.fd_.get(), 8) != 0) {
    return makeError(Errc::kIo, fmt::format("stats socket {}: {}", path, std::strerror(errno)));
  }
  return s;
}

void StatsServer::serve(const nlohmann::json& doc) {
  const std::string text = doc.dump(2) + "\n";
  for (;;) {
    UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) {
      return;
    }
    timeval tv{1, 0};
    ::setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    size_t off = 0;
    while (off < text.size()) {
      const ssize_t n = ::send(c.get(), text.data() + off, text.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        break;
      }
      off += static_cast<size_t>(n);
    }
  }
}

}  // namespace crossgate::dataplane
