#!/bin/sh
# thespis-perf --plot: with gnuplot, one latency and one throughput SVG per
# scenario that has them; without it, exit 2 and say so (then skipped: 77).
# usage: test-plot.sh THESPIS-PERF DIR
set -u
perf=$1 dir=$2
rm -rf "$dir"
fail() { echo "test-plot: $*" >&2; exit 1; }
set -- --duration 0.02 --scenario pingpong.same_shard --scenario throughput.cross_shard
if ! command -v gnuplot >/dev/null 2>&1; then
    "$perf" "$@" --plot "$dir" >/dev/null 2>"$dir.err"
    test $? -eq 2 || fail "--plot without gnuplot did not exit 2"
    grep -q gnuplot "$dir.err" || fail "--plot without gnuplot did not say why"
    echo "gnuplot is not installed (Debian: gnuplot-nox): skipped"
    exit 77
fi
"$perf" "$@" --plot "$dir" >/dev/null || fail "the run failed"
for f in pingpong.same_shard.latency pingpong.same_shard.throughput throughput.cross_shard.throughput; do
    grep -q '<svg' "$dir/$f.svg" || fail "no $f.svg"
done
test ! -e "$dir/throughput.cross_shard.latency.svg" || fail "a latency plot of a throughput scenario"
# Without gnuplot on PATH: exit 2.
PATH=/nonexistent "$perf" "$@" --plot "$dir.2" >/dev/null 2>&1
test $? -eq 2 || fail "--plot without gnuplot on PATH did not exit 2"
exit 0
