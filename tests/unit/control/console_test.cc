// SPDX-License-Identifier: BSD-3-Clause
// The console: piped input (plain lines), and a pseudo-terminal driving the
// librte_cmdline front end (prompt, completion, Ctrl-D) as a user would.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "control/console.h"

namespace dpswitch::control {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;
using Clock = std::chrono::steady_clock;

void RegisterTestCommands(CommandRegistry& r) {
  r.Register("echo", "[TEXT]", "print TEXT", [](const Args& a) { return Ok(JoinArgs(a)); });
  r.Register("fail", "", "always fails", [](const Args&) { return Error("no luck"); });
  r.Register("show ports", "", "ports", [](const Args&) { return Ok("PORTS-TABLE"); });
  r.Register("show pmd stats", "", "pmds", [](const Args&) { return Ok("PMD-STATS"); });
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  void CloseRead() {
    if (r >= 0) close(r);
    r = -1;
  }
  void CloseWrite() {
    if (w >= 0) close(w);
    w = -1;
  }
  void Write(std::string_view s) const {
    REQUIRE(write(w, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
  }
  // Everything available now (non-blocking after `wait`).
  std::string Drain(std::chrono::milliseconds wait = 0ms) const {
    std::string out;
    pollfd p{r, POLLIN, 0};
    int timeout = static_cast<int>(wait.count());
    while (poll(&p, 1, timeout) > 0) {
      char buf[4096];
      const ssize_t n = read(r, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      timeout = 0;
    }
    return out;
  }
};

TEST_CASE("console: piped lines run until EOF", "[console]") {
  CommandRegistry registry;
  RegisterTestCommands(registry);
  Pipe in, out, err;
  in.Write("echo hello\n  \n# comment\nfail\nshow ports\necho last line without newline");
  in.CloseWrite();
  int exits = 0;
  Console console(
      registry, nullptr, [&] { ++exits; }, ConsoleIo{in.r, out.w, err.w});
  console.Run();
  CHECK(exits == 1);
  CHECK(out.Drain() == "hello\nPORTS-TABLE\nlast line without newline\n");
  CHECK(err.Drain() == "no luck\n");
}

TEST_CASE("console: quit and exit end piped input", "[console]") {
  for (const char* word : {"quit", "exit"}) {
    CommandRegistry registry;
    RegisterTestCommands(registry);
    Pipe in, out, err;
    in.Write("echo before\n" + std::string(word) + "\necho after\n");
    int exits = 0;
    Console console(
        registry, nullptr, [&] { ++exits; }, ConsoleIo{in.r, out.w, err.w});
    console.Run();  // returns although the write end is still open
    INFO(word);
    CHECK(exits == 1);
    CHECK(out.Drain() == "before\n");
  }
}

TEST_CASE("console: a registered exit command runs, then the console ends", "[console]") {
  CommandRegistry registry;
  RegisterTestCommands(registry);
  int stops = 0;
  registry.Register("exit", "", "stop the switch", [&](const Args&) {
    ++stops;
    return Ok("stopping");
  });
  Pipe in, out, err;
  in.Write("help\nexit\necho after\n");
  Console console(registry, nullptr, {}, ConsoleIo{in.r, out.w, err.w});
  console.Run();
  CHECK(stops == 1);
  const std::string text = out.Drain();
  CHECK(text.find("stopping\n") != std::string::npos);
  CHECK(text.find("after") == std::string::npos);
  // "help" lists the registry's exit, and the console's own quit.
  CHECK(text.find("  exit  ") != std::string::npos);
  CHECK(text.find("quit | exit") == std::string::npos);
  const auto quit_at = text.find("  quit ");
  REQUIRE(quit_at != std::string::npos);
  CHECK(text.substr(quit_at, text.find('\n', quit_at) - quit_at).find("leave the console") !=
        std::string::npos);
  // ...aligned with the registry's own entries.
  const auto column = [&](std::string_view what) {
    const auto at = text.find(what);
    return at - text.rfind('\n', at) - 1;
  };
  CHECK(column("leave the console") == column("print TEXT"));
}

TEST_CASE("console: should_stop ends Run promptly without on_exit", "[console]") {
  CommandRegistry registry;
  Pipe in, out, err;
  std::atomic<bool> stop{false};
  int exits = 0;
  Console console(
      registry, [&] { return stop.load(); }, [&] { ++exits; }, ConsoleIo{in.r, out.w, err.w});
  std::thread t([&] { console.Run(); });
  std::this_thread::sleep_for(150ms);
  const auto t0 = Clock::now();
  stop = true;
  t.join();
  CHECK(Clock::now() - t0 < 800ms);
  CHECK(exits == 0);
}

// A pseudo-terminal: the console gets the slave side as its terminal, the
// test types on the master side and reads what the user would see.
class Pty {
 public:
  Pty() {
    master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(master_ >= 0);
    REQUIRE(grantpt(master_) == 0);
    REQUIRE(unlockpt(master_) == 0);
    slave_ = open(ptsname(master_), O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(slave_ >= 0);
  }
  ~Pty() {
    CloseMaster();
    if (slave_ >= 0) close(slave_);
  }
  int slave() const { return slave_; }
  // Hangs up: a console still running sees the terminal go away.
  void CloseMaster() {
    if (master_ >= 0) close(master_);
    master_ = -1;
  }

  void Type(std::string_view keys) {
    REQUIRE(write(master_, keys.data(), keys.size()) == static_cast<ssize_t>(keys.size()));
  }
  // Reads the screen until `needle` appears in what was read since the last
  // Expect (returns all of it), or fails after a timeout. The screen is
  // compared without '\r' and without VT100 escape sequences.
  std::string Expect(std::string_view needle, std::chrono::milliseconds limit = 5s) {
    const auto deadline = Clock::now() + limit;
    while (screen_.find(needle) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{master_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      const ssize_t n = read(master_, buf, sizeof(buf));
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) Feed(buf[i]);
    }
    INFO("screen: " << screen_);
    REQUIRE(screen_.find(needle) != std::string::npos);
    std::string seen = screen_.substr(0, screen_.find(needle) + needle.size());
    screen_.erase(0, seen.size());
    return seen;
  }

 private:
  // Drops '\r' and ESC [ ... final-letter sequences, across reads.
  void Feed(char c) {
    if (in_escape_) {
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '~') in_escape_ = false;
      return;
    }
    if (c == '\x1b') {
      in_escape_ = true;
      return;
    }
    if (c != '\r') screen_ += c;
  }

  int master_ = -1;
  int slave_ = -1;
  std::string screen_;      // read but not yet consumed by Expect, cleaned
  bool in_escape_ = false;  // inside an escape sequence
};

// Runs a console on a thread; if a check fails half-way, hanging up the
// terminal ends the console so the thread can still be joined.
class ConsoleThread {
 public:
  ConsoleThread(Console& console, Pty& pty) : pty_(pty), thread_([&console] { console.Run(); }) {}
  ~ConsoleThread() {
    if (thread_.joinable()) {
      pty_.CloseMaster();
      thread_.join();
    }
  }
  void Join() { thread_.join(); }

 private:
  Pty& pty_;
  std::thread thread_;
};

TEST_CASE("console: terminal prompt, completion, commands and Ctrl-D", "[console]") {
  CommandRegistry registry;
  RegisterTestCommands(registry);
  Pty pty;
  Pipe err;
  std::atomic<int> exits{0};
  Console console(
      registry, nullptr, [&] { ++exits; }, ConsoleIo{pty.slave(), pty.slave(), err.w});
  ConsoleThread t(console, pty);

  pty.Expect("dpswitch> ");
  // First word completion: "ec" + TAB -> "echo ".
  pty.Type("ec\t");
  pty.Expect("echo ");
  pty.Type("hi \"there you\"\r");
  pty.Expect("hi there you");
  pty.Expect("dpswitch> ");

  // Second and third words of multi-word commands complete too.
  pty.Type("sh\t");
  pty.Expect("show ");
  pty.Type("po\t");
  pty.Expect("ports ");
  pty.Type("\r");
  pty.Expect("PORTS-TABLE");
  pty.Type("show pm\tst\t\r");
  pty.Expect("PMD-STATS");
  pty.Expect("dpswitch> ");

  // TAB on an open choice lists each candidate once, with usage and help.
  const auto count = [](const std::string& text, std::string_view what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  pty.Type("\t");
  std::string listing = pty.Expect("dpswitch> ");
  CHECK(count(listing, "\n echo [[TEXT]]: print TEXT\n") == 1);
  CHECK(count(listing, "\n fail [no args]: always fails\n") == 1);
  CHECK(count(listing, "\n show [pmd stats | ports]: see 'help show'\n") == 1);
  CHECK(count(listing, "\n quit [no args]") == 1);
  CHECK(count(listing, "\n ") == 6);  // echo exit fail help quit show, nothing else
  pty.Type("show \t");
  listing = pty.Expect("dpswitch> show ");
  CHECK(count(listing, "\n pmd [stats]: see 'help show pmd'\n") == 1);
  CHECK(count(listing, "\n ports [no args]: ports\n") == 1);
  CHECK(count(listing, "\n ") == 2);
  pty.Type("ports \t");
  listing = pty.Expect("dpswitch> show ports ");
  CHECK(count(listing, "[RETURN]") == 1);
  pty.Type("\x03");  // Ctrl-C: abandon the line
  pty.Expect("dpswitch> ");
  pty.Type("echo \t");
  listing = pty.Expect("dpswitch> echo ");
  CHECK(count(listing, " [[TEXT]]: print TEXT") == 1);
  pty.Type("\x03");  // Ctrl-C: abandon the line

  // Commands without arguments, errors, unknown commands.
  pty.Type("fail\r");
  CHECK(err.Drain(2s) == "no luck\n");
  pty.Type("nosuch\r");
  CHECK(err.Drain(2s).find("unknown command 'nosuch'") != std::string::npos);

  // Lines with '#' inside reach the registry whole.
  pty.Type("echo a#b\r");
  pty.Expect("a#b\n");

  // Ctrl-C abandons the line being typed.
  pty.Type("echo never\x03");
  pty.Type("echo after-ctrl-c\r");
  const std::string screen = pty.Expect("after-ctrl-c\n");
  CHECK(screen.find("echo never\n") != std::string::npos);  // typed...
  CHECK(screen.find("\nnever\n") == std::string::npos);     // ...but never run

  // Ctrl-D on an empty line ends the console and calls on_exit.
  pty.Type("\x04");
  t.Join();
  CHECK(exits == 1);
}

TEST_CASE("console: quit on a terminal", "[console]") {
  CommandRegistry registry;
  RegisterTestCommands(registry);
  Pty pty;
  int exits = 0;
  Console console(
      registry, nullptr, [&] { ++exits; }, ConsoleIo{pty.slave(), pty.slave(), 2});
  ConsoleThread t(console, pty);
  pty.Expect("dpswitch> ");
  pty.Type("help\r");
  pty.Expect("quit            leave the console");
  pty.Type("qu\t\r");
  t.Join();
  CHECK(exits == 1);
}

TEST_CASE("console: a hung-up terminal ends the console like EOF", "[console]") {
  CommandRegistry registry;
  Pty pty;
  int exits = 0;
  Console console(
      registry, nullptr, [&] { ++exits; }, ConsoleIo{pty.slave(), pty.slave(), 2});
  ConsoleThread t(console, pty);
  pty.Expect("dpswitch> ");
  pty.CloseMaster();
  t.Join();
  CHECK(exits == 1);
}

TEST_CASE("console: should_stop ends a terminal session", "[console]") {
  CommandRegistry registry;
  Pty pty;
  std::atomic<bool> stop{false};
  int exits = 0;
  Console console(
      registry, [&] { return stop.load(); }, [&] { ++exits; },
      ConsoleIo{pty.slave(), pty.slave(), 2});
  ConsoleThread t(console, pty);
  pty.Expect("dpswitch> ");
  stop = true;
  t.Join();
  CHECK(exits == 0);
}

}  // namespace
}  // namespace dpswitch::control
