// crossgated: the crossgate management daemon. Loads the config, drives charon over VICI,
// owns routing (sysctls, the `inet crossgate` nftables table, failover routes from ICMP probes
// and CHILD_SA state), serves the control socket. `--foreground` keeps it attached (systemd, the
// lab, tests); otherwise it detaches after the configuration has been validated.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <filesystem>

#include "crossgate/common/log.h"
#include "crossgate/common/version.h"
#include "crossgate/mgmt/config_loader.h"
#include "crossgate/mgmt/daemon/daemon.h"

int main(int argc, char** argv) {
  using namespace crossgate;
  CLI::App app{
      "crossgated: the crossgate management daemon. Loads the config, keeps charon's tunnels "
      "converged over VICI, owns routing (net.ipv4.ip_forward=1, rp_filter=2 on the tunnel "
      "interfaces, the nftables table `inet crossgate`: MSS clamp, SNAT, WAN and tunnel "
      "firewall), probes each tunnel (ICMP to the AWS inside address; needs root/CAP_NET_RAW "
      "or net.ipv4.ping_group_range) and moves the remote networks' routes to the healthy "
      "tunnels, and serves the control socket (crossgate status). SIGHUP reloads the config "
      "(an invalid one changes nothing); SIGTERM removes the table and the routes and exits."};
  app.set_version_flag("--version", std::string("crossgated ") + kVersion);
  std::string config_path = "/etc/crossgate/crossgate.toml";
  bool foreground = false;
  std::string log_level;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("-f,--foreground", foreground, "do not detach");
  app.add_option("--log-level", log_level,
                 "trace|debug|info|warn|error (default: mgmt.log_level from the config)");
  CLI11_PARSE(app, argc, argv);

  log::setup({.level = log_level.empty() ? "info" : log_level});
  ::signal(SIGPIPE, SIG_IGN);

  // Detaching changes the working directory: keep the config path usable for SIGHUP reloads.
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(config_path, ec);
  if (!ec) {
    config_path = absolute.string();
  }
  // Validate before detaching, so a bad config fails the start with a clear message.
  auto probe = config::loadFile(config_path);
  if (!probe.ok()) {
    for (const auto& d : probe.errors) {
      log::get("mgmt")->error("{}", mgmtd::formatDiagnostic(d));
    }
    std::fprintf(stderr, "crossgated: %s: invalid configuration (%zu problem(s))\n",
                 config_path.c_str(), probe.errors.size());
    return 1;
  }
  if (log_level.empty()) {
    log::setup({.level = probe.config->mgmt.log_level});
  }
  if (!foreground && ::daemon(0, 1) != 0) {
    std::perror("crossgated: daemon");
    return 1;
  }

  boost::asio::io_context io;
  mgmtd::Daemon daemon(io,
                       {.config_path = config_path,
                        .ike = {},
                        .routing = [] { return mgmtd::openSystemRoutingBackends(); }},
                       [](const std::filesystem::path& path) { return config::loadFile(path); });
  if (auto s = daemon.start(); !s) {
    std::fprintf(stderr, "crossgated: %s\n", s.error().message.c_str());
    return 1;
  }
  io.run();
  log::get("mgmt")->info("crossgated stopped");
  return 0;
}
