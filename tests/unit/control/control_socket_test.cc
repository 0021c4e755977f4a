// SPDX-License-Identifier: BSD-3-Clause
// The control socket server, its client function, and the real dpswitch-ctl
// binary against it.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "control/control_socket.h"
#include "control_test_util.h"

namespace dpswitch::control {
namespace {

using namespace std::chrono_literals;
using Args = std::vector<std::string>;
using Clock = std::chrono::steady_clock;
using testing::TempDir;

// echo: its arguments joined by spaces; args: joined by '|'; fail: an error;
// big: N bytes of text.
void RegisterTestCommands(CommandRegistry& r) {
  r.Register("echo", "[TEXT]", "", [](const Args& a) { return Ok(JoinArgs(a)); });
  r.Register("args", "", "", [](const Args& a) {
    std::string out;
    for (const auto& x : a) out += "|" + x;
    return Ok(out);
  });
  r.Register("fail", "", "", [](const Args&) { return Error("no luck"); });
  r.Register("big", "N", "",
             [](const Args& a) { return Ok(std::string(std::stoul(a.at(0)), 'x')); });
}

int RawConnect(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads until EOF (or `limit` passes; then returns what came).
std::string ReadAll(int fd, std::chrono::milliseconds limit = 10s) {
  std::string out;
  const auto deadline = Clock::now() + limit;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// A bound socket file with nobody listening: what a crashed daemon leaves.
void MakeStaleSocket(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  close(fd);
}

bool IsSocket(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

TEST_CASE("control socket: commands, errors and counters", "[control_socket]") {
  TempDir dir;
  CommandRegistry registry;
  RegisterTestCommands(registry);
  const std::string path = dir / "run/sub/dps.ctl";  // parents are created
  ControlSocket server(path, registry);
  server.Start();
  CHECK(server.running());
  CHECK(IsSocket(path));
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);

  auto r = ControlRequest(path, "echo hello   world");
  CHECK(r.ok);
  CHECK(r.text == "hello world\n");  // a final newline is added
  r = ControlRequest(path, "args table=0,ip,actions=resubmit(,1) \"a b\"");
  CHECK(r.text == "|table=0,ip,actions=resubmit(,1)|a b\n");
  r = ControlRequest(path, "fail");
  CHECK_FALSE(r.ok);
  CHECK(r.text == "no luck\n");
  r = ControlRequest(path, "nonsense");
  CHECK_FALSE(r.ok);
  CHECK(r.text.find("unknown command 'nonsense'") != std::string::npos);
  r = ControlRequest(path, "");
  CHECK(r.ok);
  CHECK(r.text.empty());
  CHECK(server.requests() == 5);
  CHECK(server.errors() == 2);
}

TEST_CASE("control socket: malformed and oversized requests get ERROR", "[control_socket]") {
  TempDir dir;
  CommandRegistry registry;
  RegisterTestCommands(registry);
  ControlSocket server(dir / "s", registry);
  server.Start();

  // Exactly at the limit is fine: 65535 bytes plus the newline.
  const std::string at_limit = "echo " + std::string(ControlSocket::kMaxRequest - 6, 'y');
  auto r = ControlRequest(server.path(), at_limit);
  CHECK(r.ok);
  CHECK(r.text.size() == ControlSocket::kMaxRequest - 6 + 1);

  // One byte more is not, nor is a request far beyond.
  for (std::size_t size : {ControlSocket::kMaxRequest - 5, std::size_t{1} << 20}) {
    INFO(size);
    r = ControlRequest(server.path(), "echo " + std::string(size, 'z'));
    CHECK_FALSE(r.ok);
    CHECK(r.text.find("request too long (limit 65536 bytes)") != std::string::npos);
  }

  const auto raw = [&](std::string_view bytes) {
    const int fd = RawConnect(server.path());
    SendAll(fd, bytes);
    shutdown(fd, SHUT_WR);
    std::string reply = ReadAll(fd);
    close(fd);
    return reply;
  };
  CHECK(raw("echo no newline") == "ERROR\nrequest does not end with a newline\n");
  CHECK(raw("echo \xff\xfe\n").rfind("ERROR\nrequest is not valid UTF-8", 0) == 0);
  CHECK(raw("echo \xc0\xaf\n").rfind("ERROR\nrequest is not valid UTF-8", 0) == 0);  // overlong
  CHECK(raw(std::string("echo a\0b\n", 9)).rfind("ERROR\nrequest contains a control", 0) == 0);
  CHECK(raw("echo caf\xc3\xa9 \xe2\x82\xac\n") == "OK\ncaf\xc3\xa9 \xe2\x82\xac\n");  // UTF-8 ok
  CHECK(raw("echo crlf\r\n") == "OK\ncrlf\n");
  CHECK(raw("echo one\necho two\n") == "OK\none\n");  // one request per connection
  CHECK(raw("") == "");                               // a probe: closed silently

  // The server is still fine after all that.
  CHECK(ControlRequest(server.path(), "echo alive").text == "alive\n");
}

TEST_CASE("control socket: a silent client delays nobody and times out", "[control_socket]") {
  TempDir dir;
  CommandRegistry registry;
  RegisterTestCommands(registry);
  ControlSocket::Options options;
  options.io_timeout = 3000ms;
  ControlSocket server(dir / "s", registry, options);
  server.Start();

  const int silent = RawConnect(server.path());
  const int partial = RawConnect(server.path());
  SendAll(partial, "ech");

  const auto t0 = Clock::now();
  const auto r = ControlRequest(server.path(), "echo second", 5s);
  CHECK(r.text == "second\n");
  CHECK(Clock::now() - t0 < 2000ms);  // not held up until the silent ones time out

  CHECK(ReadAll(silent) == "ERROR\ntimed out waiting for the request\n");
  CHECK(ReadAll(partial) == "ERROR\ntimed out waiting for the end of the request (no newline)\n");
  CHECK(Clock::now() - t0 >= 2900ms);
  close(silent);
  close(partial);
  CHECK(server.errors() == 2);
}

TEST_CASE("control socket: large replies stream to a slow reader", "[control_socket]") {
  TempDir dir;
  CommandRegistry registry;
  RegisterTestCommands(registry);
  ControlSocket server(dir / "s", registry);
  server.Start();
  const auto r = ControlRequest(server.path(), "big 4000000");
  CHECK(r.ok);
  CHECK(r.text.size() == 4000001);
  // Meanwhile-style check: a client reading slowly still gets every byte.
  const int fd = RawConnect(server.path());
  SendAll(fd, "big 1000000\n");
  std::this_thread::sleep_for(200ms);
  CHECK(ReadAll(fd).size() == 3 + 1000001);
  close(fd);
}

TEST_CASE("control socket: too many connections are refused politely", "[control_socket]") {
  TempDir dir;
  CommandRegistry registry;
  RegisterTestCommands(registry);
  ControlSocket::Options options;
  options.max_connections = 2;
  ControlSocket server(dir / "s", registry, options);
  server.Start();
  const int a = RawConnect(server.path());
  const int b = RawConnect(server.path());
  std::this_thread::sleep_for(100ms);  // let the server accept them
  const auto r = ControlRequest(server.path(), "echo third");
  CHECK_FALSE(r.ok);
  CHECK(r.text == "too many control connections\n");
  close(a);
  close(b);
  std::this_thread::sleep_for(100ms);
  CHECK(ControlRequest(server.path(), "echo fourth").text == "fourth\n");
}

TEST_CASE("control socket: stale files, live servers and non-sockets", "[control_socket]") {
  TempDir dir;
  CommandRegistry registry;
  RegisterTestCommands(registry);
  const std::string path = dir / "s";

  SECTION("a stale socket file is replaced") {
    MakeStaleSocket(path);
    REQUIRE(IsSocket(path));
    ControlSocket server(path, registry);
    server.Start();
    CHECK(ControlRequest(path, "echo fresh").text == "fresh\n");
  }
  SECTION("a live server is not taken over") {
    ControlSocket first(path, registry);
    first.Start();
    ControlSocket second(path, registry);
    try {
      second.Start();
      FAIL("second server started");
    } catch (const ControlSocketError& e) {
      CHECK(std::string(e.what()).find("already serving control socket '" + path + "'") !=
            std::string::npos);
    }
    CHECK_FALSE(second.running());
    CHECK(ControlRequest(path, "echo first").text == "first\n");
    CHECK(first.errors() == 0);  // the liveness probe is not an error
  }
  SECTION("a regular file is never removed") {
    std::ofstream(path) << "precious";
    ControlSocket server(path, registry);
    try {
      server.Start();
      FAIL("started over a regular file");
    } catch (const ControlSocketError& e) {
      CHECK(std::string(e.what()).find("not a socket") != std::string::npos);
    }
    std::ifstream in(path);
    std::string content;
    in >> content;
    CHECK(content == "precious");
  }
  SECTION("an impossible path is reported") {
    ControlSocket server(dir.path() + "/" + std::string(120, 'p'), registry);
    CHECK_THROWS_WITH(server.Start(), Catch::Contains("too long"));
    ControlSocket empty("", registry);
    CHECK_THROWS_WITH(empty.Start(), Catch::Contains("empty"));
  }
}

TEST_CASE("control socket: Stop is prompt, unlinks, and can restart", "[control_socket]") {
  TempDir dir;
  CommandRegistry registry;
  RegisterTestCommands(registry);
  const std::string path = dir / "s";
  ControlSocket server(path, registry);
  server.Start();
  const int silent = RawConnect(path);  // must not delay Stop
  const auto t0 = Clock::now();
  server.Stop();
  CHECK(Clock::now() - t0 < 800ms);  // woken at once, not at the next poll timeout
  CHECK_FALSE(server.running());
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(ReadAll(silent, 1s).empty());  // closed without a reply
  close(silent);
  server.Stop();  // idempotent

  server.Start();
  CHECK(ControlRequest(path, "echo again").text == "again\n");
  server.Stop();

  // Stop never removes a socket that another server bound since.
  ControlSocket old_server(path, registry);
  old_server.Start();
  std::filesystem::remove(path);
  ControlSocket new_server(path, registry);
  new_server.Start();
  old_server.Stop();
  CHECK(IsSocket(path));
  CHECK(ControlRequest(path, "echo new").text == "new\n");
}

TEST_CASE("control socket: ControlRequest reports an absent server", "[control_socket]") {
  TempDir dir;
  CHECK_THROWS_WITH(ControlRequest(dir / "none", "echo"),
                    Catch::Contains("cannot connect to control socket '" + (dir / "none") + "'"));
}

#ifdef DPSWITCH_CTL_PATH
TEST_CASE("dpswitch-ctl: against a live server", "[control_socket][ctl]") {
  const std::string ctl = DPSWITCH_CTL_PATH;
  REQUIRE(std::filesystem::exists(ctl));
  TempDir dir;
  CommandRegistry registry;
  RegisterTestCommands(registry);
  const std::string path = dir / "dps.ctl";
  ControlSocket server(path, registry);
  server.Start();
  using testing::RunProcess;

  auto r = RunProcess({ctl, "--socket", path, "echo", "hello", "world"});
  CHECK(r.status == 0);
  CHECK(r.out == "hello world\n");
  CHECK(r.err.empty());

  // Arguments with spaces and quotes arrive as the same arguments.
  r = RunProcess({ctl, "--socket=" + path, "args", "table=0 priority=5 actions=drop", "say \"hi\"",
                  "it's", "", "table=0,ip,nw_dst=10.0.0.0/8,actions=output:2"});
  CHECK(r.status == 0);
  CHECK(r.out ==
        "|table=0 priority=5 actions=drop|say \"hi\"|it's||table=0,ip,nw_dst=10.0.0.0/8,"
        "actions=output:2\n");

  r = RunProcess({ctl, "--socket", path, "fail"});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "no luck\n");

  r = RunProcess({ctl, "--socket", path, "--timeout", "5", "nonsense"});
  CHECK(r.status == 1);
  CHECK(r.err.find("unknown command 'nonsense'") != std::string::npos);

  // The environment names the default socket; --socket still wins.
  r = RunProcess({ctl, "echo", "via", "env"}, {"DPSWITCH_CTL_SOCKET=" + path});
  CHECK(r.status == 0);
  CHECK(r.out == "via env\n");
  r = RunProcess({ctl, "--socket", dir / "nowhere", "echo"}, {"DPSWITCH_CTL_SOCKET=" + path});
  CHECK(r.status == 2);
  CHECK(r.err.find(dir / "nowhere") != std::string::npos);

  r = RunProcess({ctl, "--help"});
  CHECK(r.status == 0);
  CHECK(r.out.find("Usage: dpswitch-ctl") != std::string::npos);
  r = RunProcess({ctl, "--socket", path});
  CHECK(r.status == 2);
  CHECK(r.err.find("no command") != std::string::npos);
  r = RunProcess({ctl, "--frob", "echo"});
  CHECK(r.status == 2);
  r = RunProcess({ctl, "--socket", path, "--timeout", "zero", "echo"});
  CHECK(r.status == 2);
  r = RunProcess({ctl, "--socket", path, "echo", "two\nlines"});
  CHECK(r.status == 2);

  // A daemon that never answers: the client gives up after --timeout.
  ControlSocket::Options slow_options;
  CommandRegistry slow;
  slow.Register("hang", "", "", [](const Args&) {
    std::this_thread::sleep_for(2s);
    return Ok();
  });
  ControlSocket slow_server(dir / "slow.ctl", slow, slow_options);
  slow_server.Start();
  const auto t0 = Clock::now();
  r = RunProcess({ctl, "--socket", dir / "slow.ctl", "--timeout", "0.3", "hang"});
  CHECK(r.status == 2);
  CHECK(r.err.find("timed out") != std::string::npos);
  CHECK(Clock::now() - t0 < 1900ms);
}
#endif

}  // namespace
}  // namespace dpswitch::control
