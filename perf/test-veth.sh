#!/bin/sh
# perf-veth: thespis-perf's *.veth scenarios run (and write their JSON) or
# are shown as n/a and the test is skipped (77: not root, no ip(8), one
# core); either way no network namespace of the run is left behind. The
# *.dpdk.veth ones may be n/a alone in a build without DPDK. No timing is
# asserted. Arguments: the thespis-perf binary, an output prefix.
perf=$1 out=$2
"$perf" --scenario '*.veth' --duration 0.05 --json "$out.json" >"$out.txt" 2>&1 &
pid=$!
wait $pid
rc=$?
cat "$out.txt"
if ip netns list 2>/dev/null | grep -q "^thespis-perf-$pid-"; then
    echo "perf-veth: network namespaces thespis-perf-$pid-* left behind"
    exit 1
fi
[ $rc -eq 0 ] || { echo "perf-veth: thespis-perf exited with $rc"; exit 1; }
grep ' n/a: ' "$out.txt" | grep -vq '^[a-z]*\.dpdk\.veth  *n/a: this build has no DPDK' && exit 77
names="pingpong.bare_tcp.veth pingpong.tcp.veth throughput.tcp.veth pingpong.udp.veth
    throughput.udp.veth"
grep -q 'dpdk\.veth  *n/a: ' "$out.txt" || names="$names pingpong.dpdk.veth throughput.dpdk.veth"
for s in $names; do
    grep -q "\"name\":\"$s\"" "$out.json" || {
        echo "perf-veth: $s missing from $out.json"
        exit 1
    }
done
