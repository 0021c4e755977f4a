// SPDX-License-Identifier: BSD-3-Clause
#include "control/console.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <new>
#include <string>
#include <vector>

#include <cmdline.h>
#include <cmdline_parse.h>

namespace dpswitch::control {
namespace {

constexpr int kPollMs = 100;  // how often Run() looks at should_stop()

bool IsQuit(const std::vector<std::string>& tokens) {
  return tokens.size() == 1 && (tokens[0] == "quit" || tokens[0] == "exit");
}

// --- librte_cmdline grammar ----------------------------------------------------
//
// librte_cmdline offers, at the word being completed, the choices of that
// position's token in every instruction whose earlier tokens match the line,
// and lists one line per instruction when the choice is open. To list each
// word once, with its own description, there is one instruction per (prefix,
// next word) of the command names: "show" -> [show ...], "show ports" ->
// [silent "show", ports, hint], "show pmd stats" -> [silent "show", silent
// "pmd", stats, hint]... Our token kinds:
//  - Word: a fixed word, completed and listed with a description.
//  - Silent: a fixed word that parses but is invisible to completion (it
//    claims one choice and then fails to produce it, which cmdline skips).
//  - Hint / NoArgs / End: never parse, so no instruction ever matches a whole
//    line; Hint lists the command's usage, NoArgs lists "[RETURN]", End is
//    invisible.
//  - RestOfLine: the one instruction that does match: it takes the whole
//    line when a line is really parsed (res != NULL), fails when cmdline only
//    probes a prefix for completion (res == NULL), and is invisible.

struct WordToken {
  cmdline_token_hdr hdr;  // must be first: cmdline passes &hdr
  const char* word;       // the fixed word
  const char* help;       // shown in brackets by listings (Word and Hint)
};

const WordToken& AsWord(cmdline_parse_token_hdr_t* tk) { return *reinterpret_cast<WordToken*>(tk); }

int ParseWord(cmdline_parse_token_hdr_t* tk, const char* buf, void*, unsigned) {
  const char* w = AsWord(tk).word;
  const std::size_t n = std::strlen(w);
  if (std::strncmp(buf, w, n) != 0 || !cmdline_isendoftoken(buf[n])) return -1;
  return static_cast<int>(n);
}

int OneChoice(cmdline_parse_token_hdr_t*) { return 1; }

int WordChoice(cmdline_parse_token_hdr_t* tk, int idx, char* dst, unsigned size) {
  const char* w = AsWord(tk).word;
  if (idx != 0 || std::strlen(w) + 1 > size) return -1;
  std::strcpy(dst, w);
  return 0;
}

int NoChoice(cmdline_parse_token_hdr_t*, int, char*, unsigned) { return -1; }

int WordHelp(cmdline_parse_token_hdr_t* tk, char* dst, unsigned size) {
  std::snprintf(dst, size, "%s", AsWord(tk).help);
  return 0;
}

int ParseNever(cmdline_parse_token_hdr_t*, const char*, void*, unsigned) { return -1; }

int ParseRestOfLine(cmdline_parse_token_hdr_t*, const char* buf, void* res, unsigned ressize) {
  if (res == nullptr) return -1;
  unsigned n = 0;
  while (buf[n] != '\0' && buf[n] != '\n' && buf[n] != '\r') ++n;
  if (n + 1 > ressize) return -1;
  std::memcpy(res, buf, n);
  static_cast<char*>(res)[n] = '\0';
  return static_cast<int>(n);
}

cmdline_token_ops word_ops = {ParseWord, OneChoice, WordChoice, WordHelp};
cmdline_token_ops silent_ops = {ParseWord, OneChoice, NoChoice, nullptr};
cmdline_token_ops hint_ops = {ParseNever, nullptr, nullptr, WordHelp};
cmdline_token_ops no_args_ops = {ParseNever, nullptr, nullptr, nullptr};
cmdline_token_ops end_ops = {ParseNever, OneChoice, NoChoice, nullptr};
cmdline_token_ops rest_of_line_ops = {ParseRestOfLine, OneChoice, NoChoice, nullptr};

// The usage without a leading command name ("add-flow FLOW" -> "FLOW").
std::string ArgsOf(const CommandInfo& c) {
  if (c.usage.compare(0, c.name.size(), c.name) == 0 &&
      (c.usage.size() == c.name.size() || c.usage[c.name.size()] == ' ')) {
    const auto rest = c.usage.find_first_not_of(' ', c.name.size());
    return rest == std::string::npos ? "" : c.usage.substr(rest);
  }
  return c.usage;
}

// Owns every instruction, token and string of one cmdline context. Tokens and
// strings live in deques so their addresses stay put while the grammar grows.
class Grammar {
 public:
  using Callback = void (*)(void*, cmdline*, void*);

