// SPDX-License-Identifier: BSD-3-Clause
// A console with a few sample commands, for trying the console by hand (not a
// test): `build-ctl/tests/unit/control/console_demo [SOCKET]`. With SOCKET,
// the same commands are also served there for dpswitch-ctl.
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "control/commands.h"
#include "control/console.h"
#include "control/control_socket.h"

using dpswitch::control::CommandRegistry;
using dpswitch::control::Console;
using dpswitch::control::ControlSocket;
using dpswitch::control::Error;
using dpswitch::control::JoinArgs;
using dpswitch::control::Ok;

int main(int argc, char* argv[]) {
  std::atomic<bool> stop{false};
  CommandRegistry r;
  using Args = std::vector<std::string>;
  r.Register("show ports", "", "list the (pretend) ports",
             [](const Args&) { return Ok("p0  ofport 1\np1  ofport 2"); });
  r.Register("show pmd stats", "", "pretend PMD counters",
             [](const Args&) { return Ok("pmd 1: 0 pkts"); });
  r.Register("add-flow", "FLOW", "echo the flow as the switch would get it", [](const Args& a) {
    return a.empty() ? Error("add-flow: missing FLOW") : Ok("flow: " + JoinArgs(a));
  });
  r.Register("dump-flows", "[TABLE]", "echo arguments one per line", [](const Args& a) {
    std::string out;
    for (const auto& x : a) out += "[" + x + "]\n";
    return Ok(out);
  });
  r.Register("fail", "", "always fails", [](const Args&) { return Error("this command fails"); });
  r.Register("stop", "", "stop from a command (as SIGTERM would)", [&](const Args&) {
    stop = true;
    return Ok("stopping");
  });

  std::unique_ptr<ControlSocket> socket;
  if (argc > 1) {
    socket = std::make_unique<ControlSocket>(argv[1], r);
    socket->Start();
  }
  Console console(
      r, [&] { return stop.load(); }, [] { std::printf("bye\n"); });
  console.Run();
  return 0;
}
