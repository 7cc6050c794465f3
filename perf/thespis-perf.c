/* SPDX-License-Identifier: MIT */
/* thespis-perf — the bundled benchmark: the harness (harness.c) with the
 * bundled scenarios only. */
#include "perf_own.h"

int main(int argc, char **argv)
{
    return perf_main(argc, argv, NULL, 0);
}
