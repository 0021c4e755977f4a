// SPDX-License-Identifier: BSD-3-Clause
#include "control/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <spdlog/spdlog.h>

namespace dpswitch::control {
namespace {

using Clock = std::chrono::steady_clock;

// The longest the thread sleeps in poll() with nothing to do; Stop() does not
// depend on it (the self-pipe wakes the thread), it only bounds how late a
// deadline can be noticed if the clock jumps.
constexpr int kMaxPollMs = 1000;
constexpr std::size_t kReadChunk = 16 * 1024;
// After replying we read and discard until the client closes (so that it is
// never reset while still sending an oversized request), but not forever.
constexpr std::size_t kMaxDrain = 16 * 1024 * 1024;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

sockaddr_un MakeAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty()) throw ControlSocketError("control socket path is empty");
  if (path.size() >= sizeof(addr.sun_path)) {
    throw ControlSocketError("control socket path '" + path + "' is too long (max " +
                             std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// Why `line` is not an acceptable request, or "" when it is: valid UTF-8
// (shortest forms, no surrogates) without control characters except tab.
std::string CheckRequest(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size()) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return "request contains a control character (byte " + std::to_string(i) + ")";
      }
      ++i;
      continue;
    }
    std::size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return "request is not valid UTF-8 (byte " + std::to_string(i) + ")";
    }
    if (i + len > line.size()) return "request is not valid UTF-8 (truncated sequence)";
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(line[i + k]);
      if ((cc & 0xc0) != 0x80) return "request is not valid UTF-8 (byte " + std::to_string(i) + ")";
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return "request is not valid UTF-8 (byte " + std::to_string(i) + ")";
    }
    i += len;
  }
  return {};
}

}  // namespace

// One client connection; lives in Serve()'s vector, touched only by the
// server thread.
struct ControlSocket::Conn {
  enum class State {
    kReading,   // waiting for the request line
    kWriting,   // sending the reply
    kDraining,  // reply sent and our side shut down: discard input until EOF
    kClosed,    // to be removed
  };
  int fd = -1;
  State state = State::kReading;
  std::string in;              // request bytes so far (kReading)
  std::string out;             // the whole reply (kWriting)
  std::size_t out_done = 0;    // bytes of `out` already sent
  std::size_t drained = 0;     // bytes discarded in kDraining
  Clock::time_point deadline;  // when this state gives up
};

ControlSocket::ControlSocket(std::string path, CommandRegistry& registry)
    : ControlSocket(std::move(path), registry, Options{}) {}

ControlSocket::ControlSocket(std::string path, CommandRegistry& registry, Options options)
    : ControlSocket(
          std::move(path), [&registry](std::string_view line) { return registry.Execute(line); },
          options) {}

ControlSocket::ControlSocket(std::string path, Handler handler, Options options)
    : path_(std::move(path)), handler_(std::move(handler)), options_(options) {}

ControlSocket::~ControlSocket() { Stop(); }

void ControlSocket::Start() {
  if (running()) throw ControlSocketError("control socket '" + path_ + "' is already started");
  const sockaddr_un addr = MakeAddress(path_);

  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw ControlSocketError("cannot create directory '" + parent.string() +
                               "' for control socket: " + ec.message());
    }
  }

  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw ControlSocketError("'" + path_ + "' exists and is not a socket; not replacing it");
    }
    // A socket file: is somebody serving it?
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) throw ControlSocketError(Errno("socket"));
    const int rc = connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    const int err = errno;
    close(probe);
    if (rc == 0) {
      throw ControlSocketError("another process is already serving control socket '" + path_ +
                               "' (is dpswitch already running?)");
    }
    if (err != ECONNREFUSED && err != ENOENT) {
      errno = err;
      throw ControlSocketError(Errno("cannot probe control socket '" + path_ + "'"));
    }
    if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
      throw ControlSocketError(Errno("cannot remove stale control socket '" + path_ + "'"));
    }
    spdlog::info("removed stale control socket {}", path_);
  }

  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw ControlSocketError(Errno("socket"));
  const auto fail = [this](const std::string& what) {
    const int err = errno;
    close(listen_fd_);
    listen_fd_ = -1;
    errno = err;
    return ControlSocketError(Errno(what + " control socket '" + path_ + "'"));
  };
  if (bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw fail("cannot bind");
  }
  if (chmod(path_.c_str(), 0660) != 0 || stat(path_.c_str(), &st) != 0) {
    unlink(path_.c_str());
    throw fail("cannot set up");
  }
  socket_dev_ = st.st_dev;
  socket_ino_ = st.st_ino;
  if (listen(listen_fd_, 16) != 0 || pipe2(wake_fds_, O_NONBLOCK | O_CLOEXEC) != 0) {
    unlink(path_.c_str());
    throw fail("cannot listen on");
  }
  stop_.store(false);
  thread_ = std::thread([this] { Serve(); });
  spdlog::info("control socket listening on {}", path_);
}

