// crossgate-dataplane: parses flags, builds the dataplane and the plugin server, runs the loop.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "crossgate/common/log.h"
#include "daemon_options.h"
#include "dp_server.h"
#include "stats.h"
#include "workers.h"

namespace {

crossgate::dataplane::DpServer* g_server = nullptr;

void onSignal(int) {
  if (g_server != nullptr) {
    g_server->stop();
  }
}

int run(const crossgate::dataplane::DaemonOptions& opts) {
  using namespace crossgate;              // NOLINT
  using namespace crossgate::dataplane;  // NOLINT
  auto logger = log::get("dp");
  SaTable table(opts.dataplane.workers);
  Dataplane dataplane(table, opts.dataplane);
  DpServer::Options so;
  so.socket_path = opts.socket_path;
  auto server = DpServer::create(so, table, [&dataplane](const cg_dp_ike& m, std::span<const uint8_t> p) {
    return dataplane.sendIke(m, p);
  });
  if (!server) {
    logger->error("{}", server.error().message);
    return 1;
  }
  dataplane.setServer(server->get());
  for (const auto& t : opts.tunnels) {
    if (Status st = dataplane.addTunnel(t); !st) {
      logger->error("tunnel {}: {}", t.ifname, st.error().message);
      return 1;
    }
  }
  for (const auto& ip : opts.listen) {
    if (Status st = dataplane.listen(ip); !st) {
      logger->error("{}", st.error().message);
      return 1;
    }
  }
  for (UdpSocket* s : dataplane.ikeSockets()) {
    (void)(*server)->addReader(s->fd(), [&dataplane, s] { dataplane.readIkeSocket(*s); });
  }
  auto stats = StatsServer::open(opts.stats_socket);
  if (!stats) {
    logger->error("{}", stats.error().message);
    return 1;
  }
  DpServer* srv = server->get();
  (void)srv->addReader(stats->fd(), [&] { stats->serve(statsJson(table, &dataplane, srv)); });
  if (Status st = dataplane.start(); !st) {
    logger->error("{}", st.error().message);
    return 1;
  }
  g_server = srv;
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  logger->info("crossgate-dataplane running (pid {})", getpid());
  srv->run();
  g_server = nullptr;
  dataplane.stop();
  ::unlink(opts.stats_socket.c_str());
  logger->info("crossgate-dataplane stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace crossgate;              // NOLINT
  using namespace crossgate::dataplane;  // NOLINT
  DaemonOptions opts;
  opts.dataplane.workers = std::max(1u, std::thread::hardware_concurrency());
  CLI::App app{"crossgate-dataplane: userspace ESP-in-UDP dataplane for charon"};
  std::vector<std::string> listen;
  std::vector<std::string> tunnels;
  std::string config;
  std::string disable;
  bool no_udp_gso = false, no_udp_gro = false, no_tun_offload = false, no_tun_gro = false;
  app.add_option("--socket", opts.socket_path, "plugin protocol socket");
  app.add_option("--stats-socket", opts.stats_socket, "JSON counters socket");
  app.add_option("--listen", listen, "WAN address to own UDP 500/4500 on (repeatable)");
  app.add_option("--tunnel", tunnels, "IFNAME:IF_ID:ADDR/PREFIX:MTU (repeatable)");
  app.add_option("--config", config, "crossgate config file (tunnels from vpn[].tunnel[])");
  app.add_option("--workers", opts.dataplane.workers, "worker threads (default: cores)")
      ->check(CLI::Range(1, 64));
  app.add_option("--outer-mtu", opts.dataplane.outer_mtu,
                 "largest outer ESP-in-UDP datagram; inner packets are held to fit (default 1500)")
      ->check(CLI::Range(576, 65535));
  app.add_flag("--no-udp-gso", no_udp_gso, "do not send with UDP_SEGMENT");
  app.add_flag("--no-udp-gro", no_udp_gro, "do not receive with UDP_GRO");
  app.add_flag("--no-tun-offload", no_tun_offload, "no TSO/checksum offload on the TUN devices");
  app.add_flag("--no-tun-gro", no_tun_gro, "do not coalesce TCP segments written to the TUN");
  app.add_option("--disable-offload", disable, "comma list: udp-gso,udp-gro,tun-offload,tun-gro");
  app.add_option("--log-level", opts.log_level, "trace|debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);
  log::Options lo;
  lo.level = opts.log_level;
  log::setup(lo);
  auto logger = log::get("dp");
  opts.dataplane.udp_gso = !no_udp_gso;
  opts.dataplane.udp_gro = !no_udp_gro;
  opts.dataplane.tun_offload = !no_tun_offload;
  opts.dataplane.tun_gro = !no_tun_gro;
  if (Status st = disableOffloads(disable, &opts.dataplane); !st) {
    logger->error("{}", st.error().message);
    return 2;
  }
  for (const auto& l : listen) {
    auto ip = IpAddress::parse(l);
    if (!ip) {
      logger->error("--listen {}: not an IP address", l);
      return 2;
    }
    opts.listen.push_back(*ip);
  }
  if (opts.listen.empty()) {
    opts.listen.push_back(IpAddress::v4(0));
  }
  for (const auto& t : tunnels) {
    auto spec = parseTunnelSpec(t);
    if (!spec) {
      logger->error("{}", spec.error().message);
      return 2;
    }
    opts.tunnels.push_back(*spec);
  }
  if (!config.empty()) {
    auto specs = tunnelsFromConfig(config);
    if (!specs) {
      logger->error("{}", specs.error().message);
      return 2;
    }
    opts.tunnels.insert(opts.tunnels.end(), specs->begin(), specs->end());
  }
  return run(opts);
}
