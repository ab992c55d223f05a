#!/bin/sh
# tools/dev's own ergonomics: every command's --help exits 0 without
# doing its work (test --help must not run the suite), and demo refuses a
# taken address before it builds, seeds or prints anything.  Runs a copy
# of tools/dev in a scratch tree, so nothing lands in the source tree even
# if demo went on.  Environment: LV_SOURCE_ROOT.
set -eu
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lvdevtest.XXXXXX")
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/tools"
cp "$LV_SOURCE_ROOT/tools/dev" "$tmp/tools/dev"
dev=$tmp/tools/dev

for c in "" demo test fuzz package; do
	for h in --help -h; do
		timeout 20 "$dev" $c $h >"$tmp/out" 2>"$tmp/err" || fail "tools/dev $c $h: exit $?"
		grep -q "^usage: tools/dev ${c:-COMMAND}" "$tmp/out" || fail "tools/dev $c $h printed no usage"
	done
done
# Help wins wherever it is on the line.
timeout 20 "$dev" test --help >/dev/null || fail "tools/dev test --help"
timeout 20 "$dev" demo --listen 127.0.0.1:1 --help >/dev/null || fail "tools/dev demo --listen ... --help"
[ ! -e "$tmp/build-test" ] && [ ! -e "$tmp/build" ] || fail "help built something"
"$dev" nonsense >/dev/null 2>&1 && fail "an unknown command exits 0"
"$dev" test extra >/dev/null 2>&1 && fail "tools/dev test extra exits 0"

# A taken port: demo stops before the build, seeding and printing.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$tmp/port" &
pid=$!
for i in 1 2 3 4 5 6 7 8 9 10; do [ -s "$tmp/port" ] && break; sleep 0.5; done
port=$(cat "$tmp/port")
rc=0
timeout 60 "$dev" demo --listen "127.0.0.1:$port" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$tmp/err"; fail "demo on a taken port: exit $rc"; }
grep -q "cannot listen on 127.0.0.1:$port" "$tmp/err" || fail "demo does not say the port is taken"
grep -q -- "--listen 127.0.0.1:[0-9]" "$tmp/err" || fail "demo suggests no other port"
[ ! -s "$tmp/out" ] || fail "demo printed on stdout"
[ ! -e "$tmp/build" ] && [ ! -e "$tmp/var" ] || fail "demo built or seeded before checking the port"
rc=0
timeout 60 "$dev" demo --listen "::1:$port" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q '\[::1\]:8080' "$tmp/err" || fail "demo took an unbracketed IPv6 address"
echo "PASS"
