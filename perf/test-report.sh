#!/bin/sh
# thespis-perf's result files and its --baseline gate, end to end (no
# timing asserted): a run with --repeat writes a sane JSON file; comparing
# with it passes with a generous threshold; a synthetic baseline whose
# latency ratios are 1000 times better fails with exit 1 and a table, and so
# does one whose throughput ratios are; a gate that compares nothing fails;
# a baseline made with another --rate and bad values exit 2.
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
# A baseline 1000 times better (its ratios and their medians), in latency
# alone (a lower ratio is better) and in throughput alone (a higher one).
# Each scenario is one line of the file.
sed -e '/"kind":"latency"/s/"ratio_to_bare":[0-9.e+-]*/"ratio_to_bare":0.001/g' \
    "$dir/base.json" >"$dir/faster-lat.json"
sed -e '/"kind":"throughput"/s/"ratio_to_bare":[0-9.e+-]*/"ratio_to_bare":1000/g' \
    "$dir/base.json" >"$dir/faster-tp.json"
for kind in lat tp; do
    "$perf" "$@" --baseline "$dir/faster-$kind.json" --max-regress 10 >"$dir/faster-$kind.out"
    test $? -eq 1 || fail "a baseline faster in $kind passed the gate"
done
grep -q '^pingpong.same_shard .*REGRESSED' "$dir/faster-lat.out" || fail "no latency REGRESSED row"
grep -q '^throughput.cross_shard .*REGRESSED' "$dir/faster-tp.out" ||
    fail "no throughput REGRESSED row"
# A gate that compares nothing fails (no bare baseline in this run: no ratio)
# and names the baseline's scenarios it did not compare.
"$perf" --duration 0.02 --scenario pingpong.same_shard --baseline "$dir/base.json" \
    >"$dir/none.out" 2>"$dir/none.err"
test $? -eq 1 || fail "a gate that compared nothing passed"
grep -q 'no figure of this run could be compared' "$dir/none.err" || fail "no message"
grep -q '^baseline scenarios not compared: .*throughput.cross_shard' "$dir/none.out" ||
    fail "the scenarios not compared not listed"
# Bad values: exit 2 before running anything.
one="--duration 0.01 --scenario pingpong.bare_queue"
for bad in "--repeat 0" "--repeat 1.5" "--repeat 101" "--rate 0" "--rate x" "--max-regress -1" \
    "--compare fast" "--baseline $dir/nosuch.json" "--baseline $dir/base.out" "--duration 0" \
    "--cores 0,1023" "--cores 0-1xyz" "--cores 0,0" "--cores x,1" "--cores 0-" "--cores 0" \
    "--max-regress 5" "--compare absolute" "--exclude pingpong.bare_queue" "--baseline $dir/base.json --rate 1000"; do
    # shellcheck disable=SC2086
    "$perf" $bad $one >/dev/null 2>"$dir/bad.err"
    test $? -eq 2 || fail "$bad did not exit 2"
    test -s "$dir/bad.err" || fail "$bad said nothing"
done
"$perf" --scenario nosuch >/dev/null 2>&1
test $? -eq 2 || fail "--scenario nosuch did not exit 2"
exit 0

