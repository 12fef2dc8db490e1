// crossgate: the appliance's command-line tool. Offline verbs (import aws, config check/show)
// need no daemon; the others talk to crossgated over its control socket.
#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "command.h"
#include "crossgate/common/log.h"
#include "crossgate/common/version.h"

namespace crossgate::cli {
namespace {

std::vector<std::pair<int, Registrar>>& registry() {
  static std::vector<std::pair<int, Registrar>> r;
  return r;
}

}  // namespace

CommandRegistration::CommandRegistration(int order, Registrar registrar) {
  registry().emplace_back(order, std::move(registrar));
}

}  // namespace crossgate::cli

int main(int argc, char** argv) {
  using namespace crossgate;
  CLI::App app{"crossgate: self-hosted IPsec gateway for private AWS <-> Azure links"};
  app.set_version_flag("--version", std::string("crossgate ") + kVersion);
  app.require_subcommand(1);
  cli::GlobalOptions globals;
  app.add_option("-c,--config", globals.config_path, "configuration file")->capture_default_str();
  app.add_option("--log-level", globals.log_level, "trace|debug|info|warn|error")
      ->capture_default_str();
  app.parse_complete_callback([&] { log::setup({.level = globals.log_level}); });

  auto& regs = cli::registry();
  std::stable_sort(regs.begin(), regs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, registrar] : regs) {
    registrar(app, globals);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crossgate: %s\n", e.what());
    return 1;
  }
  return 0;
}
