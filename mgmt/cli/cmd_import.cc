// `crossgate import aws FILE`: turns AWS's VPN configuration (the Generic text download or the
// XML CustomerGatewayConfiguration) into a config fragment and one PSK file per tunnel.
//
// Exit status: 0 done; 1 the file cannot be imported (every problem listed on stderr);
// 2 a bad option value; 3 nothing written (a file exists without --force, or writing failed).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "crossgate/common/unique_fd.h"
#include "crossgate/mgmt/aws_import.h"

namespace crossgate::cli {
namespace {

namespace ai = crossgate::aws_import;

constexpr int kExitImport = 1;
constexpr int kExitUsage = 2;
constexpr int kExitWrite = 3;

struct ImportAwsOptions {
  std::string file;
  std::string name;
  std::string out;
  bool force = false;
  bool json = false;
  bool show_secrets = false;
  std::string customer_ip;
  std::string customer_asn;
  std::vector<std::string> remote_networks;
  std::vector<std::string> local_networks;
  int64_t if_id_base = 0;
  bool if_id_base_given = false;
};

void say(const char* kind, const std::string& text) {
  std::fprintf(stderr, "crossgate import aws: %s%s\n", kind, text.c_str());
}

// Reads at most kMaxInputBytes + 1 bytes (the importer rejects anything longer).
bool readInput(const std::string& path, std::string* out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    say("", path + ": cannot open: " + std::strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    say("", path + ": not a regular file");
    return false;
  }
  out->resize(ai::kMaxInputBytes + 1);
  size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = ::read(fd.get(), out->data() + done, out->size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      say("", path + ": cannot read: " + std::strerror(errno));
      return false;
    }
    if (n == 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return true;
}

bool parseCidrs(const std::vector<std::string>& texts, const char* option, std::vector<Cidr>* out) {
  for (const std::string& text : texts) {
    std::string why;
    auto cidr = Cidr::parse(text, /*allow_host_bits=*/false, &why);
    if (!cidr) {
      say("", std::string(option) + " " + text + ": " + why);
      return false;
    }
    out->push_back(*cidr);
  }
  return true;
}

// Fills the ImportOptions from the command line; false after reporting a bad value.
bool importOptions(const ImportAwsOptions& o, ai::ImportOptions* out) {
  if (!o.customer_ip.empty()) {
    out->customer_ip = IpAddress::parse(o.customer_ip);
    if (!out->customer_ip) {
      say("", "--customer-ip " + o.customer_ip + ": not an IP address");
      return false;
    }
  }
  if (!o.customer_asn.empty()) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long asn = std::strtoull(o.customer_asn.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || o.customer_asn[0] == '-' || asn < 1 || asn > 4294967294ull) {
      say("", "--customer-asn " + o.customer_asn + ": not an ASN (1..4294967294)");
      return false;
    }
    out->customer_asn = static_cast<uint32_t>(asn);
  }
  return true;
}

// The if_ids of the two tunnels: --if-id-base, else the lowest ones no fragment in --out uses.
bool chooseIfIds(const ImportAwsOptions& o, const std::string& name, size_t count,
                 std::vector<uint32_t>* out) {
  if (o.if_id_base_given) {
    if (o.if_id_base < 1 || o.if_id_base + static_cast<int64_t>(count) - 1 > 0xFFFFFFFDll) {
      say("", "--if-id-base " + std::to_string(o.if_id_base) + ": out of range 1..4294967292");
      return false;
    }
    for (size_t i = 0; i < count; ++i) {
      out->push_back(static_cast<uint32_t>(o.if_id_base + static_cast<int64_t>(i)));
    }
    return true;
  }
  std::vector<uint32_t> used;
  if (!o.out.empty()) {
    auto r = ai::usedIfIds(o.out, std::filesystem::path(o.out) / (name + ".toml"));
    if (!r.ok()) {
      say("", r.error().message);
      return false;
    }
    used = std::move(*r);
  }
  *out = ai::lowestFreeIfIds(used, count);
  return true;
}

int runImportAws(const ImportAwsOptions& o) {
  ai::ImportOptions import_options;
  ai::FragmentOptions fragment;
  if (!importOptions(o, &import_options) ||
      !parseCidrs(o.remote_networks, "--remote-network", &fragment.remote_networks) ||
      !parseCidrs(o.local_networks, "--local-network", &fragment.local_networks)) {
    return kExitUsage;
  }
  if (!o.name.empty() && !ai::isValidName(o.name)) {
    say("", "--name " + o.name + ": use 1-32 characters of a-z 0-9 -");
    return kExitUsage;
  }
  std::string bytes;
  if (!readInput(o.file, &bytes)) {
    return kExitImport;
  }
  ai::ImportResult result = ai::importAws(bytes, import_options);
  for (const ai::ImportError& e : result.errors) {
    say("", e.toString(o.file));
  }
  if (!result.ok()) {
    say("", o.file + ": " + std::to_string(result.errors.size()) +
                (result.errors.size() == 1 ? " problem" : " problems") + "; nothing written");
    return kExitImport;
  }
  for (const std::string& note : result.notes) {
    say("note: ", note);
  }
  const ai::Connection& c = *result.connection;
  fragment.name = o.name.empty() ? ai::defaultName(c) : o.name;
  fragment.source_name = std::filesystem::path(o.file).filename().string();
  if (!chooseIfIds(o, fragment.name, c.tunnels.size(), &fragment.if_ids)) {
    return kExitUsage;
  }
  if (fragment.remote_networks.empty() || fragment.local_networks.empty()) {
    say("note: ",
        "remote_networks/local_networks are empty: AWS's file does not name them, and the "
        "config does not validate until they are filled in (or pass --remote-network CIDR and "
        "--local-network CIDR)");
  }
  if (o.show_secrets && !o.json) {
    say("note: ", "--show-secrets only applies to --json; keys are never printed in TOML");
  }
  if (o.out.empty()) {
    const std::string text =
        o.json ? ai::renderJson(c, o.show_secrets) : ai::renderToml(c, fragment);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  auto written = ai::writeFragment(o.out, c, fragment, {.force = o.force});
  if (!written.ok()) {
    say("", written.error().message);
    return kExitWrite;
  }
  if (o.json) {
    const std::string text = ai::renderJson(c, o.show_secrets);
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    for (const auto& path : *written) {
      std::printf("wrote %s\n", path.c_str());
    }
  }
  return 0;
}

void registerImport(CLI::App& app, GlobalOptions& /*globals*/) {
  CLI::App* import = app.add_subcommand("import", "Import a cloud provider's VPN configuration");
  import->require_subcommand(1);
  auto o = std::make_shared<ImportAwsOptions>();
  CLI::App* aws = import->add_subcommand(
      "aws", "Turn AWS's VPN configuration (Generic text file or XML) into a config fragment");
  aws->footer(
      "Without --out nothing is written: the fragment (or --json) goes to stdout.\n"
      "Exit status: 0 done, 1 the file cannot be imported, 2 bad option value,\n"
      "3 nothing written (file exists without --force, or a write failed).");
  aws->add_option("FILE", o->file,
                  "AWS Generic configuration file or CustomerGatewayConfiguration XML")
      ->required();
  aws->add_option("--name", o->name, "VPN name (default: the VPN connection id, else \"aws\")")
      ->type_name("NAME");
  aws->add_option("--out", o->out, "write DIR/<name>.toml and DIR/secrets/<tunnel>.psk")
      ->type_name("DIR");
  aws->add_flag("--force", o->force, "replace existing files");
  aws->add_flag("--json", o->json, "print the imported connection as JSON");
  aws->add_flag("--show-secrets", o->show_secrets, "show pre-shared keys in --json output");
  aws->add_option("--customer-ip", o->customer_ip, "customer gateway public IP (fills/overrides)")
      ->type_name("IP");
  aws->add_option("--customer-asn", o->customer_asn, "customer BGP ASN (fills/overrides)")
      ->type_name("N");
  aws->add_option("--remote-network", o->remote_networks, "AWS VPC CIDR (repeatable)")
      ->type_name("CIDR")
      ->allow_extra_args(false);
  aws->add_option("--local-network", o->local_networks, "local (Azure) subnet CIDR (repeatable)")
      ->type_name("CIDR")
      ->allow_extra_args(false);
  CLI::Option* if_id = aws->add_option("--if-id-base", o->if_id_base,
                                       "if_id of tunnel 1 (tunnel 2 gets the next); default: the "
                                       "lowest free ones in --out")
                           ->type_name("N");
  aws->callback([o, if_id] {
    o->if_id_base_given = if_id->count() > 0;
    throw CLI::RuntimeError(runImportAws(*o));
  });
}

const CommandRegistration kRegistration(20, registerImport);

}  // namespace
}  // namespace crossgate::cli
