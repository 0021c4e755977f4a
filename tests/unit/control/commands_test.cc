// SPDX-License-Identifier: BSD-3-Clause
// The command registry: tokenising and quoting, longest-name matching, help,
// errors, and serialised execution.
#include <atomic>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "control/commands.h"

namespace dpswitch::control {
namespace {

using Args = std::vector<std::string>;

Args Tok(std::string_view line) {
  std::string error;
  auto t = Tokenize(line, &error);
  INFO(error);
  REQUIRE(t);
  return *t;
}

// A registry whose commands echo their name and arguments as "name|a|b".
struct EchoRegistry {
  CommandRegistry r;
  EchoRegistry() {
    for (const char* name : {"show", "show ports", "show pmd stats", "add-flow", "dump-flows"}) {
      r.Register(name, "", std::string("help for ") + name, [name](const Args& args) {
        std::string out = name;
        for (const auto& a : args) out += "|" + a;
        return Ok(out);
      });
    }
  }
};

TEST_CASE("commands: tokenising", "[commands]") {
  CHECK(Tok("") == Args{});
  CHECK(Tok("   \t ") == Args{});
  CHECK(Tok("a b\tc") == Args{"a", "b", "c"});
  CHECK(Tok("  lead and trail  ") == Args{"lead", "and", "trail"});
  CHECK(Tok("say \"two words\" 'and three words'") == Args{"say", "two words", "and three words"});
  CHECK(Tok("x\"a b\"y") == Args{"xa by"});  // quotes join with neighbours, as in a shell
  CHECK(Tok("\"\" ''") == Args{"", ""});     // empty quoted tokens are tokens
  CHECK(Tok(R"("say \"hi\" \\ \n")") == Args{R"(say "hi" \ \n)"});
  CHECK(Tok(R"('a\b' x)") == Args{R"(a\b)", "x"});       // no escapes in single quotes
  CHECK(Tok(R"(back\slash)") == Args{R"(back\slash)"});  // outside quotes: literal
  CHECK(Tok("'it''s'") == Args{"its"});
  CHECK(Tok("\"it's\"") == Args{"it's"});
  // Flow text arrives as one token.
  CHECK(Tok("add-flow table=0,priority=100,ip,nw_dst=10.0.0.0/8,actions=output:2") ==
        Args{"add-flow", "table=0,priority=100,ip,nw_dst=10.0.0.0/8,actions=output:2"});
  CHECK(Tok("add-flow table=0,actions=resubmit(,1)") ==
        Args{"add-flow", "table=0,actions=resubmit(,1)"});
}

TEST_CASE("commands: unterminated quotes are errors", "[commands]") {
  std::string error;
  CHECK_FALSE(Tokenize("say \"open", &error));
  CHECK(error.find("unterminated double quote at column 5") != std::string::npos);
  CHECK_FALSE(Tokenize("say 'open", &error));
  CHECK(error.find("single quote") != std::string::npos);
  CHECK_FALSE(Tokenize(R"("escaped \")", &error));

  EchoRegistry e;
  const auto r = e.r.Execute("add-flow \"table=0");
  CHECK_FALSE(r.ok);
  CHECK(r.text.find("unterminated") != std::string::npos);
}

TEST_CASE("commands: QuoteArg round-trips through Tokenize", "[commands]") {
  CHECK(QuoteArg("plain") == "plain");
  CHECK(QuoteArg("a,b=(c)") == "a,b=(c)");
  CHECK(QuoteArg("two words") == "\"two words\"");
  CHECK(QuoteArg("") == "\"\"");
  CHECK(QuoteArg("say \"x\"") == R"("say \"x\"")");

  std::mt19937 rng(7);
  const std::string alphabet = "ab =,()\"'\\\t#";
  for (int round = 0; round < 2000; ++round) {
    Args args(1 + rng() % 4);
    for (auto& a : args) {
      const std::size_t len = rng() % 8;
      for (std::size_t i = 0; i < len; ++i) a += alphabet[rng() % alphabet.size()];
    }
    std::string line;
    for (const auto& a : args) {
      if (!line.empty()) line += ' ';
      line += QuoteArg(a);
    }
    INFO(line);
    CHECK(Tok(line) == args);
  }
}

TEST_CASE("commands: JoinArgs", "[commands]") {
  CHECK(JoinArgs({}) == "");
  CHECK(JoinArgs({"a", "b c", "d"}) == "a b c d");
  CHECK(JoinArgs({"--strict", "ip", "nw_dst=10.0.0.1"}, 1) == "ip nw_dst=10.0.0.1");
  CHECK(JoinArgs({"a"}, 3) == "");
}

TEST_CASE("commands: the longest registered name wins", "[commands]") {
  EchoRegistry e;
  CHECK(e.r.Execute("show ports").text == "show ports");
  CHECK(e.r.Execute("show ports 1 2").text == "show ports|1|2");
  CHECK(e.r.Execute("show pmd stats").text == "show pmd stats");
  CHECK(e.r.Execute("  show   pmd  stats  x").text == "show pmd stats|x");
  CHECK(e.r.Execute("show").text == "show");
  CHECK(e.r.Execute("show other").text == "show|other");  // falls back to "show"
  CHECK(e.r.Execute("dump-flows").text == "dump-flows");  // no args
  CHECK(e.r.Execute("add-flow table=0,priority=100,ip,nw_dst=10.0.0.0/8,actions=output:2").text ==
        "add-flow|table=0,priority=100,ip,nw_dst=10.0.0.0/8,actions=output:2");
  CHECK(e.r.Execute("add-flow \"table=0 priority=5 actions=drop\"").text ==
        "add-flow|table=0 priority=5 actions=drop");
}

TEST_CASE("commands: empty lines, comments and unknown commands", "[commands]") {
  EchoRegistry e;
  for (const char* blank : {"", "   ", "\t", "# a comment", "   # indented comment"}) {
    const auto r = e.r.Execute(blank);
    CHECK(r.ok);
    CHECK(r.text.empty());
  }
  auto r = e.r.Execute("frobnicate now");
  CHECK_FALSE(r.ok);
  CHECK(r.text == "unknown command 'frobnicate' (try 'help')");

  // A known prefix with an unknown continuation lists what fits.
  CommandRegistry reg;
  const auto nop = [](const Args&) { return Ok(); };
  reg.Register("clear pmd stats", "", "", nop);
  reg.Register("clear ports", "", "", nop);
  r = reg.Execute("clear pmd junk");
  CHECK_FALSE(r.ok);
  CHECK(r.text.find("unknown command 'clear pmd junk'") != std::string::npos);
  CHECK(r.text.find("'clear pmd' takes one of: stats") != std::string::npos);
  r = reg.Execute("clear");
  CHECK_FALSE(r.ok);
  CHECK(r.text.find("'clear' takes one of: pmd, ports") != std::string::npos);
}

TEST_CASE("commands: help lists every command, aligned; help CMD shows one", "[commands]") {
  CommandRegistry r;
  const auto nop = [](const Args&) { return Ok(); };
  r.Register("show ports", "", "ports and counters", nop);
  r.Register("show pmd stats", "show pmd stats", "PMD counters", nop);  // usage with the name
  r.Register("add-flow", "FLOW", "add a flow", nop);
  r.Register("dump-flows", "[TABLE]", "list flows", nop);

  const auto all = r.Execute("help");
  REQUIRE(all.ok);
  for (const char* line :
       {"add-flow FLOW", "dump-flows [TABLE]", "show ports", "show pmd stats", "help [COMMAND]"}) {
    INFO(line);
    CHECK(all.text.find("  " + std::string(line) + " ") != std::string::npos);
  }
  CHECK(all.text.find("show pmd stats show pmd stats") == std::string::npos);
  // Every description starts in the same column.
  std::size_t column = std::string::npos;
  std::size_t pos = all.text.find('\n') + 1;  // skip the title
  int lines = 0;
  while (pos < all.text.size()) {
    const std::size_t end = all.text.find('\n', pos);
    const std::string line = all.text.substr(pos, end - pos);
    std::size_t help_at = std::string::npos;
    for (const char* h :
         {"ports and", "PMD counters", "add a flow", "list flows", "list the commands"}) {
      if (line.find(h) != std::string::npos) help_at = line.find(h);
    }
    INFO(line);
    REQUIRE(help_at != std::string::npos);
    if (column == std::string::npos) column = help_at;
    CHECK(help_at == column);
    ++lines;
    pos = end + 1;
  }
  CHECK(lines == 5);

  const auto one = r.Execute("help add-flow");
  CHECK(one.ok);
  CHECK(one.text.find("add-flow FLOW") != std::string::npos);
  CHECK(one.text.find("dump-flows") == std::string::npos);

  const auto group = r.Execute("help show");
  CHECK(group.text.find("show ports") != std::string::npos);
  CHECK(group.text.find("show pmd stats") != std::string::npos);
  CHECK(group.text.find("add-flow") == std::string::npos);

  const auto missing = r.Execute("help nothing");
  CHECK_FALSE(missing.ok);
  CHECK(missing.text.find("unknown command 'nothing'") != std::string::npos);
}

TEST_CASE("commands: Register rejects bad and duplicate names", "[commands]") {
  CommandRegistry r;
  const auto nop = [](const Args&) { return Ok(); };
  r.Register("  spaced   name ", "", "", nop);
  CHECK(r.Has("spaced name"));
  CHECK_THROWS_AS(r.Register("spaced name", "", "", nop), std::invalid_argument);
  CHECK_THROWS_AS(r.Register("help", "", "", nop), std::invalid_argument);
  CHECK_THROWS_AS(r.Register("", "", "", nop), std::invalid_argument);
  CHECK_THROWS_AS(r.Register("a b c d e", "", "", nop), std::invalid_argument);
  CHECK_THROWS_AS(r.Register("quo\"te", "", "", nop), std::invalid_argument);
  CHECK_THROWS_AS(r.Register("x", "", "", CommandFn{}), std::invalid_argument);
  CHECK(r.Names() == std::vector<std::string>{"help", "spaced name"});
  CHECK(r.List().size() == 2);
}

TEST_CASE("commands: a throwing command fails with its message", "[commands]") {
  CommandRegistry r;
  r.Register("boom", "", "",
             [](const Args&) -> CommandResult { throw std::runtime_error("it broke"); });
  r.Register("fail", "", "", [](const Args&) { return Error("no luck"); });
  auto res = r.Execute("boom");
  CHECK_FALSE(res.ok);
  CHECK(res.text == "it broke");
  res = r.Execute("fail");
  CHECK_FALSE(res.ok);
  CHECK(res.text == "no luck");
}

TEST_CASE("commands: Execute runs one command at a time", "[commands]") {
  CommandRegistry r;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  r.Register("slow", "", "", [&](const Args&) {
    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    inside.fetch_sub(1);
    return Ok();
  });
  // A command may run another (the mutex is recursive).
  r.Register("outer", "", "", [&](const Args&) { return r.Execute("slow"); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) r.Execute(i % 2 ? "slow" : "outer");
    });
  }
  for (auto& t : threads) t.join();
  CHECK(overlaps.load() == 0);
}

}  // namespace
}  // namespace dpswitch::control
