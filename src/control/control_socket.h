// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The control socket: a Unix stream socket through which dpswitch-ctl (or any
// script) runs console commands on a running daemon.
//
// Protocol, one request per connection:
//   client -> server  one command line, UTF-8, ending in '\n' (at most
//                     kMaxRequest bytes including the '\n')
//   server -> client  "OK\n" or "ERROR\n", then the command's text (ending in
//                     '\n' when not empty); then the server closes its side.
// Bytes after the first '\n' are ignored. Malformed requests (too long, not
// UTF-8, control characters, EOF before '\n', nothing sent within the I/O
// timeout) get an ERROR reply explaining why. A connection that sends nothing
// at all and closes (a liveness probe) is closed silently.
//
// One thread serves every connection with poll(): sockets are non-blocking
// and each connection carries its own deadline, so a silent or slow client
// delays nobody else (only a slow command does: commands run one at a time on
// this thread, serialised with the console by CommandRegistry::Execute). A
// self-pipe wakes the thread so Stop() returns at once.
//
// Start() refuses to take over a path where another live server listens
// (found by connecting to it), replaces a stale socket file left by a crashed
// daemon, never removes a non-socket file, and creates missing parent
// directories. The socket file is made 0660: whoever can connect controls the
// switch. Stop() removes the file if it is still ours.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "control/commands.h"

namespace dpswitch::control {

class ControlSocketError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ControlSocket {
 public:
  // Largest request line, '\n' included.
  static constexpr std::size_t kMaxRequest = 64 * 1024;

  struct Options {
    // A connection must deliver its request, and then accept its reply,
    // within this time (the reply deadline restarts whenever bytes move).
    std::chrono::milliseconds io_timeout{5000};
    // Connections served at once; more are answered ERROR and closed.
    std::size_t max_connections = 32;
  };

  // Runs each request line through `handler` (on the socket thread).
  using Handler = std::function<CommandResult(std::string_view line)>;

  ControlSocket(std::string path, CommandRegistry& registry);
  ControlSocket(std::string path, CommandRegistry& registry, Options options);
  ControlSocket(std::string path, Handler handler, Options options);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Binds and starts the thread. Throws ControlSocketError (naming the path)
  // when another server is live there, the path is not a socket, or any
  // system call fails.
  void Start();
  // Stops the thread, closes every connection, unlinks the socket. Idempotent.
  void Stop();

  bool running() const { return thread_.joinable(); }
  const std::string& path() const { return path_; }
  // Replies sent, and how many of them were ERROR (both monotonic).
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  struct Conn;

  void Serve();
  void Accept(std::vector<Conn>& conns);
  void OnReadable(Conn& c);
  void OnWritable(Conn& c);
  void Reply(Conn& c, bool ok, std::string text);

  const std::string path_;  // as given; relative to the working directory
  const Handler handler_;   // called on the socket thread only
  const Options options_;

  int listen_fd_ = -1;             // owned by Start/Stop; used by the thread in between
  int wake_fds_[2] = {-1, -1};     // self-pipe: Stop() writes [1], the thread polls [0]
  uint64_t socket_dev_ = 0;        // identity of the socket file we bound, so Stop()
  uint64_t socket_ino_ = 0;        // never unlinks a successor's socket
  std::thread thread_;             // the server thread
  std::atomic<bool> stop_{false};  // written by Stop(), read by the thread
  // Written by the server thread, read by anyone.
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> errors_{0};
};

// Client side of the protocol: sends `line`, waits up to `timeout` for the
// whole reply. Throws ControlSocketError when the server cannot be reached,
// times out or replies malformed. (dpswitch-ctl carries its own copy so that
// it links nothing.)
CommandResult ControlRequest(const std::string& path, std::string_view line,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace dpswitch::control
