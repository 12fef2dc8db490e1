// VICI over a unix stream socket with Boost.Asio coroutines.
//
// Connection: one command at a time (charon serves a connection strictly in order), each bounded
// by a timeout; streamed commands (list-sas -> list-sa events, list-conns -> list-conn) register
// the event, send the command, collect the events until the CMD_RESPONSE, and unregister.
// EventMonitor: a separate long-lived connection registered to asynchronous events; it
// reconnects with exponential backoff when charon goes away and registers again.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

// clang-format off
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
// clang-format on

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crossgate/common/result.h"
#include "crossgate/ikev2/vici_message.h"

namespace crossgate::vici {

namespace asio = boost::asio;

class Connection {
 public:
  explicit Connection(asio::any_io_executor executor);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  asio::awaitable<Status> connect(std::filesystem::path socket_path);
  void close();
  bool isOpen() const;

  // Bound on one whole request (including streamed events); default 10 s.
  void setTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  // Sends CMD_REQUEST `command` and returns the CMD_RESPONSE message. CMD_UNKNOWN, a closed
  // connection or a timeout are errors (the connection is closed after a timeout or a
  // protocol error, since its request queue is then out of step).
  asio::awaitable<Result<Message>> request(std::string_view command, const Message& message = {});

  // A streamed command: register `event`, send `command`, hand every `event` packet to
  // `on_event` until the CMD_RESPONSE, unregister.
  asio::awaitable<Result<Message>> streamedRequest(
      std::string_view command, std::string_view event, const Message& message,
      const std::function<void(const Message&)>& on_event);

  // Registers for `event`; events that arrive before the confirmation go to `on_event`.
  asio::awaitable<Status> registerEvent(std::string_view event,
                                        const std::function<void(const Packet&)>& on_event = {});
  asio::awaitable<Status> unregisterEvent(std::string_view event);

  // Raw packet I/O (no timeout; the event loop waits here).
  asio::awaitable<Result<Packet>> readPacket();
  asio::awaitable<Status> writePacket(const Packet& packet);

 private:
  asio::awaitable<Result<Message>> exchange(std::string_view command, const Message& message,
                                            std::string_view event,
                                            const std::function<void(const Message&)>* on_event);
  asio::awaitable<Status> eventControl(PacketType type, std::string_view event,
                                       const std::function<void(const Packet&)>* on_event);
  void armTimer();
  void disarmTimer();
  Error failure(Error error);

  asio::local::stream_protocol::socket socket_;
  asio::steady_timer timer_;
  std::chrono::milliseconds timeout_{10000};
  std::shared_ptr<bool> timed_out_ = std::make_shared<bool>(false);
  std::filesystem::path path_;
};

class EventMonitor {
 public:
  struct Callbacks {
    std::function<void()> on_connected;                 // registered to every event
    std::function<void(const Error&)> on_disconnected;  // once per lost connection
    std::function<void(const std::string& name, const Message& message)> on_event;
  };

  EventMonitor(asio::any_io_executor executor, std::filesystem::path socket_path,
               std::vector<std::string> events, Callbacks callbacks);
  ~EventMonitor();
  EventMonitor(const EventMonitor&) = delete;
  EventMonitor& operator=(const EventMonitor&) = delete;

  void start();
  void stop();
  bool connected() const { return connected_; }

  static constexpr std::chrono::milliseconds kInitialBackoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{5000};

 private:
  asio::awaitable<void> run(std::shared_ptr<bool> alive);
  asio::awaitable<Status> session();

  asio::any_io_executor executor_;
  std::filesystem::path path_;
  std::vector<std::string> events_;
  Callbacks callbacks_;
  Connection connection_;
  asio::steady_timer backoff_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool stopped_ = false;
  bool connected_ = false;
};

// The events crossgated follows.
std::vector<std::string> defaultEvents();

}  // namespace crossgate::vici
