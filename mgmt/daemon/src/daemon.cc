#include "crossgate/mgmt/daemon/daemon.h"

#include <fmt/format.h>

#include <csignal>

#include "crossgate/common/log.h"
#include "crossgate/common/version.h"

namespace crossgate::mgmtd {

std::string formatDiagnostic(const config::Diagnostic& d) {
  std::string out = d.file;
  if (d.line > 0) {
    out += fmt::format(":{}", d.line);
    if (d.column > 0) {
      out += fmt::format(":{}", d.column);
    }
  }
  out += ": ";
  if (!d.key_path.empty()) {
    out += d.key_path + ": ";
  }
  out += d.message;
  return out;
}

Daemon::Daemon(boost::asio::io_context& io, Options options, ConfigLoader loader)
    : io_(io),
      options_(std::move(options)),
      loader_(std::move(loader)),
      signals_(io, SIGHUP, SIGTERM, SIGINT) {}

Daemon::~Daemon() { stop(); }

Result<std::vector<DesiredTunnel>> Daemon::loadDesired(std::optional<config::Config>* config,
                                                       std::vector<std::string>* problems) {
  auto desired = checkDesired(config, problems);
  if (!desired) {
    auto log = log::get("mgmt");
    for (const std::string& p : *problems) {
      log->error("{}", p);
    }
  }
  return desired;
}

Result<std::vector<DesiredTunnel>> Daemon::checkDesired(std::optional<config::Config>* config,
                                                        std::vector<std::string>* problems) {
  config::LoadResult loaded = loader_(options_.config_path);
  if (!loaded.ok()) {
    for (const config::Diagnostic& d : loaded.errors) {
      problems->push_back(formatDiagnostic(d));
    }
    if (problems->empty()) {
      problems->push_back(options_.config_path.string() + ": invalid configuration");
    }
    return makeError(Errc::kInvalidArgument, "invalid configuration");
  }
  std::vector<DesiredTunnel> desired = desiredTunnels(*loaded.config, problems);
  if (!problems->empty()) {
    return makeError(Errc::kInvalidArgument, "unusable tunnel secrets");
  }
  if (options_.routing) {
    if (auto plan = RoutingManager::plan(*loaded.config); !plan) {
      problems->push_back(options_.config_path.string() + ": " + plan.error().message);
      return makeError(Errc::kInvalidArgument, "invalid routing settings");
    }
  }
  *config = std::move(loaded.config);
  return desired;
}

Status Daemon::start() {
  auto log = log::get("mgmt");
  std::vector<std::string> problems;
  std::optional<config::Config> config;
  auto desired = loadDesired(&config, &problems);
  if (!desired) {
    return makeError(Errc::kInvalidArgument,
                     fmt::format("{}: {} ({} problem(s))", options_.config_path.string(),
                                 desired.error().message, problems.size()));
  }
  config_ = std::move(config);
  if (Status s = startRouting(); !s) {
    return s;
  }
  control_ = std::make_unique<ControlServer>(
      io_.get_executor(), [this](const std::string& cmd, const nlohmann::json& request) {
        return handle(cmd, request);
      });
  if (Status s = control_->listen(config_->mgmt.control_socket); !s) {
    return s;
  }
  IkeManager::Options ike = options_.ike;
  ike.vici_socket = config_->mgmt.vici_socket;
  ike_ = std::make_unique<IkeManager>(io_.get_executor(), ike);
  if (routing_) {
    ike_->setChildSaObserver([this](const std::string& tunnel, bool installed) {
      if (routing_) {
        routing_->childSa(tunnel, installed);
      }
    });
  }
  ike_->setDesired(std::move(desired).value());
  ike_->start();
  waitSignal();
  log->info("crossgated {} started: {} tunnel(s) from {}", kVersion, ike_->tunnelStatus().size(),
            options_.config_path.string());
  return okStatus();
}

std::vector<std::string> Daemon::reload() {
  auto log = log::get("mgmt");
  std::vector<std::string> problems;
  std::optional<config::Config> config;
  auto desired = loadDesired(&config, &problems);
  if (!desired) {
    log->error("{}: not reloaded, keeping the running configuration",
               options_.config_path.string());
    return problems;
  }
  if (config->mgmt.vici_socket != config_->mgmt.vici_socket ||
      config->mgmt.control_socket != config_->mgmt.control_socket) {
    log->warn("mgmt.vici_socket / mgmt.control_socket changes take effect after a restart");
    config->mgmt.vici_socket = config_->mgmt.vici_socket;
    config->mgmt.control_socket = config_->mgmt.control_socket;
  }
  config_ = std::move(config);
  const size_t count = desired->size();
  ike_->setDesired(std::move(desired).value());
  std::vector<std::string> applied_problems;
  if (routing_) {
    if (Status s = routing_->reload(*config_); !s) {
      log->error("routing: {}", s.error().message);
      applied_problems.push_back("routing: " + s.error().message);
    }
  }
  log->info("configuration reloaded from {}: {} tunnel(s)", options_.config_path.string(), count);
  return applied_problems;
}

Status Daemon::startRouting() {
  if (!options_.routing) {
    log::get("mgmt")->info("routing, nftables and sysctls are not managed (no backends)");
    return okStatus();
  }
  auto backends = options_.routing();
  if (!backends) {
    return makeError(backends.error().code, "routing: " + backends.error().message);
  }
  routing_ = std::make_unique<RoutingManager>(io_, std::move(backends).value());
  if (Status s = routing_->start(*config_); !s) {
    routing_.reset();
    return makeError(s.error().code, "routing: " + s.error().message);
  }
  return okStatus();
}

void Daemon::stop() {
  boost::system::error_code ec;
  signals_.cancel(ec);
  if (routing_) {
    routing_->stop();
  }
  if (ike_) {
    ike_->stop();
  }
  if (control_) {
    control_->close();
  }
}

void Daemon::waitSignal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) {
      return;
    }
    if (sig == SIGHUP) {
      log::get("mgmt")->info("SIGHUP: reloading {}", options_.config_path.string());
      (void)reload();
      waitSignal();
      return;
    }
    log::get("mgmt")->info("signal {}: stopping", sig);
    stop();
    io_.stop();
  });
}

nlohmann::json Daemon::handle(const std::string& cmd, const nlohmann::json& request) {
  if (cmd == "status") {
    nlohmann::json status = ike_->statusJson();
    status["config"] = options_.config_path.string();
    status["routing"] = routing_ ? routing_->statusJson() : nlohmann::json(nullptr);
    return status;
  }
  if (cmd == "reload") {
    std::vector<std::string> problems = reload();
    return {{"ok", problems.empty()}, {"errors", problems}};
  }
  if (cmd == "ping") {
    return {{"ok", true}, {"version", kVersion}};
  }
  return {{"error", fmt::format("unknown command '{}' (known: status, reload, ping)",
                                cmd.size() > 64 ? cmd.substr(0, 64) + "..." : cmd)}};
}

}  // namespace crossgate::mgmtd
