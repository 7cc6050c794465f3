#!/bin/sh
# thespis-perf's result files and its --baseline gate, end to end (no
# timing asserted): a run with --repeat writes a sane JSON file; comparing
# with it passes with a generous threshold; a synthetic baseline whose
# ratios are 1000 times better fails with exit 1 and a table; bad values
# exit 2.
# usage: test-report.sh THESPIS-PERF PERF-CHECK DIR
set -u
perf=$1 check=$2 dir=$3
rm -rf "$dir" && mkdir -p "$dir" || exit 1
fail() { echo "test-report: $*" >&2; exit 1; }
set -- --duration 0.02 --scenario pingpong.bare_queue --scenario pingpong.same_shard \
    --scenario throughput.bare_ring --scenario throughput.cross_shard
"$perf" "$@" --repeat 3 --json "$dir/base.json" >"$dir/base.out" || fail "the run failed"
"$check" "$dir/base.json" pingpong.same_shard pingpong.bare_queue || fail "bad JSON"
grep -q '"repeat":3' "$dir/base.json" || fail "no repeat in the JSON"
grep -q '"hist":{' "$dir/base.json" || fail "no histogram in the JSON"
# The same run against itself: ratios vary, but not 1000-fold.
"$perf" "$@" --baseline "$dir/base.json" --max-regress 100000 >"$dir/same.out"
test $? -eq 0 || fail "an equal baseline failed the gate"
grep -q 'comparison with the baseline' "$dir/same.out" || fail "no comparison table"
# A baseline 1000 times better (its ratios and their medians).
sed -e 's/"ratio_to_bare":[0-9.e+-]*/"ratio_to_bare":0.001/g' "$dir/base.json" >"$dir/faster.json"
"$perf" "$@" --baseline "$dir/faster.json" --max-regress 10 >"$dir/faster.out"
test $? -eq 1 || fail "a faster baseline passed the gate"
grep -q 'REGRESSED' "$dir/faster.out" || fail "no REGRESSED row"
# Bad values: exit 2 before running anything.
for bad in "--repeat 0" "--repeat 1.5" "--repeat 101" "--rate 0" "--rate x" "--max-regress -1" \
    "--compare fast" "--baseline $dir/nosuch.json" "--baseline $dir/base.out" "--duration 0"; do
    # shellcheck disable=SC2086
    "$perf" $bad --scenario nosuch >/dev/null 2>&1
    test $? -eq 2 || fail "$bad did not exit 2"
done
exit 0
