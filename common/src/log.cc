#include "crossgate/common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace crossgate::log {
namespace {

std::mutex g_mutex;
Options g_options;
spdlog::sink_ptr g_sink;

spdlog::sink_ptr sinkLocked() {
  if (!g_sink) {
    if (g_options.to_stderr) {
      g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      g_sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    }
    g_sink->set_pattern(g_options.with_time ? "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v"
                                            : "%^%-5l%$ [%n] %v");
  }
  return g_sink;
}

}  // namespace

bool parseLevel(std::string_view name, spdlog::level::level_enum* out) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off},
  };
  for (const auto& [n, l] : kLevels) {
    if (n == name) {
      *out = l;
      return true;
    }
  }
  return false;
}

void setup(const Options& options) {
  std::lock_guard lock(g_mutex);
  g_options = options;
  g_sink.reset();
  spdlog::level::level_enum level = spdlog::level::info;
  parseLevel(options.level, &level);
  auto sink = sinkLocked();
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks().clear();
    l->sinks().push_back(sink);
    l->set_level(level);
  });
  spdlog::set_level(level);
}

std::shared_ptr<spdlog::logger> get(std::string_view component) {
  std::lock_guard lock(g_mutex);
  const std::string name(component);
  if (auto existing = spdlog::get(name)) {
    return existing;
  }
  auto logger = std::make_shared<spdlog::logger>(name, sinkLocked());
  spdlog::level::level_enum level = spdlog::level::info;
  parseLevel(g_options.level, &level);
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace crossgate::log
