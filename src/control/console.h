// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The interactive console, testpmd-style: prompt "dpswitch> ", line editing,
// history and tab completion from DPDK's librte_cmdline; every line goes to
// CommandRegistry::Execute, so the console and the control socket share all
// commands.
//
// On a terminal, librte_cmdline reads keys in raw mode. Its grammar is built
// from the registry when Run() starts: instructions whose tokens exist only to
// drive completion (they never match a whole line), plus one catch-all that
// matches any line and hands it, unparsed, to Execute. So cmdline contributes
// editing, history and completion, while quoting and errors are the
// registry's, identical to the socket. TAB completes every word of a command
// name; TAB on an open choice (or '?') lists the candidates with their usage
// and help. Commands registered after Run() started run but are not
// completed. Lines are limited to librte_cmdline's 512 bytes (longer flows:
// dpswitch-ctl or a flow file); '#' starts a comment only at the beginning of
// a line. Ctrl-C clears the line (it does not signal).
//
// When stdin is not a terminal (commands piped in), lines are read plainly,
// without prompt or echo, until EOF.
//
// Run() returns when the user ends the console — "quit", "exit", Ctrl-D on an
// empty line, EOF — after calling on_exit (the daemon's shutdown hook), or
// when should_stop() (polled about every 100 ms) returns true, without
// calling on_exit. Command output goes to out_fd, failures to err_fd.

#include <functional>
#include <string_view>
#include <vector>

#include "control/commands.h"

namespace dpswitch::control {

// File descriptors the console uses (the defaults are the process's stdio;
// tests pass pipes or a pseudo-terminal). The console does not close them.
struct ConsoleIo {
  int in_fd = 0;   // commands; a terminal gets line editing
  int out_fd = 1;  // prompt, echo and command output
  int err_fd = 2;  // text of failed commands
};

class Console {
 public:
  static constexpr const char* kPrompt = "dpswitch> ";

  Console(CommandRegistry& registry, std::function<bool()> should_stop,
          std::function<void()> on_exit = {}, ConsoleIo io = ConsoleIo());

  // Blocks until the console ends (see above). Call from one thread at a time.
  void Run();

  // Runs one line as the console would; false when the line ends the console
  // (quit / exit). Used by both input modes.
  bool HandleLine(std::string_view line);

 private:
  void RunTerminal();
  void RunLines();
  void Write(int fd, std::string_view text) const;
  // quit/exit when the registry has no command of that name.
  std::vector<CommandInfo> OwnCommands() const;

  CommandRegistry& registry_;
  std::function<bool()> should_stop_;  // polled by Run(); may be empty
  std::function<void()> on_exit_;      // called once when the user ends Run()
  ConsoleIo io_;
};

}  // namespace dpswitch::control
