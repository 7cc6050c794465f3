/* SPDX-License-Identifier: MIT */
/*
 * perf-own — benchmarking your own actor type under thespis-perf's harness
 * (perf/perf_own.h). The actor here is an accumulator: it adds each
 * own.Add's number to its total and replies own.Sum with the total. The
 * program registers it, names two scenarios (it on the driver's shard, and
 * on the other core, each set against a bare baseline of the bundled ones)
 * and hands its arguments to perf_main: it then is
 * thespis-perf with own.add.same_shard and own.add.cross_shard added, with
 * every option. Try:
 *
 *   perf-own --scenario 'own.*' --scenario 'pingpong.bare_*' --duration 0.5
 *   perf-own --scenario 'own.*' --scenario 'pingpong.bare_*' --repeat 5 --json own.json
 *   perf-own --scenario 'own.*' --scenario 'pingpong.bare_*' --repeat 5 \
 *            --baseline own.json --max-regress 10
 *   perf-own --scenario 'own.*' --rate 100000 --plot own-plots
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <thespis/thespis.h>

#include "perf_own.h"

static uint64_t T_SUM; /* own.Sum's id */

struct accumulator {
    uint64_t total;
};

static int on_add(ts_ctx *ctx, void *state, const ts_msg *m)
{
    struct accumulator *a = state;
    uint64_t n;
    if (m->len != sizeof(n))
        return 0; /* not ours to judge: ignore it */
    memcpy(&n, ts_msg_data(m), sizeof(n));
    a->total += n;
    return ts_reply(ctx, T_SUM, &a->total, sizeof(a->total));
}

static const ts_handler_entry accumulator_handlers[] = {TS_ON("own.Add", on_add),
                                                        TS_HANDLERS_END};
static const ts_actor_type accumulator_type = {.name = "own.Accumulator",
                                               .state_size = sizeof(struct accumulator),
                                               .handlers = accumulator_handlers};

static const uint64_t one = 1;

static const struct perf_own scenarios[] = {
    {.name = "own.add.same_shard", .actor_type = "own.Accumulator", .message = "own.Add",
     .payload = &one, .len = sizeof(one), .baseline = "pingpong.bare_queue"},
    {.name = "own.add.cross_shard", .actor_type = "own.Accumulator", .message = "own.Add",
     .payload = &one, .len = sizeof(one), .cross_shard = 1, .baseline = "pingpong.bare_ring"},
};

int main(int argc, char **argv)
{
    if (ts_register_actor_type(&accumulator_type) < 0 || ts_register_msg_type("own.Sum", &T_SUM) < 0) {
        fprintf(stderr, "perf-own: %s\n", ts_last_error());
        return 1;
    }
    return perf_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
