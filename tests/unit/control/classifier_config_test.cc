// SPDX-License-Identifier: BSD-3-Clause
// The classifier option table shared by the config file and `set table`:
// every name, every accepted spelling, the text read back, and the errors.
#include "control/classifier_config.h"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "classifier/prefix_field.h"

namespace dpswitch::control {
namespace {

using pkt::FieldId;

std::string ErrorOf(std::string_view name, std::string_view value) {
  cls::OfClassifierOptions o;
  const cls::OfClassifierOptions before = o;
  try {
    SetClassifierOption(&o, name, value);
  } catch (const std::invalid_argument& e) {
    CHECK(o == before);  // unchanged on error
    return e.what();
  }
  return "";
}

TEST_CASE("classifier options: names, in help order", "[classifier_config]") {
  CHECK(ClassifierOptionNames() == std::vector<std::string>{"priority-sorting", "staged-lookup",
                                                            "port-tracking", "partitioning",
                                                            "prefixes"});
  for (const auto& info : ClassifierOptionInfos()) {
    CHECK(IsClassifierOption(info.name));
    CHECK(std::string(info.help).size() > 10);
  }
  CHECK_FALSE(IsClassifierOption("prefix"));
  CHECK_FALSE(IsClassifierOption(""));
}

TEST_CASE("classifier options: booleans", "[classifier_config]") {
  cls::OfClassifierOptions o;
  for (const char* off : {"off", "OFF", "false", "no", "0"}) {
    o = {};
    SetClassifierOption(&o, "staged-lookup", off);
    CHECK_FALSE(o.staged_lookup);
    CHECK(ClassifierOptionValue(o, "staged-lookup") == "false");
  }
  for (const char* on : {"on", "True", "yes", "1"}) {
    o.staged_lookup = false;
    SetClassifierOption(&o, "staged-lookup", on);
    CHECK(o.staged_lookup);
  }
  o = {};
  SetClassifierOption(&o, "priority-sorting", "off");
  SetClassifierOption(&o, "port-tracking", "off");
  SetClassifierOption(&o, "partitioning", "off");
  CHECK_FALSE(o.priority_sorting);
  CHECK_FALSE(o.port_tracking);
  CHECK_FALSE(o.partitioning);
  CHECK(o.staged_lookup);
  CHECK(DisabledOptimisations(o) == "priority-sorting,port-tracking,partitioning");
  CHECK(DisabledOptimisations({}) == "");
  CHECK(ErrorOf("partitioning", "maybe").find("on/off") != std::string::npos);
  CHECK(ErrorOf("partitioning", "").find("on/off") != std::string::npos);
}

TEST_CASE("classifier options: prefixes", "[classifier_config]") {
  cls::OfClassifierOptions o;
  CHECK(ClassifierOptionValue(o, "prefixes") == "nw_src,nw_dst,ipv6_src,ipv6_dst");
  SetClassifierOption(&o, "prefixes", " nw_dst, ipv6_src ");
  CHECK(o.prefix_fields == std::vector<FieldId>{FieldId::kNwDst, FieldId::kIpv6Src});
  CHECK(ClassifierOptionValue(o, "prefixes") == "nw_dst,ipv6_src");
  SetClassifierOption(&o, "prefixes", "none");
  CHECK(o.prefix_fields.empty());
  CHECK(ClassifierOptionValue(o, "prefixes") == "none");
  CHECK(DisabledOptimisations(o) == "");  // shown in its own column
  // Read back what it prints.
  SetClassifierOption(&o, "prefixes", ClassifierOptionValue({}, "prefixes"));
  CHECK(o == cls::OfClassifierOptions{});

  CHECK(ErrorOf("prefixes", "nw_dts").find("nw_dts") != std::string::npos);
  CHECK(ErrorOf("prefixes", "tp_dst").find("tp_dst") != std::string::npos);
  CHECK_FALSE(ErrorOf("prefixes", "nw_src,nw_src").empty());
  CHECK(ErrorOf("prefixes", "").find("none") != std::string::npos);
  CHECK(ErrorOf("colour", "red").find("unknown option 'colour'") != std::string::npos);
}

}  // namespace
}  // namespace dpswitch::control
