// crossgate-dns: the split-horizon resolver. Flags, config loading, then Server.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "crossgate/common/log.h"
#include "crossgate/dns/server.h"
#include "crossgate/dns/tables.h"
#include "crossgate/mgmt/config_loader.h"

namespace {

using crossgate::Errc;
using crossgate::makeError;
using crossgate::Result;
using Loaded = std::pair<crossgate::config::Dns, std::shared_ptr<const crossgate::dns::Tables>>;

// loadFile (the whole document is validated) and then the dns tables; every problem as a line.
Result<Loaded> loadDns(const std::filesystem::path& path, crossgate::dns::StatsRegistry* registry) {
  crossgate::config::LoadOptions options;
  options.check_secret_files = false;  // the resolver never reads PSKs (and may run unprivileged)
  crossgate::config::LoadResult loaded = crossgate::config::loadFile(path, options);
  if (!loaded.ok()) {
    std::string text;
    for (const auto& d : loaded.errors) {
      text += d.toString() + "\n";
    }
    if (!text.empty()) {
      text.pop_back();
    }
    return makeError(Errc::kInvalidArgument, text);
  }
  std::function<size_t(const std::string&)> slots;
  if (registry != nullptr) {
    slots = [registry](const std::string& n) { return registry->slotFor(n); };
  }
  auto tables = crossgate::dns::buildTables(loaded.config->dns, slots);
  if (!tables.ok()) {
    return makeError(Errc::kInvalidArgument, path.string() + ": " + tables.error().message);
  }
  return Loaded{loaded.config->dns, std::move(tables.value())};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"crossgate-dns: split-horizon DNS resolver"};
  std::string config_path;
  std::string check_path;
  int threads = 1;
  std::string level = "info";
  app.add_option("--config", config_path, "crossgate TOML file to serve");
  app.add_option("--check-config", check_path, "validate the file's dns section and exit");
  app.add_option("--threads", threads, "worker threads (SO_REUSEPORT sockets each)")
      ->check(CLI::Range(1, 64));
  app.add_option("--log-level", level, "trace|debug|info|warn|error");
  std::vector<std::string> disabled;
  app.add_option("--disable-offload", disabled, "offloads not to use (known: udp-gso)")
      ->delimiter(',')
      ->check(CLI::IsMember({"udp-gso"}));
  CLI11_PARSE(app, argc, argv);
  crossgate::dns::ServerOptions server_options;
  server_options.threads = threads;
  server_options.udp_gso = std::find(disabled.begin(), disabled.end(), "udp-gso") == disabled.end();
  try {
    crossgate::log::setup({level});
    auto logger = crossgate::log::get("dns");
    if (!check_path.empty()) {
      auto loaded = loadDns(check_path, nullptr);
      if (!loaded.ok()) {
        std::cerr << loaded.error().message << "\n";
        return 1;
      }
      size_t names = 0;
      for (const auto& v : loaded->second->views) {
        names += v.nodes.size();
      }
      std::cout << check_path << ": dns configuration OK (" << loaded->second->views.size()
                << " views, " << names << " names)\n";
      return 0;
    }
    if (config_path.empty()) {
      std::cerr << "crossgate-dns: --config FILE or --check-config FILE is required\n";
      return 2;
    }
    auto first = loadDns(config_path, nullptr);
    if (!first.ok()) {
      logger->error("cannot start:\n{}", first.error().message);
      return 1;
    }
    if (!first->first.enabled) {
      logger->info("dns.enabled = false: nothing to do");
      return 0;
    }
    const std::filesystem::path path = std::filesystem::absolute(config_path);
    crossgate::dns::Server server(
        first->first, server_options,
        [path](crossgate::dns::StatsRegistry& registry) { return loadDns(path, &registry); });
    crossgate::Status s = server.init();
    if (s.ok()) {
      s = server.bind();
    }
    if (s.ok()) {
      s = server.dropPrivileges();
    }
    if (!s.ok()) {
      logger->error("{}", s.error().message);
      return 1;
    }
    return server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crossgate-dns: %s\n", e.what());
    return 1;
  }
}
