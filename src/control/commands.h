// SPDX-License-Identifier: BSD-3-Clause
#pragma once

// The command registry: one table of named commands shared by the interactive
// console and the control socket, so `dpswitch-ctl show ports` and typing
// `show ports` at `dpswitch> ` run the same code and print the same text.
//
// A command name is one to kMaxNameWords words ("dump-flows", "show ports",
// "show pmd stats"). A line is split into tokens on whitespace; "double" and
// 'single' quotes group words (inside double quotes, \" and \\ escape;
// everything else is literal, so flow text such as
// `table=0,ip,actions=resubmit(,1)` needs no quoting). The longest registered
// name wins: with "show ports" and "show" both registered, `show ports 1` runs
// "show ports" with args {"1"}. A line whose first non-blank character is '#'
// is a comment.
//
// Execute() serialises commands with one (recursive) mutex: commands run from
// the socket thread and the console thread but never at the same time, so a
// command may touch control-plane state without locking of its own. A command
// may call Register() or Execute() itself. A command that throws fails with
// the exception's message.

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dpswitch::control {

struct CommandResult {
  bool ok = true;    // false: the text is an error message
  std::string text;  // output for the user; may be empty, may lack a final '\n'
};

// Receives the tokens after the command name.
using CommandFn = std::function<CommandResult(const std::vector<std::string>& args)>;

// Shorthands for command implementations.
inline CommandResult Ok(std::string text = {}) { return {true, std::move(text)}; }
inline CommandResult Error(std::string text) { return {false, std::move(text)}; }

// Splits `line` into tokens (see the essay above). Returns std::nullopt and
// sets `*error` (if given) on an unterminated quote.
std::optional<std::vector<std::string>> Tokenize(std::string_view line,
                                                 std::string* error = nullptr);

// Joins args[first..] with single spaces, for commands taking free text
// ("add-flow" receives the flow however the user spaced or quoted it).
std::string JoinArgs(const std::vector<std::string>& args, std::size_t first = 0);

// Quotes `arg` so that Tokenize() gives it back as one token: returned as is
// when it has no whitespace or quotes and is not empty, else in double quotes
// with \" and \\ escaped.
std::string QuoteArg(std::string_view arg);

// What help knows about a command (the console builds completion from it).
struct CommandInfo {
  std::string name;   // "show ports"
  std::string usage;  // argument synopsis as registered
  std::string help;   // one line
};

class CommandRegistry {
 public:
  static constexpr std::size_t kMaxNameWords = 4;

  CommandRegistry();
  CommandRegistry(const CommandRegistry&) = delete;
  CommandRegistry& operator=(const CommandRegistry&) = delete;

  // `name`: one to kMaxNameWords words, each without quotes, '#', control
  // characters or whitespace (extra spaces between words are ignored).
  // `usage`: the argument synopsis shown after the name by help ("FLOW",
  // "[PORT]"; a usage that already starts with the name is shown as is).
  // `help`: one line. Throws std::invalid_argument on a bad or duplicate name
  // ("help" is built in).
  void Register(std::string_view name, std::string usage, std::string help, CommandFn fn);

  // Runs one command line. Empty or comment line: ok with empty text. Never
  // throws (a throwing command becomes ok=false with the exception's text).
  CommandResult Execute(std::string_view line);

  // All command names, sorted, including "help" (for tests and tools).
  std::vector<std::string> Names() const;

  bool Has(std::string_view name) const;

  // Every command with its usage and help, sorted by name.
  std::vector<CommandInfo> List() const;

  // What the built-in help prints for `args`, with `extra` entries listed as
  // if registered (the console adds its own quit/exit this way). Does not
  // serialise with Execute(): it only reads the table.
  CommandResult HelpFor(const std::vector<std::string>& args,
                        const std::vector<CommandInfo>& extra = {}) const;

 private:
  struct Entry {
    std::string usage;  // argument synopsis, shown after the name
    std::string help;   // one line
    CommandFn fn;       // copied out of the table before it runs
  };

  // Serialises Execute() (socket thread vs console thread). Recursive so that
  // a command may run other commands.
  std::recursive_mutex exec_mu_;
  // Guards commands_: written by Register(), read by Execute()/Names()/Has().
  mutable std::shared_mutex table_mu_;
  // Name ("show ports") -> command; ordered so help lists them sorted.
  std::map<std::string, Entry, std::less<>> commands_;
};

}  // namespace dpswitch::control
