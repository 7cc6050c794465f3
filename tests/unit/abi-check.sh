#!/bin/sh
# abi-check.sh LIB MAP HEADER... — the shared library exports exactly the
# symbols its version map names, each at version THESPIS_0, and the map names
# exactly the functions the public headers declare with TS_API.
set -eu
lib=$1 map=$2
shift 2
declared=$(cat "$@" | tr '\n' ' ' | grep -o 'TS_API [^;(]*(' | sed 's/.*[ *]\(ts_[a-z0-9_]*\)($/\1/' | grep '^ts_' | sort)
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sed 's/@@*THESPIS_0$//' | grep -v '^THESPIS_0$' | sort)
listed=$(sed -n 's/^ *\(ts_[a-z0-9_]*\);$/\1/p' "$map" | sort)
if [ "$exported" != "$listed" ]; then
    echo "exported symbols differ from $map:"
    printf '%s\n' "$exported" > /tmp/abi-exported.$$
    printf '%s\n' "$listed" | diff - /tmp/abi-exported.$$ || true
    rm -f /tmp/abi-exported.$$
    exit 1
fi
if [ "$declared" != "$listed" ]; then
    echo "the map and the TS_API declarations differ (< map, > headers):"
    printf '%s\n' "$declared" > /tmp/abi-declared.$$
    printf '%s\n' "$listed" | diff - /tmp/abi-declared.$$ || true
    rm -f /tmp/abi-declared.$$
    exit 1
fi
unversioned=$(nm -D --defined-only "$lib" | awk '$3 ~ /^ts_/ && $3 !~ /@THESPIS_0$/' )
[ -z "$unversioned" ] || { echo "unversioned: $unversioned"; exit 1; }
echo "$(printf '%s\n' "$exported" | wc -l) symbols, all at THESPIS_0"