void ControlSocket::Stop() {
  if (!running()) return;
  stop_.store(true);
  const char byte = 0;
  [[maybe_unused]] const ssize_t n = write(wake_fds_[1], &byte, 1);
  thread_.join();
  close(listen_fd_);
  close(wake_fds_[0]);
  close(wake_fds_[1]);
  listen_fd_ = wake_fds_[0] = wake_fds_[1] = -1;
  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0 && st.st_dev == socket_dev_ && st.st_ino == socket_ino_) {
    unlink(path_.c_str());
  }
  spdlog::debug("control socket {} stopped ({} requests, {} errors)", path_, requests(), errors());
}

void ControlSocket::Serve() {
  std::vector<Conn> conns;
  std::vector<pollfd> fds;
  while (!stop_.load()) {
    // Build the poll set: wake pipe, listener, then one entry per connection.
    const auto now = Clock::now();
    fds.clear();
    fds.push_back({wake_fds_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    auto wait = std::chrono::milliseconds(kMaxPollMs);
    for (const Conn& c : conns) {
      fds.push_back(
          {c.fd, static_cast<short>(c.state == Conn::State::kWriting ? POLLOUT : POLLIN), 0});
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now);
      wait = std::clamp(left + std::chrono::milliseconds(1), std::chrono::milliseconds(0), wait);
    }
    if (poll(fds.data(), fds.size(), static_cast<int>(wait.count())) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("control socket {}: poll failed: {}", path_, std::strerror(errno));
      break;
    }
    if (stop_.load()) break;

    // Connection events first: `conns` matches fds[2..] until Accept() grows it.
    for (std::size_t i = 0; i < conns.size(); ++i) {
      const short ev = fds[i + 2].revents;
      if (ev == 0) continue;
      Conn& c = conns[i];
      if (c.state == Conn::State::kWriting) {
        if (ev & (POLLOUT | POLLERR | POLLHUP)) OnWritable(c);
      } else if (ev & (POLLIN | POLLERR | POLLHUP)) {
        OnReadable(c);
      }
    }
    if (fds[1].revents & POLLIN) Accept(conns);

    // Deadlines.
    const auto later = Clock::now();
    for (Conn& c : conns) {
      if (c.state == Conn::State::kClosed || later < c.deadline) continue;
      switch (c.state) {
        case Conn::State::kReading:
          Reply(c, false,
                c.in.empty() ? "timed out waiting for the request"
                             : "timed out waiting for the end of the request (no newline)");
          break;
        case Conn::State::kWriting:
          spdlog::debug("control socket {}: client stopped reading its reply", path_);
          [[fallthrough]];
        case Conn::State::kDraining:
        case Conn::State::kClosed:
          close(c.fd);
          c.state = Conn::State::kClosed;
          break;
      }
    }
    std::erase_if(conns, [](const Conn& c) { return c.state == Conn::State::kClosed; });
  }
  for (Conn& c : conns) close(c.fd);
}

void ControlSocket::Accept(std::vector<Conn>& conns) {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        spdlog::warn("control socket {}: accept failed: {}", path_, std::strerror(errno));
      }
      return;
    }
    Conn c;
    c.fd = fd;
    c.deadline = Clock::now() + options_.io_timeout;
    if (conns.size() >= options_.max_connections) {
      // Best effort: one non-blocking send, then close.
      static constexpr std::string_view kBusy = "ERROR\ntoo many control connections\n";
      [[maybe_unused]] const ssize_t n = send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL);
      close(fd);
      requests_.fetch_add(1, std::memory_order_relaxed);
      errors_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    conns.push_back(std::move(c));
  }
}

