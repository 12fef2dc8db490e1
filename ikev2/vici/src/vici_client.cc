#include "crossgate/ikev2/vici_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "crossgate/common/log.h"

namespace crossgate::vici {

namespace {

constexpr auto kAwait = asio::use_awaitable;

Error ioError(std::string_view what, const boost::system::error_code& ec) {
  return makeError(Errc::kIo, fmt::format("VICI {}: {}", what, ec.message()));
}

}  // namespace

// ---- Connection --------------------------------------------------------------------------

Connection::Connection(asio::any_io_executor executor) : socket_(executor), timer_(executor) {}

Connection::~Connection() { close(); }

asio::awaitable<Status> Connection::connect(std::filesystem::path socket_path) {
  close();
  path_ = std::move(socket_path);
  boost::system::error_code ec;
  socket_.open(asio::local::stream_protocol(), ec);
  if (!ec) {
    const std::string path = path_.string();
    const asio::local::stream_protocol::endpoint endpoint(path);
    co_await socket_.async_connect(endpoint, asio::redirect_error(kAwait, ec));
  }
  if (ec) {
    close();
    co_return makeError(Errc::kUnavailable,
                        fmt::format("VICI connect to {}: {}", path_.string(), ec.message()));
  }
  co_return okStatus();
}

void Connection::close() {
  boost::system::error_code ec;
  timer_.cancel();
  if (socket_.is_open()) {
    socket_.shutdown(asio::socket_base::shutdown_both, ec);
    socket_.close(ec);
  }
}

bool Connection::isOpen() const { return socket_.is_open(); }

void Connection::armTimer() {
  *timed_out_ = false;
  timer_.expires_after(timeout_);
  timer_.async_wait([this, flag = timed_out_](const boost::system::error_code& ec) {
    if (!ec) {
      *flag = true;
      close();
    }
  });
}

void Connection::disarmTimer() { timer_.cancel(); }

Error Connection::failure(Error error) {
  close();
  if (*timed_out_) {
    return makeError(Errc::kTimeout,
                     fmt::format("VICI request timed out after {} ms", timeout_.count()));
  }
  return error;
}

asio::awaitable<Result<Packet>> Connection::readPacket() {
  std::array<uint8_t, 4> header{};
  boost::system::error_code ec;
  co_await asio::async_read(socket_, asio::buffer(header), asio::redirect_error(kAwait, ec));
  if (ec) {
    co_return ioError("read", ec);
  }
  const uint32_t len = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                       (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (len == 0 || len > kMaxPacketSize) {
    co_return makeError(Errc::kProtocol, fmt::format("VICI read: segment length {} outside 1..{}",
                                                     len, kMaxPacketSize));
  }
  std::vector<uint8_t> payload(len);
  co_await asio::async_read(socket_, asio::buffer(payload), asio::redirect_error(kAwait, ec));
  if (ec) {
    co_return ioError("read", ec);
  }
  co_return decodePacket(payload);
}

asio::awaitable<Status> Connection::writePacket(const Packet& packet) {
  auto bytes = encodePacket(packet);
  if (!bytes) {
    co_return std::move(bytes).error();
  }
  boost::system::error_code ec;
  co_await asio::async_write(socket_, asio::buffer(*bytes), asio::redirect_error(kAwait, ec));
  wipe(*bytes);  // a load-shared request carries a PSK
  if (ec) {
    co_return ioError("write", ec);
  }
  co_return okStatus();
}

asio::awaitable<Status> Connection::eventControl(
    PacketType type, std::string_view event, const std::function<void(const Packet&)>* on_event) {
  const bool reg = type == PacketType::kEventRegister;
  // Named locals, not temporaries, around co_await (GCC 12 mishandles temporaries there).
  const Packet control{type, std::string(event), {}};
  Status sent = co_await writePacket(control);
  if (!sent) {
    co_return std::move(sent).error();
  }
  for (;;) {
    auto packet = co_await readPacket();
    if (!packet) {
      co_return std::move(packet).error();
    }
    switch (packet->type) {
      case PacketType::kEventConfirm:
        co_return okStatus();
      case PacketType::kEventUnknown:
        co_return makeError(Errc::kNotFound,
                            fmt::format("VICI: charon does not know the event '{}'", event));
      case PacketType::kEvent:
        if (on_event != nullptr && *on_event) {
          (*on_event)(*packet);
        }
        break;
      default:
        co_return makeError(Errc::kProtocol, fmt::format("VICI {} '{}': unexpected {} packet",
                                                         reg ? "register" : "unregister", event,
                                                         toString(packet->type)));
    }
  }
}

asio::awaitable<Status> Connection::registerEvent(
    std::string_view event, const std::function<void(const Packet&)>& on_event) {
  co_return co_await eventControl(PacketType::kEventRegister, event, &on_event);
}

asio::awaitable<Status> Connection::unregisterEvent(std::string_view event) {
  co_return co_await eventControl(PacketType::kEventUnregister, event, nullptr);
}

asio::awaitable<Result<Message>> Connection::exchange(
    std::string_view command, const Message& message, std::string_view event,
    const std::function<void(const Message&)>* on_event) {
  if (!isOpen()) {
    co_return makeError(Errc::kUnavailable, "VICI: not connected");
  }
  armTimer();
  if (!event.empty()) {
    const std::function<void(const Packet&)> drop;
    if (auto s = co_await eventControl(PacketType::kEventRegister, event, &drop); !s) {
      co_return failure(std::move(s).error());
    }
  }
  const Packet packet_out{PacketType::kCmdRequest, std::string(command), message};
  Status sent = co_await writePacket(packet_out);
  if (!sent) {
    co_return failure(std::move(sent).error());
  }
  Message response;
  for (bool done = false; !done;) {
    auto packet = co_await readPacket();
    if (!packet) {
      co_return failure(std::move(packet).error());
    }
    if (packet->type == PacketType::kCmdResponse) {
      response = std::move(packet->message);
      done = true;
    } else if (packet->type == PacketType::kCmdUnknown) {
      disarmTimer();
      co_return makeError(Errc::kNotFound,
                          fmt::format("VICI: charon does not know the command '{}'", command));
    } else if (packet->type == PacketType::kEvent && !event.empty() && packet->name == event) {
      (*on_event)(packet->message);
    } else if (packet->type != PacketType::kEvent) {
      co_return failure(makeError(Errc::kProtocol, fmt::format("VICI '{}': unexpected {} packet",
                                                               command, toString(packet->type))));
    }
  }
  if (!event.empty()) {
    if (auto s = co_await eventControl(PacketType::kEventUnregister, event, nullptr); !s) {
      co_return failure(std::move(s).error());
    }
  }
  disarmTimer();
  co_return response;
}

asio::awaitable<Result<Message>> Connection::request(std::string_view command,
                                                     const Message& message) {
  co_return co_await exchange(command, message, {}, nullptr);
}

asio::awaitable<Result<Message>> Connection::streamedRequest(
    std::string_view command, std::string_view event, const Message& message,
    const std::function<void(const Message&)>& on_event) {
  co_return co_await exchange(command, message, event, &on_event);
}

// ---- EventMonitor ------------------------------------------------------------------------

std::vector<std::string> defaultEvents() {
  return {"ike-updown", "child-updown", "ike-rekey", "child-rekey", "log"};
}

EventMonitor::EventMonitor(asio::any_io_executor executor, std::filesystem::path socket_path,
                           std::vector<std::string> events, Callbacks callbacks)
    : executor_(executor),
      path_(std::move(socket_path)),
      events_(std::move(events)),
      callbacks_(std::move(callbacks)),
      connection_(executor),
      backoff_timer_(executor) {}

EventMonitor::~EventMonitor() {
  *alive_ = false;
  stop();
}

void EventMonitor::start() {
  stopped_ = false;
  asio::co_spawn(executor_, run(alive_), asio::detached);
}

void EventMonitor::stop() {
  stopped_ = true;
  backoff_timer_.cancel();
  connection_.close();
}

asio::awaitable<Status> EventMonitor::session() {
  Status connected = co_await connection_.connect(path_);
  if (!connected) {
    co_return connected;
  }
  auto deliver = [this](const Packet& p) {
    if (callbacks_.on_event) {
      callbacks_.on_event(p.name, p.message);
    }
  };
  const std::function<void(const Packet&)> on_early(deliver);
  for (const std::string& event : events_) {
    if (auto s = co_await connection_.registerEvent(event, on_early); !s) {
      co_return s;
    }
  }
  connected_ = true;
  if (callbacks_.on_connected) {
    callbacks_.on_connected();
  }
  for (;;) {
    auto packet = co_await connection_.readPacket();
    if (!packet) {
      co_return std::move(packet).error();
    }
    if (packet->type != PacketType::kEvent) {
      co_return makeError(Errc::kProtocol,
                          fmt::format("VICI events: unexpected {} packet", toString(packet->type)));
    }
    deliver(*packet);
  }
}

asio::awaitable<void> EventMonitor::run(std::shared_ptr<bool> alive) {
  auto log = log::get("vici");
  std::chrono::milliseconds backoff = kInitialBackoff;
  bool reported = false;
  while (*alive && !stopped_) {
    Status s = co_await session();
    if (!*alive || stopped_) {
      break;
    }
    const bool was_connected = connected_;
    connected_ = false;
    connection_.close();
    if (was_connected) {
      backoff = kInitialBackoff;
      reported = false;
      log->warn("event connection to {} lost: {}", path_.string(), s.error().message);
      if (callbacks_.on_disconnected) {
        callbacks_.on_disconnected(s.error());
      }
    } else if (!reported) {
      log->warn("cannot reach charon at {}: {} (retrying)", path_.string(), s.error().message);
      reported = true;
    }
    if (!*alive || stopped_) {
      break;
    }
    backoff_timer_.expires_after(backoff);
    boost::system::error_code ec;
    co_await backoff_timer_.async_wait(asio::redirect_error(kAwait, ec));
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace crossgate::vici
