// Test helper: run an Asio awaitable to completion on an io_context that may also be running
// long-lived coroutines (event monitors), with a deadline.
#pragma once

#include <utility>

// clang-format off
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
// clang-format on

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>

namespace crossgate::testing {

template <typename T>
boost::asio::awaitable<void> captureInto(boost::asio::awaitable<T> aw, std::optional<T>* out) {
  out->emplace(co_await std::move(aw));
}

// Runs the io_context until `done()` holds or the deadline passes; returns done().
inline bool runUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return done();
}

template <typename T>
T await(boost::asio::io_context& io, boost::asio::awaitable<T> aw,
        std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  std::optional<T> out;
  boost::asio::co_spawn(io, captureInto(std::move(aw), &out), boost::asio::detached);
  if (!runUntil(
          io, [&] { return out.has_value(); }, timeout)) {
    throw std::runtime_error("awaitable did not complete in time");
  }
  return std::move(*out);
}

}  // namespace crossgate::testing