  Grammar(const std::vector<CommandInfo>& commands, Callback on_line, void* data) {
    // What may follow each prefix: prefix -> next word -> the commands below.
    struct Next {
      const CommandInfo* command = nullptr;  // prefix + word is this command
      std::vector<std::string> below;        // longer names continuing it
    };
    std::map<std::vector<std::string>, std::map<std::string, Next>> tree;
    for (const auto& c : commands) {
      const auto words = Tokenize(c.name).value_or(std::vector<std::string>{});
      for (std::size_t k = 0; k < words.size(); ++k) {
        const std::vector<std::string> prefix(words.begin(),
                                              words.begin() + static_cast<std::ptrdiff_t>(k));
        Next& next = tree[prefix][words[k]];
        if (k + 1 == words.size()) {
          next.command = &c;
        } else {
          std::string rest;
          for (std::size_t j = k + 1; j < words.size(); ++j)
            rest += (rest.empty() ? "" : " ") + words[j];
          next.below.push_back(rest);
        }
      }
    }

    Add(on_line, data, nullptr, {Token(rest_of_line_ops, "", "")});
    for (const auto& [prefix, nexts] : tree) {
      for (const auto& [word, next] : nexts) {
        std::vector<cmdline_parse_token_hdr_t*> tokens;
        for (const auto& p : prefix) tokens.push_back(Token(silent_ops, p, ""));
        std::string whole;
        for (const auto& p : prefix) whole += p + " ";
        whole += word;
        if (next.command != nullptr) {
          const std::string args = ArgsOf(*next.command);
          tokens.push_back(Token(word_ops, word, args.empty() ? "no args" : args));
          tokens.push_back(args.empty() ? Token(no_args_ops, "", "") : Token(hint_ops, "", args));
          Add(on_line, data, Keep(next.command->help), tokens);
        } else {
          std::string below;
          for (const auto& b : next.below) below += (below.empty() ? "" : " | ") + b;
          if (below.size() > 48) below = below.substr(0, 45) + "...";
          tokens.push_back(Token(word_ops, word, below));
          tokens.push_back(Token(end_ops, "", ""));
          Add(on_line, data, Keep("see 'help " + whole + "'"), tokens);
        }
      }
    }
    ctx_.push_back(nullptr);
  }

  ~Grammar() {
    for (cmdline_parse_inst_t* inst : ctx_) std::free(inst);
  }
  Grammar(const Grammar&) = delete;
  Grammar& operator=(const Grammar&) = delete;

  cmdline_parse_ctx_t* ctx() { return ctx_.data(); }

 private:
  const char* Keep(const std::string& s) { return strings_.emplace_back(s).c_str(); }

  cmdline_parse_token_hdr_t* Token(cmdline_token_ops& ops, const std::string& word,
                                   const std::string& help) {
    WordToken& t = tokens_.emplace_back();
    t.hdr = {&ops, 0};
    t.word = Keep(word);
    t.help = Keep(help);
    return &t.hdr;
  }

  void Add(Callback f, void* data, const char* help,
           const std::vector<cmdline_parse_token_hdr_t*>& tokens) {
    // cmdline_parse_inst_t ends in a flexible array of token pointers.
    const std::size_t bytes =
        sizeof(cmdline_parse_inst_t) + (tokens.size() + 1) * sizeof(cmdline_parse_token_hdr_t*);
    auto* inst = static_cast<cmdline_parse_inst_t*>(std::calloc(1, bytes));
    if (inst == nullptr) throw std::bad_alloc();
    inst->f = f;
    inst->data = data;
    inst->help_str = help;
    std::size_t i = 0;
    for (auto* t : tokens) inst->tokens[i++] = t;
    inst->tokens[i] = nullptr;
    ctx_.push_back(inst);
  }

