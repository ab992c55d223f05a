#!/bin/sh
# The Debian package: tools/dev package builds it from this tree with
# dpkg-buildpackage; it is unpacked into a scratch root (dpkg -x) and the
# learnvault there answers --version and makes a node.  SKIP (77) only
# where dpkg-buildpackage cannot run: tools/dev test installs what it
# needs.  Environment (tests/meson.build): LV_SOURCE_ROOT, LV_VERSION.
set -eu
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

for t in dpkg-buildpackage dpkg-checkbuilddeps dh fakeroot; do
	command -v "$t" >/dev/null 2>&1 ||
		skip "$t is not installed, dpkg-buildpackage cannot run (apt-get install debhelper dpkg-dev build-essential fakeroot; tools/dev test does)"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lvpkgtest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$LV_SOURCE_ROOT" && dpkg-checkbuilddeps) >"$tmp/deps" 2>&1 ||
	skip "dpkg-buildpackage cannot run: $(cat "$tmp/deps")"

start=$(date +%s)
"$LV_SOURCE_ROOT/tools/dev" package --out "$tmp/out" >"$tmp/path" || fail "tools/dev package"
deb=$(tail -n 1 "$tmp/path")
echo "built $(basename "$deb") in $(($(date +%s) - start)) s"
[ -f "$deb" ] || fail "no .deb at $deb"
[ "$(dpkg-deb -f "$deb" Version)" = "$LV_VERSION" ] || fail "package version $(dpkg-deb -f "$deb" Version), meson's $LV_VERSION"

dpkg-deb -c "$deb" | awk '{print $NF}' >"$tmp/list"
for f in ./usr/bin/learnvault ./usr/share/man/man1/learnvault.1.gz ./lib/systemd/system/learnvault.service \
	./usr/lib/sysusers.d/learnvault.conf ./etc/learnvault/learnvault.conf \
	./usr/share/learnvault/policies/course-improvement.json ./usr/share/learnvault/examples/statements.json \
	./usr/share/doc/learnvault/running.md.gz ./usr/share/doc/learnvault/copyright; do
	grep -qxF "$f" "$tmp/list" || fail "the package lacks $f"
done
dpkg-deb -I "$deb" conffiles | grep -qxF /etc/learnvault/learnvault.conf || fail "learnvault.conf is not a conffile"
dpkg-deb -I "$deb" postinst >"$tmp/postinst"
grep -q 'systemd-sysusers learnvault.conf' "$tmp/postinst" || fail "postinst does not create the user"
sh -n "$tmp/postinst" || fail "postinst is not valid sh"
dpkg-deb -f "$deb" Depends | grep -qF 'libcjson1 (>= 1.7.15-1+deb12u3)' || fail "the package accepts a cJSON without the CVE-2023-53154 fix"

# Installed into a scratch root: the binary runs and makes a node.
dpkg -x "$deb" "$tmp/root"
lv=$tmp/root/usr/bin/learnvault
[ "$("$lv" --version)" = "learnvault $LV_VERSION" ] || fail "installed learnvault --version: $("$lv" --version)"
"$lv" init --data "$tmp/node" >"$tmp/init.json" 2>"$tmp/init.err" || { cat "$tmp/init.err"; fail "installed learnvault init"; }
grep -q '"audit_key"' "$tmp/init.json" || fail "init printed no audit key"
[ -f "$tmp/node/node.db" ] || fail "init made no node.db"
zcat "$tmp/root/usr/share/man/man1/learnvault.1.gz" | grep -q '^\.SS "audit verify"' || fail "the packaged man page lacks audit verify"
echo "PASS"
