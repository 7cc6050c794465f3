#!/bin/sh
# install-check.sh BUILD_DIR SOURCE_DIR — installs into a temporary destdir
# and builds examples/hello.c the way a user would: with nothing but
# `pkg-config --cflags --libs thespis`; the program must run and greet.
set -eu
build=$1 src=$2
dest=$(mktemp -d /tmp/thespis-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name thespis.pc | head -n 1)
[ -n "$pc" ] || { echo "no thespis.pc installed"; exit 1; }
export PKG_CONFIG_PATH="${pc%/*}" PKG_CONFIG_SYSROOT_DIR="$dest"
flags=$(pkg-config --cflags --libs thespis)
libdir=$(pkg-config --variable=libdir thespis) # pkgconf puts the sysroot in front
cc -std=c17 -Wall -Werror "$src/examples/hello.c" $flags -o "$dest/hello"
case "$libdir" in "$dest"*) ;; *) libdir="$dest$libdir" ;; esac
out=$(LD_LIBRARY_PATH="$libdir" "$dest/hello")
[ "$out" = "Hello, world!" ] || { echo "installed hello printed: $out"; exit 1; }
echo "installed library, headers and thespis.pc work: $flags"
