#include "crossgate/mgmt/daemon/ike_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "crossgate/common/log.h"
#include "crossgate/ikev2/tunnel_mapping.h"

namespace crossgate::mgmtd {

namespace {

constexpr std::string_view kSecretPrefix = "crossgate-psk-";

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A VICI reply {success, errmsg} as a Status.
Status checkReply(const vici::Message& reply, std::string_view what) {
  if (reply.value("success") == "yes") {
    return okStatus();
  }
  return makeError(Errc::kUnavailable,
                   fmt::format("{}: {}", what, reply.valueOr("errmsg", "charon reported failure")));
}

}  // namespace

DesiredTunnel DesiredTunnel::clone() const {
  return DesiredTunnel{name, aws_outside_ip, if_id, load_conn, secret_id, load_shared, psk.clone()};
}

std::vector<DesiredTunnel> desiredTunnels(const config::Config& config,
                                          std::vector<std::string>* errors) {
  std::vector<DesiredTunnel> out;
  std::vector<std::string> problems;
  for (const config::Vpn& vpn : config.vpns) {
    for (const config::Tunnel& t : vpn.tunnels) {
      auto conn = ikev2::buildLoadConn(config.appliance, t);
      if (!conn) {
        problems.push_back(conn.error().message);
        continue;
      }
      auto psk = ikev2::readPskFile(t.psk_file);
      if (!psk) {
        problems.push_back(fmt::format("tunnel {}: {}", t.name, psk.error().message));
        continue;
      }
      DesiredTunnel d;
      d.name = t.name;
      d.aws_outside_ip = t.aws_outside_ip.toString();
      d.if_id = t.if_id;
      d.load_conn = std::move(conn).value();
      d.secret_id = ikev2::secretId(t);
      d.load_shared = ikev2::buildLoadShared(config.appliance, t, *psk);
      d.psk = std::move(psk).value();
      out.push_back(std::move(d));
    }
  }
  if (!problems.empty()) {
    out.clear();
  }
  if (errors != nullptr) {
    *errors = std::move(problems);
  }
  return out;
}

IkeManager::IkeManager(asio::any_io_executor executor, Options options)
    : executor_(executor),
      options_(std::move(options)),
      connection_(executor),
      monitor_(executor, options_.vici_socket, vici::defaultEvents(),
               {.on_connected =
                    [this] {
                      need_converge_ = true;
                      wake();
                    },
                .on_disconnected =
                    [this](const Error&) {
                      sas_.clear();
                      noteStates();
                      wake();
                    },
                .on_event = [this](const std::string& name,
                                   const vici::Message& m) { onEvent(name, m); }}),
      wake_timer_(executor) {
  connection_.setTimeout(options_.request_timeout);
}

IkeManager::~IkeManager() {
  *alive_ = false;
  stop();
}

void IkeManager::setDesired(std::vector<DesiredTunnel> tunnels) {
  desired_ = std::move(tunnels);
  for (const DesiredTunnel& t : desired_) {
    runtime_[t.name];
  }
  need_converge_ = true;
  wake();
}

void IkeManager::start() {
  if (!stopped_) {
    return;
  }
  stopped_ = false;
  monitor_.start();
  asio::co_spawn(executor_, run(alive_), asio::detached);
}

void IkeManager::stop() {
  stopped_ = true;
  monitor_.stop();
  connection_.close();
  if (listing_connection_ != nullptr) {
    listing_connection_->close();
  }
  wake_timer_.cancel();
}

void IkeManager::wake() {
  woken_ = true;
  wake_timer_.cancel();
}

void IkeManager::dropConnection(const Error& error) {
  if (command_connected_) {
    log::get("ike")->warn("lost the VICI connection to charon: {}", error.message);
  }
  command_connected_ = false;
  connection_.close();
  sas_.markUnsynced();
  loaded_conns_.clear();
  need_converge_ = true;
}

asio::awaitable<Result<vici::Message>> IkeManager::command(const char* name,
                                                           const vici::Message& request) {
  auto reply = co_await connection_.request(name, request);
  if (!reply && !connection_.isOpen()) {
    dropConnection(reply.error());
  }
  co_return reply;
}

asio::awaitable<Status> IkeManager::connect() {
  Status s = co_await connection_.connect(options_.vici_socket);
  if (!s) {
    co_return s;
  }
  const vici::Message empty;
  auto version = co_await connection_.request("version", empty);
  if (!version) {
    connection_.close();
    co_return std::move(version).error();
  }
  charon_version_ = version->valueOr("version", "");
  command_connected_ = true;
  log::get("ike")->info("connected to charon {} at {}", charon_version_,
                        options_.vici_socket.string());
  co_return okStatus();
}

asio::awaitable<void> IkeManager::run(std::shared_ptr<bool> alive) {
  auto log = log::get("ike");
  std::chrono::milliseconds reconnect = std::chrono::milliseconds(100);
  bool reported = false;
  while (*alive && !stopped_) {
    if (!command_connected_) {
      Status s = co_await connect();
      if (!*alive || stopped_) {
        break;
      }
      if (!s) {
        if (!reported) {
          log->warn("charon is not reachable: {} (retrying)", s.error().message);
          reported = true;
        }
        wake_timer_.expires_after(reconnect);
        boost::system::error_code ec;
        co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        reconnect = std::min(reconnect * 2, std::chrono::milliseconds(5000));
        continue;
      }
      reported = false;
      reconnect = std::chrono::milliseconds(100);
      need_converge_ = true;
    }
    woken_ = false;
    if (need_converge_) {
      need_converge_ = false;
      Status s = co_await converge();
      if (!*alive || stopped_) {
        break;
      }
      if (!s) {
        need_converge_ = true;
        log->error("converging charon failed: {}", s.error().message);
      }
    }
    if (command_connected_) {
      Status p = co_await poll();
      if (!*alive || stopped_) {
        break;
      }
      if (p && command_connected_) {
        Status i = co_await initiateMissing();
        if (!*alive || stopped_) {
          break;
        }
        (void)i;
      }
    }
    if (!woken_ && command_connected_) {
      wake_timer_.expires_after(need_converge_ ? options_.initiate_backoff_min
                                               : options_.poll_interval);
      boost::system::error_code ec;
      co_await wake_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

asio::awaitable<Status> IkeManager::converge() {
  const vici::Message empty;
  auto conns = co_await command("get-conns", empty);
  if (!conns) {
    co_return std::move(conns).error();
  }
  auto shared = co_await command("get-shared", empty);
  if (!shared) {
    co_return std::move(shared).error();
  }
  loaded_conns_ = conns->list("conns") ? *conns->list("conns") : std::vector<std::string>{};
  const std::vector<std::string> keys =
      shared->list("keys") ? *shared->list("keys") : std::vector<std::string>{};

  // A snapshot: setDesired() may replace desired_ while this coroutine waits on charon.
  std::vector<DesiredTunnel> desired;
  for (const DesiredTunnel& t : desired_) {
    desired.push_back(t.clone());
  }
  Status result = okStatus();
  for (const DesiredTunnel& t : desired) {
    const bool conn_loaded = contains(loaded_conns_, t.name);
    const bool key_loaded = contains(keys, t.secret_id);
    auto it = applied_.find(t.name);
    const bool same =
        it != applied_.end() && it->second.load_conn == t.load_conn && it->second.psk.equals(t.psk);
    if (same && conn_loaded && key_loaded) {
      continue;
    }
    const bool reestablish = it != applied_.end() && conn_loaded && !same;
    Status s = co_await applyTunnel(t, reestablish);
    if (!s) {
      runtime_[t.name].last_error = s.error().message;
      log::get("ike")->error("[tunnel={}] {}", t.name, s.error().message);
      result = std::move(s);
      if (!command_connected_) {
        co_return result;
      }
    }
  }
  Status stale = co_await unloadStale(loaded_conns_, keys);
  if (!stale) {
    co_return stale;
  }
  co_return result;
}

asio::awaitable<Status> IkeManager::applyTunnel(const DesiredTunnel& t, bool reestablish) {
  auto log = log::get("ike");
  if (reestablish) {
    log->info("[tunnel={}] settings or PSK changed: re-establishing this tunnel", t.name);
    vici::Message unload;
    unload.add("name", t.name);
    auto r = co_await command("unload-conn", unload);
    if (!r) {
      co_return std::move(r).error();
    }
    if (Status s = checkReply(*r, "unload-conn " + t.name); !s) {
      co_return s;
    }
    applied_.erase(t.name);
  }
  auto shared = co_await command("load-shared", t.load_shared);
  if (!shared) {
    co_return std::move(shared).error();
  }
  if (Status s = checkReply(*shared, "load-shared " + t.secret_id); !s) {
    co_return s;
  }
  auto conn = co_await command("load-conn", t.load_conn);
  if (!conn) {
    co_return std::move(conn).error();
  }
  if (Status s = checkReply(*conn, "load-conn " + t.name); !s) {
    co_return s;
  }
  applied_[t.name] = Applied{t.load_conn, t.psk.clone()};
  if (!contains(loaded_conns_, t.name)) {
    loaded_conns_.push_back(t.name);
  }
  TunnelRuntime& rt = runtime_[t.name];
  ++rt.loads;
  rt.backoff = options_.initiate_backoff_min;
  rt.next_initiate = std::chrono::steady_clock::now() + rt.backoff;  // start_action initiates
  log->info("[tunnel={}] loaded into charon (remote {}, if_id {})", t.name, t.aws_outside_ip,
            t.if_id);
  co_return okStatus();
}

asio::awaitable<Status> IkeManager::unloadStale(const std::vector<std::string>& conns,
                                                const std::vector<std::string>& keys) {
  auto log = log::get("ike");
  std::set<std::string> names, ids;
  for (const DesiredTunnel& t : desired_) {
    names.insert(t.name);
    ids.insert(t.secret_id);
  }
  for (const std::string& name : conns) {
    if (names.count(name) != 0) {
      continue;
    }
    vici::Message unload;
    unload.add("name", name);
    auto r = co_await command("unload-conn", unload);
    if (!r) {
      co_return std::move(r).error();
    }
    log->info("[tunnel={}] no longer configured: unloaded ({})", name, r->valueOr("success", "?"));
    applied_.erase(name);
    runtime_.erase(name);
    loaded_conns_.erase(std::remove(loaded_conns_.begin(), loaded_conns_.end(), name),
                        loaded_conns_.end());
  }
  for (const std::string& id : keys) {
    if (ids.count(id) != 0 || id.rfind(kSecretPrefix, 0) != 0) {
      continue;
    }
    vici::Message unload;
    unload.add("id", id);
    auto r = co_await command("unload-shared", unload);
    if (!r) {
      co_return std::move(r).error();
    }
    log->info("secret {} no longer configured: unloaded", id);
  }
  co_return okStatus();
}

asio::awaitable<Result<std::vector<IkeSaInfo>>> IkeManager::listSas(vici::Connection& connection,
                                                                    bool noblock) {
  vici::Message request;
  if (noblock) {
    request.add("noblock", "yes");
  }
  std::vector<IkeSaInfo> fresh;
  const std::function<void(const vici::Message&)> collect = [&fresh](const vici::Message& m) {
    std::vector<IkeSaInfo> sas = parseIkeSas(m);
    fresh.insert(fresh.end(), std::make_move_iterator(sas.begin()),
                 std::make_move_iterator(sas.end()));
  };
  auto r = co_await connection.streamedRequest("list-sas", "list-sa", request, collect);
  if (!r) {
    co_return std::move(r).error();
  }
  co_return fresh;
}

// A blocking list-sas on a connection of its own, bounded by the request timeout: a timeout
// closes only that connection, and the command connection stays usable meanwhile.
asio::awaitable<Status> IkeManager::completeListing() {
  vici::Connection connection(executor_);
  connection.setTimeout(options_.request_timeout);
  if (Status s = co_await connection.connect(options_.vici_socket); !s) {
    co_return s;
  }
  const SaTable::ListingToken token = sas_.beginListing();
  std::shared_ptr<bool> alive = alive_;
  listing_connection_ = &connection;  // stop() closes it
  auto listing = co_await listSas(connection, false);
  if (!*alive) {
    co_return makeError(Errc::kUnavailable, "stopped");
  }
  listing_connection_ = nullptr;
  connection.close();
  if (!listing) {
    co_return std::move(listing).error();
  }
  sas_.applyCompleteListing(token, std::move(listing).value());
  co_return okStatus();
}

asio::awaitable<Status> IkeManager::poll() {
  const auto now = std::chrono::steady_clock::now();
  if (sas_.needsCompleteListing() && monitor_.connected() && now >= next_complete_listing_) {
    std::shared_ptr<bool> alive = alive_;
    Status s = co_await completeListing();
    if (!*alive || stopped_) {
      co_return s;
    }
    if (!s) {
      // Busy SAs can hold a blocking listing for long: retry later, noblock meanwhile.
      next_complete_listing_ = std::chrono::steady_clock::now() + options_.initiate_backoff_min;
      log::get("ike")->warn("blocking list-sas failed: {} (retrying)", s.error().message);
    }
  }
  const SaTable::ListingToken token = sas_.beginListing();
  auto listing = co_await listSas(connection_, true);
  if (!listing) {
    if (!connection_.isOpen()) {
      dropConnection(listing.error());
    }
    co_return std::move(listing).error();
  }
  sas_.mergeNoblockListing(token, std::move(listing).value());
  noteStates();
  co_return okStatus();
}

asio::awaitable<Status> IkeManager::initiateMissing() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> names;
  for (const DesiredTunnel& t : desired_) {
    // Never from a noblock listing alone: only a synced table without any IKE_SA of the tunnel.
    if (applied_.count(t.name) == 0 || !sas_.knownWithoutIkeSa(t.name)) {
      continue;
    }
    TunnelRuntime& rt = runtime_[t.name];
    if (now < rt.next_initiate) {
      continue;
    }
    rt.backoff =
        std::clamp(rt.backoff * 2, options_.initiate_backoff_min, options_.initiate_backoff_max);
    rt.next_initiate = now + rt.backoff;
    names.push_back(t.name);
  }
  for (const std::string& name : names) {
    vici::Message request;
    request.add("child", name).add("ike", name).add("timeout", "-1").add("loglevel", "0");
    log::get("ike")->info("[tunnel={}] no IKE_SA: initiating", name);
    auto r = co_await command("initiate", request);
    if (!r) {
      co_return std::move(r).error();
    }
  }
  co_return okStatus();
}

void IkeManager::noteStates() {
  auto log = log::get("ike");
  for (const TunnelStatus& s : tunnelStatus()) {
    TunnelRuntime& rt = runtime_[s.name];
    const bool up = isUp(s);
    if (up && !rt.was_up) {
      log->info("[tunnel={}] up: IKE_SA {}[{}] {} -> {}", s.name, s.name, s.ike->uniqueid,
                s.ike->local_host, s.ike->remote_host);
      rt.last_error.reset();
      rt.backoff = std::chrono::milliseconds(0);
    } else if (!up && rt.was_up) {
      log->warn("[tunnel={}] down (IKE {})", s.name, s.ike ? s.ike->state : "none");
    }
    const bool changed = up != rt.was_up;
    rt.was_up = up;
    if (changed && child_sa_observer_) {
      child_sa_observer_(s.name, up);
    }
  }
}

void IkeManager::onEvent(const std::string& name, const vici::Message& message) {
  if (name == "log") {
    onLog(message);
    return;
  }
  sas_.applyEvent(name, message);
  noteStates();
  log::get("ike")->debug("event {}", name);
  wake();
}

void IkeManager::onLog(const vici::Message& message) {
  const std::string ike = message.valueOr("ikesa-name", "");
  const std::string msg = message.valueOr("msg", "");
  auto it = runtime_.find(ike);
  if (it == runtime_.end()) {
    log::get("ike")->debug("charon: {}", msg);
    return;
  }
  if (auto error = classifyLogError(msg)) {
    it->second.last_error = *error;
    log::get("ike")->warn("[tunnel={}] charon: {}", ike, msg);
  } else {
    log::get("ike")->debug("[tunnel={}] charon: {}", ike, msg);
  }
}

std::vector<TunnelStatus> IkeManager::tunnelStatus() const {
  std::vector<TunnelStatus> out;
  const std::vector<IkeSaInfo> sas = sas_.sas();
  for (const DesiredTunnel& t : desired_) {
    TunnelStatus s;
    s.name = t.name;
    s.aws_outside_ip = t.aws_outside_ip;
    s.if_id = t.if_id;
    s.loaded = applied_.count(t.name) != 0 && contains(loaded_conns_, t.name);
    if (const IkeSaInfo* sa = bestIkeSa(sas, t.name)) {
      s.ike = *sa;
    }
    if (auto it = runtime_.find(t.name); it != runtime_.end()) {
      s.last_error = it->second.last_error;
    }
    out.push_back(std::move(s));
  }
  return out;
}

uint64_t IkeManager::loadCount(const std::string& tunnel) const {
  auto it = runtime_.find(tunnel);
  return it == runtime_.end() ? 0 : it->second.loads;
}

nlohmann::json IkeManager::statusJson() const {
  nlohmann::json tunnels = nlohmann::json::array();
  for (const TunnelStatus& s : tunnelStatus()) {
    tunnels.push_back(toJson(s));
  }
  return {{"tunnels", std::move(tunnels)},
          {"charon",
           {{"connected", command_connected_ && monitor_.connected()},
            {"version", charon_version_},
            {"vici_socket", options_.vici_socket.string()}}}};
}

}  // namespace crossgate::mgmtd
