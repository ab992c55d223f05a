#!/bin/sh
# meson install into a scratch directory (--destdir): every file an
# operator needs lands where docs/running.md says, the installed binary
# runs, and systemd-analyze (when installed) accepts the unit.
# Environment (tests/meson.build): LV_BUILD_ROOT and the install
# directories LV_PREFIX, LV_BINDIR, LV_MANDIR, LV_DATADIR, LV_SYSCONFDIR,
# LV_UNITDIR, LV_SYSUSERSDIR as meson resolved them.
set -eu
fail() { echo "FAIL: $*"; exit 1; }
abs() { case $1 in /*) echo "$1" ;; *) echo "$LV_PREFIX/$1" ;; esac; }

dest=$(mktemp -d "${TMPDIR:-/tmp}/lvinstall.XXXXXX")
trap 'rm -rf "$dest"' EXIT
meson install -C "$LV_BUILD_ROOT" --no-rebuild --quiet --destdir "$dest" >"$dest.log" 2>&1 ||
	{ cat "$dest.log"; rm -f "$dest.log"; fail "meson install"; }
rm -f "$dest.log"

bin=$dest$(abs "$LV_BINDIR")/learnvault
share=$dest$(abs "$LV_DATADIR")
etc=$dest$(abs "$LV_SYSCONFDIR")
unit=$dest$LV_UNITDIR/learnvault.service
for f in "$bin" "$dest$(abs "$LV_MANDIR")/man1/learnvault.1" "$unit" "$dest$LV_SYSUSERSDIR/learnvault.conf" \
	"$etc/learnvault/learnvault.conf" "$share/learnvault/policies/course-improvement.json" \
	"$share/learnvault/policies/research-study.json" "$share/learnvault/policies/tutoring-personalisation.json" \
	"$share/learnvault/examples/statements.json" "$share/learnvault/examples/curriculum.json" \
	"$share/doc/learnvault/running.md"; do
	[ -f "$f" ] || fail "meson install did not install ${f#"$dest"}"
	echo "installed ${f#"$dest"}"
done
[ -x "$bin" ] || fail "the binary is not executable"

# The unit: hardened, and starting the installed binary with the installed
# configuration file.
for want in "ExecStart=$(abs "$LV_BINDIR")/learnvault serve --config $(abs "$LV_SYSCONFDIR")/learnvault/learnvault.conf" \
	User=learnvault StateDirectory=learnvault ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes \
	PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= SystemCallFilter=@system-service \
	MemoryDenyWriteExecute=yes ReadWritePaths=/var/lib/learnvault "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"; do
	grep -qxF "$want" "$unit" || fail "learnvault.service lacks '$want'"
done
grep -q '^u learnvault ' "$dest$LV_SYSUSERSDIR/learnvault.conf" || fail "sysusers.d entry has no user learnvault"

# The installed binary runs (from its installed place) and makes a node.
"$bin" --version | grep -q '^learnvault [0-9]' || fail "installed learnvault --version"
"$bin" init --data "$dest/node" >/dev/null 2>&1 || fail "installed learnvault init"
[ -f "$dest/node/node.db" ] || fail "init made no node.db"

if command -v systemd-analyze >/dev/null 2>&1; then
	# The unit as installed, but starting the binary from the scratch tree
	# (verify checks that ExecStart's program exists); the man page it
	# names is checked above, not through man(1).
	mkdir "$dest/verify"
	sed "s|^ExecStart=[^ ]*|ExecStart=$bin|" "$unit" >"$dest/verify/learnvault.service"
	if ! out=$(systemd-analyze verify --man=no "$dest/verify/learnvault.service" 2>&1); then
		echo "$out"
		fail "systemd-analyze verify learnvault.service"
	fi
	[ -z "$out" ] || { echo "$out"; fail "systemd-analyze warns about learnvault.service"; }
	echo "systemd-analyze verify: learnvault.service clean"
else
	echo "systemd-analyze not installed: the unit's syntax was not verified (package systemd)"
fi
echo "PASS"
