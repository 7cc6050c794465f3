#!/usr/bin/env bash
# examples/images/run.sh THESPIS IMAGE — code images on a running node, end
# to end: makes a signing key pair, signs IMAGE (examples/images/greeter.c
# built as a shared module), starts a node that trusts that key, loads the
# signed image and talks to both of its actor types through the shell, then
# shows that an unsigned copy is refused. Cleans up after itself (the node,
# the key pair, the copies). Exit 0 when all of that happened as said.
set -euo pipefail
case "${1:-}" in
-h | --help | "") echo "usage: examples/images/run.sh THESPIS IMAGE"; [ -n "${1:-}" ]; exit $? ;;
esac
thespis=$1 image=$2
dir=$(mktemp -d /tmp/thespis-images-XXXXXX)
node=images-demo-$$
cleanup() {
    "$thespis" stop --name "$node" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

"$thespis" keygen --sign "$dir/release.key" "$dir/release.pub" >/dev/null
cp "$image" "$dir/greeter.so"
"$thespis" sign --key "$dir/release.key" "$dir/greeter.so" >/dev/null
cp "$dir/greeter.so" "$dir/unsigned.so"
printf 'tampered' >> "$dir/unsigned.so" # other bytes, no signature of them
echo "\$ thespis start --name $node --shards 1 --authority-key release.pub"
"$thespis" start --name "$node" --shards 1 --authority-key "$dir/release.pub" \
    --log-file "$dir/node.log" >/dev/null
echo "\$ thespis load --name $node greeter.so"
id=$("$thespis" load --name "$node" "$dir/greeter.so" | cut -d' ' -f1)
echo "$id greeter.so"
echo "\$ thespis shell --name $node   (a script on its standard input)"
"$thespis" shell --name "$node" <<SHELL
create images.Greeter --image $id as greeter
create images.Counter --image $id as counter
ask greeter demo.Hello world
ask counter demo.Tick
ask counter demo.Tick
images
unload $id
ask counter demo.Tick
SHELL
echo "\$ thespis shell --name $node   (after the unload: no new actors of its types)"
if "$thespis" shell --name "$node" <<<"create images.Counter --image $id" 2>"$dir/err"; then
    echo "images: an actor of an unloaded image was created" >&2
    exit 1
fi
grep -o 'image .* is unloaded.*' "$dir/err"
echo "\$ thespis load --name $node greeter.so   (again: loaded again)"
"$thespis" load --name "$node" "$dir/greeter.so"
echo "\$ thespis load --name $node unsigned.so"
if "$thespis" load --name "$node" "$dir/unsigned.so" 2>"$dir/err"; then
    echo "images: the unsigned copy was loaded" >&2
    exit 1
fi
sed -n 's/^thespis: load: .*: \(image .*\)$/refused: \1/p' "$dir/err"
grep -q 'refused by the Source Authority: unsigned' "$dir/err"
"$thespis" images --name "$node"
