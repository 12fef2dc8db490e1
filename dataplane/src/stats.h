// Counters as JSON over a local stream socket (--stats-socket, mode 0600): connect, read one
// JSON document, EOF. Per SA: bytes, packets, last use; per worker: ESP drop reasons and I/O
// counters by name; totals; the plugin session's event counters. Served by the control loop.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "crossgate/common/result.h"
#include "crossgate/common/unique_fd.h"

namespace crossgate::dataplane {

class Dataplane;
class DpServer;
class SaTable;

nlohmann::json statsJson(SaTable& table, const Dataplane* dataplane, const DpServer* server);

class StatsServer {
 public:
  static Result<StatsServer> open(const std::string& path);
  int fd() const { return fd_.get(); }
  // Accepts pending connections and writes the document to each.
  void serve(const nlohmann::json& doc);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace crossgate::dataplane
