// The crossgate CLI is one CLI11 app; each verb group lives in its own cmd_<verb>.cc and
// registers itself here with a static CommandRegistration, so verbs stay independent.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace crossgate::cli {

// Options shared by every verb.
struct GlobalOptions {
  std::string config_path = "/etc/crossgate/crossgate.toml";
  std::string log_level = "warn";
};

// Adds the verb's subcommands to `app`. Callbacks run inside app.parse(); to end the program
// with an exit code they throw CLI::RuntimeError(code) (0 = success), which main() turns into
// the process exit status.
using Registrar = std::function<void(CLI::App& app, GlobalOptions& globals)>;

struct CommandRegistration {
  CommandRegistration(int order, Registrar registrar);
};

}  // namespace crossgate::cli
