// SPDX-License-Identifier: BSD-3-Clause
// dpswitch: load the configuration, set up logging and signals, run the switch.
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "control/config.h"
#include "control/switch.h"

namespace {

void OnSignal(int) { dpswitch::control::Switch::RequestStop(); }

void SetUpLogging(const dpswitch::control::Config& cfg) {
  std::shared_ptr<spdlog::logger> logger;
  if (cfg.log_file.empty())
    logger = spdlog::stderr_color_mt("dpswitch");
  else
    logger = spdlog::basic_logger_mt("dpswitch", cfg.log_file);
  logger->set_level(spdlog::level::from_str(cfg.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace

int main(int argc, char* argv[]) {
  std::optional<dpswitch::control::Config> cfg;
  try {
    cfg = dpswitch::control::LoadConfig(argc, argv, "config/dpswitch.conf");
  } catch (const dpswitch::control::ConfigError& e) {
    std::fprintf(stderr, "dpswitch: %s\n", e.what());
    return 2;
  }
  if (!cfg) return 0;  // --help
  try {
    SetUpLogging(*cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpswitch: log.file: %s\n", e.what());
    return 2;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);  // a control client that hangs up must not kill us
  dpswitch::control::Switch sw(std::move(*cfg));
  return sw.Run();
}
