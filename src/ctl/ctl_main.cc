// SPDX-License-Identifier: BSD-3-Clause
// dpswitch-ctl: runs one console command on a running dpswitch through its
// control socket and prints the answer.
//
// It speaks the control socket protocol (see control/control_socket.h): one
// request line, then "OK\n" or "ERROR\n" and the text. The words of the
// command are joined with spaces, quoting any word that contains whitespace or
// quotes, so `dpswitch-ctl add-flow "table=0 priority=5 actions=drop"` reaches
// the daemon as one argument, exactly as typed at the console.
//
// Standard C++ and POSIX only, so it runs where neither DPDK nor Boost is
// installed.
//
// Exit status: 0 the command succeeded, 1 the command failed (its message is
// on stderr), 2 the daemon could not be reached, timed out, replied garbage,
// or the arguments were wrong.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* kDefaultSocket = "run/dpswitch.ctl";
constexpr const char* kSocketEnv = "DPSWITCH_CTL_SOCKET";
constexpr double kDefaultTimeout = 30;          // seconds; dump commands on big tables take a while
constexpr std::size_t kMaxRequest = 64 * 1024;  // the server's limit, '\n' included
constexpr int kExitOk = 0;
constexpr int kExitCommandFailed = 1;
constexpr int kExitNoDaemon = 2;

using Clock = std::chrono::steady_clock;

void Usage(std::ostream& out) {
  out << "Usage: dpswitch-ctl [--socket PATH] [--timeout SECONDS] COMMAND [ARGS...]\n"
         "\n"
         "Runs COMMAND on a running dpswitch through its control socket\n"
         "(try: dpswitch-ctl help).\n"
         "\n"
         "  --socket PATH      control socket (default: $"
      << kSocketEnv << " or " << kDefaultSocket
      << ")\n"
         "  --timeout SECONDS  give up after this long (default: "
      << kDefaultTimeout
      << ")\n"
         "  --help             this text\n"
         "\n"
         "Exit status: 0 success, 1 the command failed, 2 no answer from dpswitch.\n";
}

// Kept in step with control::QuoteArg: double quotes, \" and \\ escaped.
std::string Quote(std::string_view arg) {
  bool plain = !arg.empty();
  for (char c : arg) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f' || c == '"' ||
        c == '\'') {
      plain = false;
    }
  }
  if (plain) return std::string(arg);
  std::string out = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

struct Failure {
  std::string message;
};

// Sends `request` (without '\n') and returns the raw reply; throws Failure.
std::string Exchange(const std::string& path, const std::string& request, double timeout_s) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    throw Failure{"control socket path '" + path + "' is too long"};
  }
  std::memcpy(addr.sun_path, path.data(), path.size());

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Failure{std::string("socket: ") + std::strerror(errno)};
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    std::string hint;
    if (err == ENOENT || err == ECONNREFUSED) hint = " (is dpswitch running? see --socket)";
    throw Failure{"cannot connect to " + path + ": " + std::strerror(err) + hint};
  }

  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  const auto wait = [&](short events) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) throw Failure{"timed out waiting for " + path};
      pollfd p{fd, events, 0};
      const int rc = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
      if (rc > 0) return;
      if (rc < 0 && errno != EINTR) throw Failure{std::string("poll: ") + std::strerror(errno)};
    }
  };

  const std::string line = request + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    wait(POLLOUT);
    const ssize_t n = send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) break;  // the server answered early
      throw Failure{"cannot send to " + path + ": " + std::strerror(errno)};
    }
    sent += static_cast<std::size_t>(n);
  }
  shutdown(fd, SHUT_WR);

  std::string reply;
  char buf[16384];
  for (;;) {
    wait(POLLIN);
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ECONNRESET && !reply.empty()) break;
      throw Failure{"cannot read from " + path + ": " + std::strerror(errno)};
    }
    reply.append(buf, static_cast<std::size_t>(n));
  }
  return reply;
}

}  // namespace

int main(int argc, char* argv[]) {
  const char* env = std::getenv(kSocketEnv);
  std::string socket_path = env != nullptr && *env != '\0' ? env : kDefaultSocket;
  double timeout_s = kDefaultTimeout;

  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-') break;  // the command starts here
    if (a == "--help" || a == "-h") {
      Usage(std::cout);
      return kExitOk;
    }
    std::string_view value;
    std::string_view name = a;
    if (const auto eq = a.find('='); eq != std::string_view::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (a == "--socket" || a == "--timeout" || a == "-s" || a == "-t") {
      if (i + 1 >= argc) {
        std::cerr << "dpswitch-ctl: " << a << " needs a value\n";
        return kExitNoDaemon;
      }
      value = argv[++i];
    }
    if (name == "--socket" || name == "-s") {
      if (value.empty()) {
        std::cerr << "dpswitch-ctl: --socket needs a path\n";
        return kExitNoDaemon;
      }
      socket_path = value;
    } else if (name == "--timeout" || name == "-t") {
      char* end = nullptr;
      const std::string v(value);
      timeout_s = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(timeout_s > 0)) {
        std::cerr << "dpswitch-ctl: --timeout needs a positive number of seconds, got '" << v
                  << "'\n";
        return kExitNoDaemon;
      }
    } else {
      std::cerr << "dpswitch-ctl: unknown option '" << a << "'\n";
      Usage(std::cerr);
      return kExitNoDaemon;
    }
  }
  if (i >= argc) {
    std::cerr << "dpswitch-ctl: no command given\n";
    Usage(std::cerr);
    return kExitNoDaemon;
  }

  std::string request;
  for (int k = i; k < argc; ++k) {
    const std::string_view arg = argv[k];
    for (char c : arg) {
      if (c == '\n' || c == '\r') {
        std::cerr << "dpswitch-ctl: argument " << (k - i + 1) << " contains a line break\n";
        return kExitNoDaemon;
      }
    }
    if (k > i) request += ' ';
    request += Quote(arg);
  }
  if (request.size() + 1 > kMaxRequest) {
    std::cerr << "dpswitch-ctl: command too long (" << request.size() + 1 << " bytes, limit "
              << kMaxRequest << ")\n";
    return kExitNoDaemon;
  }

  std::string reply;
  try {
    reply = Exchange(socket_path, request, timeout_s);
  } catch (const Failure& f) {
    std::cerr << "dpswitch-ctl: " << f.message << "\n";
    return kExitNoDaemon;
  }
  if (reply.rfind("OK\n", 0) == 0) {
    std::cout << reply.substr(3) << std::flush;
    return kExitOk;
  }
  if (reply.rfind("ERROR\n", 0) == 0) {
    std::cerr << reply.substr(6) << std::flush;
    return kExitCommandFailed;
  }
  std::cerr << "dpswitch-ctl: malformed reply from " << socket_path << "\n";
  return kExitNoDaemon;
}
