// SPDX-License-Identifier: BSD-3-Clause
// Catch2 main for unit tests: brings up a minimal DPDK EAL first (no
// hugepages, no PCI, in-memory, one lcore) so tests can create mempools,
// mbufs and rings. Tests that need no DPDK simply ignore it.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <rte_eal.h>

int main(int argc, char* argv[]) {
  char a0[] = "dpswitch-tests";
  char a1[] = "--no-huge";
  char a2[] = "-m";
  char a3[] = "512";
  char a4[] = "--no-shconf";
  char a5[] = "--no-pci";
  char a6[] = "--log-level=error";
  char a7[] = "-l";
  char a8[] = "0";
  char a9[] = "--no-telemetry";
  char* eal_argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9};
  if (rte_eal_init(10, eal_argv) < 0) return 2;
  const int rc = Catch::Session().run(argc, argv);
  rte_eal_cleanup();
  return rc;
}