  std::deque<std::string> strings_;         // words, helps, usages
  std::deque<WordToken> tokens_;            // every token of every instruction
  std::vector<cmdline_parse_inst_t*> ctx_;  // NULL-terminated instruction list
};

// State shared with the cmdline callback for one terminal session.
struct Session {
  Console* console;
  cmdline* cl = nullptr;
  bool quit = false;  // the user typed quit/exit
};

void OnLine(void* parsed, cmdline* cl, void* data) {
  auto* session = static_cast<Session*>(data);
  if (!session->console->HandleLine(static_cast<const char*>(parsed))) {
    session->quit = true;
    cmdline_quit(cl);
  }
}

// Puts the terminal in the mode librte_cmdline expects (no canonical mode, no
// echo, no signals) and restores it on scope exit, exceptions included.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace

Console::Console(CommandRegistry& registry, std::function<bool()> should_stop,
                 std::function<void()> on_exit, ConsoleIo io)
    : registry_(registry),
      should_stop_(std::move(should_stop)),
      on_exit_(std::move(on_exit)),
      io_(io) {}

void Console::Write(int fd, std::string_view text) const {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::vector<CommandInfo> Console::OwnCommands() const {
  std::vector<CommandInfo> own;
  for (const char* word : {"quit", "exit"}) {
    if (!registry_.Has(word)) own.push_back({word, "", "leave the console (Ctrl-D too)"});
  }
  return own;
}

bool Console::HandleLine(std::string_view line) {
  const auto tokens = Tokenize(line);
  const bool quit = tokens && IsQuit(*tokens);
  // quit/exit end the console; when the registry has them too (the daemon's
  // "stop the switch"), they also run.
  if (quit && !registry_.Has((*tokens)[0])) return false;
  CommandResult r;
  if (tokens && !tokens->empty() && (*tokens)[0] == "help") {
    // The registry's help, plus the console's own quit/exit.
    r = registry_.HelpFor(std::vector<std::string>(tokens->begin() + 1, tokens->end()),
                          OwnCommands());
  } else {
    r = registry_.Execute(line);
  }
  if (!r.ok && r.text.empty()) r.text = "command failed";
  if (!r.text.empty() && r.text.back() != '\n') r.text += '\n';
  Write(r.ok ? io_.out_fd : io_.err_fd, r.text);
  return !quit;
}

void Console::Run() {
  if (isatty(io_.in_fd)) {
    RunTerminal();
  } else {
    RunLines();
  }
}

void Console::RunTerminal() {
  Session session{this};
  std::vector<CommandInfo> commands = registry_.List();
  for (auto& own : OwnCommands()) commands.push_back(std::move(own));
  Grammar grammar(commands, OnLine, &session);
  RawTerminal raw(io_.in_fd);
  // cmdline_free() closes descriptors above 2: give it copies.
  const int in = dup(io_.in_fd);
  const int out = dup(io_.out_fd);
  session.cl = cmdline_new(grammar.ctx(), kPrompt, in, out);
  if (session.cl == nullptr) {
    close(in);
    close(out);
    Write(io_.err_fd, "console: cannot start librte_cmdline\n");
    return;
  }
  bool user_ended = false;
  for (;;) {
    if (should_stop_ && should_stop_()) break;
    pollfd p{io_.in_fd, POLLIN, 0};
    const int rc = poll(&p, 1, kPollMs);
    if (rc < 0 && errno != EINTR) {
      user_ended = true;
      break;
    }
    if (rc <= 0) continue;
    if ((p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0 || (p.revents & POLLIN) == 0) {
      // The terminal went away.
      user_ended = true;
      break;
    }
    // One key per call; Ctrl-D on an empty line and quit/exit end the session.
    const int status = cmdline_poll(session.cl);
    if (session.quit || status < 0 || status == RDLINE_EXITED) {
      user_ended = true;
      break;
    }
  }
  // Leave the shell's next prompt on a line of its own (quit already did).
  if (!session.quit) Write(io_.out_fd, "\n");
  cmdline_free(session.cl);
  if (user_ended && on_exit_) on_exit_();
}

void Console::RunLines() {
  std::string pending;
  char buf[4096];
  bool user_ended = false;
  while (!user_ended) {
    if (should_stop_ && should_stop_()) return;
    pollfd p{io_.in_fd, POLLIN, 0};
    const int rc = poll(&p, 1, kPollMs);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    const ssize_t n = read(io_.in_fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (n == 0) {  // EOF: a last line without '\n' still runs
      if (!pending.empty()) HandleLine(pending);
      break;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!HandleLine(line)) {
        user_ended = true;
        break;
      }
      if (should_stop_ && should_stop_()) return;
    }
    pending.erase(0, start);
  }
  if (on_exit_) on_exit_();
}

}  // namespace dpswitch::control