void ControlSocket::OnReadable(Conn& c) {
  char buf[kReadChunk];
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      close(c.fd);  // reset by the client: nobody to answer
      c.state = Conn::State::kClosed;
      return;
    }
    if (n == 0) {  // EOF
      if (c.state == Conn::State::kReading && !c.in.empty()) {
        Reply(c, false, "request does not end with a newline");
        return;
      }
      close(c.fd);  // a probe that sent nothing, or the end of a drain
      c.state = Conn::State::kClosed;
      return;
    }
    if (c.state == Conn::State::kDraining) {
      c.drained += static_cast<std::size_t>(n);
      if (c.drained > kMaxDrain) {
        close(c.fd);
        c.state = Conn::State::kClosed;
        return;
      }
      continue;
    }
    // kReading: look for the end of the line in the new bytes only.
    const std::size_t old = c.in.size();
    c.in.append(buf, static_cast<std::size_t>(n));
    const std::size_t nl = c.in.find('\n', old);
    if (nl == std::string::npos) {
      if (c.in.size() >= kMaxRequest) {
        Reply(c, false, "request too long (limit " + std::to_string(kMaxRequest) + " bytes)");
        return;
      }
      continue;
    }
    if (nl + 1 > kMaxRequest) {
      Reply(c, false, "request too long (limit " + std::to_string(kMaxRequest) + " bytes)");
      return;
    }
    std::string_view line(c.in.data(), nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (const std::string why = CheckRequest(line); !why.empty()) {
      Reply(c, false, why);
      return;
    }
    spdlog::debug("control socket {}: {}", path_, line);
    CommandResult r;
    try {
      r = handler_(line);
    } catch (const std::exception& e) {
      r = Error(e.what());
    }
    Reply(c, r.ok, std::move(r.text));
    return;
  }
}

void ControlSocket::Reply(Conn& c, bool ok, std::string text) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (!ok) errors_.fetch_add(1, std::memory_order_relaxed);
  c.out = ok ? "OK\n" : "ERROR\n";
  c.out += text;
  if (!text.empty() && text.back() != '\n') c.out += '\n';
  c.out_done = 0;
  c.in.clear();
  c.in.shrink_to_fit();
  c.state = Conn::State::kWriting;
  c.deadline = Clock::now() + options_.io_timeout;
  OnWritable(c);  // most replies fit the socket buffer: no extra poll round
}

void ControlSocket::OnWritable(Conn& c) {
  while (c.out_done < c.out.size()) {
    const ssize_t n =
        send(c.fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      close(c.fd);  // the client went away
      c.state = Conn::State::kClosed;
      return;
    }
    c.out_done += static_cast<std::size_t>(n);
    c.deadline = Clock::now() + options_.io_timeout;  // progress restarts the clock
  }
  shutdown(c.fd, SHUT_WR);
  c.out.clear();
  c.out.shrink_to_fit();
  c.state = Conn::State::kDraining;
  c.deadline = Clock::now() + options_.io_timeout;
}

CommandResult ControlRequest(const std::string& path, std::string_view line,
                             std::chrono::milliseconds timeout) {
  const sockaddr_un addr = MakeAddress(path);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ControlSocketError(Errno("socket"));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw ControlSocketError(Errno("cannot connect to control socket '" + path + "'"));
  }
  const auto deadline = Clock::now() + timeout;
  const auto wait_for = [&](short events) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) throw ControlSocketError("timed out talking to control socket '" + path + "'");
      pollfd p{fd, events, 0};
      const int rc = poll(&p, 1, static_cast<int>(std::min<long long>(left, INT32_MAX)));
      if (rc > 0) return;
      if (rc < 0 && errno != EINTR) throw ControlSocketError(Errno("poll"));
    }
  };
  std::string request(line);
  request += '\n';
  std::size_t sent = 0;
  while (sent < request.size()) {
    wait_for(POLLOUT);
    const ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) break;  // server answered early; read it
      throw ControlSocketError(Errno("cannot send to control socket '" + path + "'"));
    }
    sent += static_cast<std::size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[kReadChunk];
  for (;;) {
    wait_for(POLLIN);
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ECONNRESET && !reply.empty()) break;
      throw ControlSocketError(Errno("cannot read from control socket '" + path + "'"));
    }
    reply.append(buf, static_cast<std::size_t>(n));
  }
  for (const auto& [status, ok] : {std::pair{"OK\n", true}, std::pair{"ERROR\n", false}}) {
    if (reply.rfind(status, 0) == 0) return {ok, reply.substr(std::strlen(status))};
  }
  throw ControlSocketError("malformed reply from control socket '" + path + "'");
}

}  // namespace dpswitch::control
