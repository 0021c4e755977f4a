// SPDX-License-Identifier: BSD-3-Clause
#include "control/commands.h"

#include <algorithm>
#include <exception>
#include <stdexcept>

namespace dpswitch::control {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n\v\f";
// help aligns descriptions after the longest "name usage", capped so one
// long usage does not push every description off the screen.
constexpr std::size_t kMaxHelpColumn = 40;
// librte_cmdline completes words up to 127 bytes; names are far shorter.
constexpr std::size_t kMaxWordSize = 64;

bool IsSpace(char c) { return kWhitespace.find(c) != std::string_view::npos; }

// "name usage" as help shows it; a usage that already starts with the name is
// taken as the whole synopsis.
std::string Synopsis(const std::string& name, const std::string& usage) {
  if (usage.empty()) return name;
  const bool has_name = usage.compare(0, name.size(), name) == 0 &&
                        (usage.size() == name.size() || IsSpace(usage[name.size()]));
  return has_name ? usage : name + " " + usage;
}

bool ValidWord(std::string_view w) {
  if (w.empty() || w.size() > kMaxWordSize) return false;
  for (char c : w) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7f || c == '"' || c == '\'' || c == '#') return false;
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> Tokenize(std::string_view line, std::string* error) {
  std::vector<std::string> tokens;
  std::string cur;
  bool in_token = false;  // distinguishes "" (an empty token) from nothing
  std::size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (IsSpace(c)) {
      if (in_token) tokens.push_back(std::move(cur));
      cur.clear();
      in_token = false;
      ++i;
    } else if (c == '"' || c == '\'') {
      const std::size_t open = i++;
      in_token = true;
      bool closed = false;
      while (i < line.size()) {
        const char q = line[i];
        if (q == c) {
          closed = true;
          ++i;
          break;
        }
        if (c == '"' && q == '\\' && i + 1 < line.size() &&
            (line[i + 1] == '"' || line[i + 1] == '\\')) {
          cur += line[i + 1];
          i += 2;
          continue;
        }
        cur += q;
        ++i;
      }
      if (!closed) {
        if (error != nullptr) {
          *error = std::string("unterminated ") + (c == '"' ? "double" : "single") +
                   " quote at column " + std::to_string(open + 1);
        }
        return std::nullopt;
      }
    } else {
      cur += c;
      in_token = true;
      ++i;
    }
  }
  if (in_token) tokens.push_back(std::move(cur));
  return tokens;
}

std::string JoinArgs(const std::vector<std::string>& args, std::size_t first) {
  std::string out;
  for (std::size_t i = first; i < args.size(); ++i) {
    if (i > first) out += ' ';
    out += args[i];
  }
  return out;
}

