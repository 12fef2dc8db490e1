// crossgate status [--json] and crossgate tunnels [--json]: the tunnels as crossgated sees them
// (IKE/CHILD state, SPIs, algorithms, rekey times, traffic, last error), over the control socket
// (--socket, else mgmt.control_socket of the config, else /run/crossgate/control.sock).
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "command.h"
#include "crossgate/mgmt/client/control_client.h"
#include "crossgate/mgmt/config_loader.h"

namespace crossgate::cli {
namespace {

using nlohmann::json;

struct StatusOptions {
  std::string socket;
  bool json = false;
};

std::string controlSocket(const StatusOptions& options, const GlobalOptions& globals) {
  if (!options.socket.empty()) {
    return options.socket;
  }
  struct stat st {};
  if (::stat(globals.config_path.c_str(), &st) != 0) {
    return mgmt::kDefaultControlSocket;
  }
  config::LoadOptions load;
  load.check_secret_files = false;  // status needs no secrets (and may run unprivileged)
  config::LoadResult result = config::loadFile(globals.config_path, load);
  if (!result.ok()) {
    std::fprintf(stderr, "crossgate: %s is invalid (see `crossgate config check`); using %s\n",
                 globals.config_path.c_str(), mgmt::kDefaultControlSocket);
    return mgmt::kDefaultControlSocket;
  }
  return result.config->mgmt.control_socket.string();
}

json fetchStatus(const std::string& socket) {
  auto response = mgmt::controlRequest(socket, {{"cmd", "status"}});
  if (!response) {
    std::fprintf(stderr, "crossgate: %s\n", response.error().message.c_str());
    throw CLI::RuntimeError(1);
  }
  if (response->contains("error")) {
    std::fprintf(stderr, "crossgate: crossgated: %s\n",
                 response->value("error", std::string("?")).c_str());
    throw CLI::RuntimeError(1);
  }
  return std::move(response).value();
}

std::string str(const json& t, const char* key, const char* fallback = "-") {
  auto it = t.find(key);
  if (it == t.end() || !it->is_string() || it->get<std::string>().empty()) {
    return fallback;
  }
  return it->get<std::string>();
}

uint64_t num(const json& t, const char* key) {
  auto it = t.find(key);
  return it != t.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

std::string duration(const json& t, const char* key) {
  auto it = t.find(key);
  if (it == t.end() || !it->is_number_integer()) {
    return "-";
  }
  int64_t s = it->get<int64_t>();
  if (s < 0) {
    return "-";
  }
  if (s >= 86400) {
    return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
  }
  if (s >= 3600) {
    return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  }
  if (s >= 60) {
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  }
  return fmt::format("{}s", s);
}

std::string bytes(uint64_t b) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string traffic(const json& t, const char* b, const char* p) {
  return fmt::format("{}/{}p", bytes(num(t, b)), num(t, p));
}

// "AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384" from the non-empty parts, "-" if none.
std::string algorithms(const json& t, std::initializer_list<const char*> keys) {
  std::string out;
  for (const char* key : keys) {
    const std::string part = str(t, key, "");
    if (!part.empty()) {
      out += (out.empty() ? "" : "/") + part;
    }
  }
  return out.empty() ? "-" : out;
}

std::string lastError(const json& t) {
  auto it = t.find("last_error");
  return it != t.end() && it->is_string() ? it->get<std::string>() : "-";
}

void printTable(const json& tunnels) {
  static constexpr char kFormat[] =
      "{:<16} {:<15} {:<12} {:>7} {:<10} {:<3} {:>8} {:>16} {:>16}  {}\n";
  std::fputs(fmt::format(kFormat, "TUNNEL", "AWS-IP", "IKE", "UP-FOR", "CHILD", "UP", "REKEY-IN",
                         "IN", "OUT", "LAST-ERROR")
                 .c_str(),
             stdout);
  for (const json& t : tunnels) {
    std::fputs(fmt::format(kFormat, str(t, "name"), str(t, "aws_outside_ip"), str(t, "ike_state"),
                           duration(t, "established_s"), str(t, "child_state"),
                           t.value("up", false) ? "yes" : "no", duration(t, "rekey_in_s"),
                           traffic(t, "bytes_in", "packets_in"),
                           traffic(t, "bytes_out", "packets_out"), lastError(t))
                   .c_str(),
               stdout);
  }
}

void printDetails(const json& t) {
  std::string out = fmt::format("\n{} (if_id {}, AWS {})\n", str(t, "name"), num(t, "if_id"),
                                str(t, "aws_outside_ip"));
  out +=
      fmt::format("  IKE    {}, up for {}, rekey in {}; {}; {}:{} -> {}:{}{}\n",
                  str(t, "ike_state"), duration(t, "established_s"), duration(t, "ike_rekey_in_s"),
                  algorithms(t, {"ike_encryption", "ike_integrity", "ike_prf", "ike_dh_group"}),
                  str(t, "local_host"), num(t, "local_port"), str(t, "remote_host"),
                  num(t, "remote_port"), t.value("nat_t", false) ? " (NAT-T)" : "");
  out += fmt::format("  CHILD  {}, rekey in {}; SPI in {} out {}; {}\n", str(t, "child_state"),
                     duration(t, "rekey_in_s"), str(t, "spi_in"), str(t, "spi_out"),
                     algorithms(t, {"encryption", "integrity", "dh_group"}));
  out += fmt::format("  ids    local {} remote {}\n", str(t, "local_id"), str(t, "remote_id"));
  out +=
      fmt::format("  bytes  in {} ({} packets), out {} ({} packets)\n", bytes(num(t, "bytes_in")),
                  num(t, "packets_in"), bytes(num(t, "bytes_out")), num(t, "packets_out"));
  out += fmt::format("  last error: {}\n", lastError(t));
  std::fputs(out.c_str(), stdout);
}

void run(const StatusOptions& options, const GlobalOptions& globals, bool details) {
  const json status = fetchStatus(controlSocket(options, globals));
  if (options.json) {
    std::puts(status.dump(2).c_str());
    throw CLI::RuntimeError(0);
  }
  const json tunnels = status.value("tunnels", json::array());
  if (details) {
    const json charon = status.value("charon", json::object());
    std::fputs(fmt::format("charon {}: {}\n", str(charon, "version"),
                           charon.value("connected", false) ? "connected" : "NOT connected")
                   .c_str(),
               stdout);
  }
  if (tunnels.empty()) {
    std::puts("no tunnels configured");
    throw CLI::RuntimeError(0);
  }
  printTable(tunnels);
  if (details) {
    for (const json& t : tunnels) {
      printDetails(t);
    }
  }
  throw CLI::RuntimeError(0);
}

void addVerb(CLI::App& app, GlobalOptions& globals, const char* name, const char* help,
             bool details) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_flag("--json", options->json, "print crossgated's JSON status");
  cmd->add_option("--socket", options->socket,
                  "control socket (default: mgmt.control_socket of the config)");
  cmd->callback([options, &globals, details] { run(*options, globals, details); });
}

CommandRegistration reg(30, [](CLI::App& app, GlobalOptions& globals) {
  addVerb(app, globals, "status", "show crossgated's view of charon and every tunnel", true);
  addVerb(app, globals, "tunnels", "one line per tunnel: state, uptime, rekey, traffic, error",
          false);
});

}  // namespace
}  // namespace crossgate::cli
