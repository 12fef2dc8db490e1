// crossgate status [--json] and crossgate tunnels [--json]: the tunnels as crossgated sees them
// (IKE/CHILD state, SPIs, algorithms, rekey times, traffic, last error), over the control socket
// (--socket, else mgmt.control_socket of the config, else /run/crossgate/control.sock).
// `status` also shows routing: per VPN the active path, switches and per tunnel the probe RTT,
// loss and health; the nftables table's state. If the image's first-boot failure marker exists
// (/var/lib/crossgate/firstboot.failed, or $CROSSGATE_FIRSTBOOT_FAILED; its content is the
// reason), both verbs show `firstboot_error: <reason>` first (JSON key "firstboot_error") and
// exit 2, whether or not crossgated answers.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "socket_path.h"
#include "crossgate/mgmt/client/control_client.h"

namespace crossgate::cli {
namespace {

using nlohmann::json;

struct StatusOptions {
  std::string socket;
  bool json = false;
};

constexpr const char* kFirstbootMarker = "/var/lib/crossgate/firstboot.failed";
constexpr int kFirstbootExit = 2;
constexpr size_t kMaxFirstbootReason = 4096;

std::string firstbootMarkerPath() {
  const char* env = std::getenv("CROSSGATE_FIRSTBOOT_FAILED");
  return env != nullptr && *env != '\0' ? env : kFirstbootMarker;
}

// The marker's reason: its text, control characters shown as spaces, trimmed, bounded. An
// empty or unreadable marker still means that the first boot failed.
std::optional<std::string> firstbootError() {
  const std::string path = firstbootMarkerPath();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  const bool readable = in.is_open();
  std::string text(kMaxFirstbootReason, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(in ? text.size() : static_cast<size_t>(in.gcount()));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  const size_t first = text.find_first_not_of(' ');
  const size_t last = text.find_last_not_of(' ');
  text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  if (text.empty()) {
    text = readable ? "(no reason recorded)" : "(" + path + " is not readable)";
  }
  return text;
}

std::string controlSocket(const StatusOptions& options, const GlobalOptions& globals) {
  return socketPath(options.socket, globals, mgmt::kDefaultControlSocket,
                    [](const config::Config& c) { return c.mgmt.control_socket.string(); });
}

// crossgated's status, or the reason it could not be had.
Result<json> fetchStatus(const std::string& socket) {
  auto response = mgmt::controlRequest(socket, {{"cmd", "status"}});
  if (!response) {
    return std::move(response).error();
  }
  if (response->contains("error")) {
    return makeError(Errc::kProtocol, "crossgated: " + response->value("error", std::string("?")));
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

std::string rtt(const json& t, const char* key) {
  auto it = t.find(key);
  return it != t.end() && it->is_number() ? fmt::format("{:.1f}ms", it->get<double>()) : "-";
}

std::string names(const json& list) {
  std::string out;
  for (const json& n : list) {
    if (n.is_string()) {
      out += (out.empty() ? "" : "+") + n.get<std::string>();
    }
  }
  return out.empty() ? "none" : out;
}

void printRouting(const json& routing) {
  if (!routing.is_object()) {
    std::puts("\nrouting: not managed by this crossgated");
    return;
  }
  const json fw = routing.value("firewall", json::object());
  std::string out = fmt::format(
      "\nfirewall: table {} {}, re-applied {} time(s); route errors {}, routes restored {}\n",
      str(fw, "table", "inet crossgate"), fw.value("applied", false) ? "applied" : "NOT APPLIED",
      num(fw, "reapplied"), num(routing, "route_errors"), num(routing, "routes_restored"));
  for (const json& vpn : routing.value("vpns", json::array())) {
    std::string networks;
    for (const json& n : vpn.value("remote_networks", json::array())) {
      networks += (networks.empty() ? "" : ",") + (n.is_string() ? n.get<std::string>() : "?");
    }
    out += fmt::format("\nVPN {} ({}): {} -> active {}, {} switch(es)\n", str(vpn, "name"),
                       str(vpn, "mode"), networks, names(vpn.value("active_path", json::array())),
                       num(vpn, "switches"));
    const json last = vpn.value("last_switch", json());
    if (last.is_object()) {
      out += fmt::format("  last switch {}s ago: {} -> {} ({})\n", last.value("ago_s", int64_t{0}),
                         names(last.value("from", json::array())),
                         names(last.value("to", json::array())), str(last, "reason"));
    }
    static constexpr char kFormat[] = "  {:<16} {:<10} {:<8} {:<7} {:<6} {:>9} {:>9} {:>6} {:>9}\n";
    out += fmt::format(kFormat, "TUNNEL", "IFACE", "CHILD-SA", "HEALTHY", "ACTIVE", "RTT-LAST",
                       "RTT-AVG", "LOSS", "PROBES");
    for (const json& t : vpn.value("tunnels", json::array())) {
      auto yes = [&](const char* key) { return t.value(key, false) ? "yes" : "no"; };
      const double loss = t.contains("loss_percent") && t["loss_percent"].is_number()
                              ? t["loss_percent"].get<double>()
                              : 0.0;
      out += fmt::format(kFormat, str(t, "name"), str(t, "interface"), yes("child_sa_installed"),
                         yes("healthy"), yes("active"), rtt(t, "rtt_last_ms"), rtt(t, "rtt_avg_ms"),
                         fmt::format("{:.0f}%", loss),
                         fmt::format("{}/{}", num(t, "probes_answered"), num(t, "probes_sent")));
    }
  }
  std::fputs(out.c_str(), stdout);
}

void run(const StatusOptions& options, const GlobalOptions& globals, bool details) {
  const std::optional<std::string> firstboot = firstbootError();
  const int exit_code = firstboot ? kFirstbootExit : 0;
  if (firstboot && !options.json) {
    std::printf("firstboot_error: %s\n", firstboot->c_str());
    std::fprintf(stderr, "crossgate: the first boot failed (%s): see the reason above\n",
                 firstbootMarkerPath().c_str());
  }
  auto fetched = fetchStatus(controlSocket(options, globals));
  if (!fetched) {
    if (options.json && firstboot) {
      std::puts(json({{"firstboot_error", *firstboot}, {"error", fetched.error().message}})
                    .dump(2)
                    .c_str());
    } else {
      std::fprintf(stderr, "crossgate: %s\n", fetched.error().message.c_str());
    }
    throw CLI::RuntimeError(firstboot ? kFirstbootExit : 1);
  }
  json status = std::move(fetched).value();
  if (options.json) {
    if (firstboot) {
      status["firstboot_error"] = *firstboot;
    }
    std::puts(status.dump(2).c_str());
    throw CLI::RuntimeError(exit_code);
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
  } else {
    printTable(tunnels);
  }
  if (details) {
    for (const json& t : tunnels) {
      printDetails(t);
    }
    printRouting(status.value("routing", json()));
  }
  throw CLI::RuntimeError(exit_code);
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
  addVerb(app, globals, "status",
          "show crossgated's view of charon, every tunnel, the routes' active path, probes and "
          "the firewall (exit 2 if the first boot failed)",
          true);
  addVerb(app, globals, "tunnels", "one line per tunnel: state, uptime, rekey, traffic, error",
          false);
});

}  // namespace
}  // namespace crossgate::cli