std::string QuoteArg(std::string_view arg) {
  const bool plain = !arg.empty() && std::none_of(arg.begin(), arg.end(), [](char c) {
    return IsSpace(c) || c == '"' || c == '\'';
  });
  if (plain) return std::string(arg);
  std::string out = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

CommandRegistry::CommandRegistry() {
  Register("help", "[COMMAND]", "list the commands, or show one command's usage",
           [this](const std::vector<std::string>& args) { return HelpFor(args); });
}

void CommandRegistry::Register(std::string_view name, std::string usage, std::string help,
                               CommandFn fn) {
  const auto words = Tokenize(name);
  if (!words || words->empty() || words->size() > kMaxNameWords ||
      !std::all_of(words->begin(), words->end(),
                   [](const std::string& w) { return ValidWord(w); })) {
    throw std::invalid_argument("invalid command name '" + std::string(name) + "' (one to " +
                                std::to_string(kMaxNameWords) + " words)");
  }
  if (!fn) throw std::invalid_argument("command '" + std::string(name) + "' has no function");
  const std::string canonical = JoinArgs(*words);
  std::unique_lock lock(table_mu_);
  if (commands_.count(canonical) != 0) {
    throw std::invalid_argument("command '" + canonical + "' is already registered");
  }
  commands_.emplace(canonical, Entry{std::move(usage), std::move(help), std::move(fn)});
}

CommandResult CommandRegistry::Execute(std::string_view line) {
  const std::size_t start = line.find_first_not_of(kWhitespace);
  if (start == std::string_view::npos || line[start] == '#') return Ok();

  std::string error;
  auto tokens = Tokenize(line, &error);
  if (!tokens) return Error(error);

  CommandFn fn;
  std::size_t consumed = 0;
  {
    std::shared_lock lock(table_mu_);
    // Longest registered name first.
    for (std::size_t k = std::min(tokens->size(), kMaxNameWords); k >= 1 && !fn; --k) {
      std::vector<std::string> head(tokens->begin(),
                                    tokens->begin() + static_cast<std::ptrdiff_t>(k));
      auto it = commands_.find(JoinArgs(head));
      if (it != commands_.end()) {
        fn = it->second.fn;
        consumed = k;
      }
    }
    if (!fn) {
      // The longest prefix of the line that some multi-word name starts with:
      // say which words may follow it.
      for (std::size_t k = std::min(tokens->size(), kMaxNameWords - 1); k >= 1; --k) {
        std::vector<std::string> head(tokens->begin(),
                                      tokens->begin() + static_cast<std::ptrdiff_t>(k));
        const std::string prefix = JoinArgs(head) + " ";
        std::vector<std::string> next;
        for (auto it = commands_.lower_bound(prefix);
             it != commands_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
          const std::string word =
              it->first.substr(prefix.size(), it->first.find(' ', prefix.size()) - prefix.size());
          if (next.empty() || next.back() != word) next.push_back(word);
        }
        if (next.empty()) continue;
        std::string what = prefix + (k < tokens->size() ? (*tokens)[k] : std::string());
        while (!what.empty() && what.back() == ' ') what.pop_back();
        std::string choices;
        for (const auto& w : next) choices += (choices.empty() ? "" : ", ") + w;
        return Error("unknown command '" + what + "'; '" + prefix.substr(0, prefix.size() - 1) +
                     "' takes one of: " + choices + " (try 'help " +
                     prefix.substr(0, prefix.size() - 1) + "')");
      }
      return Error("unknown command '" + (*tokens)[0] + "' (try 'help')");
    }
  }

  tokens->erase(tokens->begin(), tokens->begin() + static_cast<std::ptrdiff_t>(consumed));
  std::lock_guard exec_lock(exec_mu_);
  try {
    return fn(*tokens);
  } catch (const std::exception& e) {
    return Error(e.what());
  } catch (...) {
    return Error("command failed with an unknown exception");
  }
}

std::vector<std::string> CommandRegistry::Names() const {
  std::shared_lock lock(table_mu_);
  std::vector<std::string> names;
  names.reserve(commands_.size());
  for (const auto& [name, entry] : commands_) names.push_back(name);
  return names;
}

std::vector<CommandInfo> CommandRegistry::List() const {
  std::shared_lock lock(table_mu_);
  std::vector<CommandInfo> list;
  list.reserve(commands_.size());
  for (const auto& [name, entry] : commands_) list.push_back({name, entry.usage, entry.help});
  return list;
}

bool CommandRegistry::Has(std::string_view name) const {
  std::shared_lock lock(table_mu_);
  return commands_.find(name) != commands_.end();
}

CommandResult CommandRegistry::HelpFor(const std::vector<std::string>& args,
                                       const std::vector<CommandInfo>& extra) const {
  std::vector<CommandInfo> all = List();
  all.insert(all.end(), extra.begin(), extra.end());
  std::sort(all.begin(), all.end(),
            [](const CommandInfo& a, const CommandInfo& b) { return a.name < b.name; });

  // All commands, one exact name, or every "WORDS ..." command.
  const std::string wanted = JoinArgs(args);
  std::vector<const CommandInfo*> shown;
  for (const auto& c : all) {
    if (wanted.empty() || c.name == wanted ||
        c.name.compare(0, wanted.size() + 1, wanted + " ") == 0) {
      shown.push_back(&c);
    }
  }
  if (shown.empty()) return Error("unknown command '" + wanted + "' (try 'help')");

  std::size_t width = 0;
  for (const auto* c : shown)
    width = std::max(width, std::min(Synopsis(c->name, c->usage).size(), kMaxHelpColumn));
  std::string text = wanted.empty() ? "Commands:\n" : "";
  for (const auto* c : shown) {
    const std::string synopsis = Synopsis(c->name, c->usage);
    text += "  " + synopsis;
    if (!c->help.empty()) {
      text +=
          std::string(synopsis.size() < width ? width - synopsis.size() : 0, ' ') + "  " + c->help;
    }
    text += "\n";
  }
  return Ok(std::move(text));
}

}  // namespace dpswitch::control
