#!/usr/bin/env bash
# The install test: DriveDeck's .deb installed, used, upgraded, removed and purged on
# this machine the way a user does it, and its .rpm checked for the same files.
#
#   cargo xtask install-test                # builds the installers, then runs this
#   bash tests/install/install-test.sh [DEB] # reuses a built .deb (default: the newest
#                                            # in target/release/bundle/deb/)
#
# It changes the machine: run it as root (or with sudo available) on a Debian/Ubuntu
# machine you may install packages on. It refuses to start if DriveDeck is already
# installed, and removes what it installed when it stops, pass or fail. Steps:
#   1. the package's metadata; install with dpkg -i (+ apt-get -f install for deps)
#   2. the installed files: both binaries, the desktop entry, the icons
#   3. drivedeck-cli from /usr/bin serves simulated drives on a pty
#   4. the installed app, started with a throwaway HOME under Xvfb through
#      WebKitWebDriver, opens on the simulated rig; its first run creates the data
#      folder (database, settings, profiles/) under ~/.local/share. Then its start-up
#      time: the median of 5 first starts, to first paint and to the main screen
#   5. an upgrade (the same package as a newer version) keeps that data, and the app
#      opens on it again: a second session in the same database
#   6. dpkg -r then dpkg -P remove the binaries; the user's data stays
#   7. the .rpm holds the same files (rpm -qlp), with its metadata (rpm -qip)
# Screenshots go to tests/install/artifacts/. Figures (sizes, start-up times) are
# printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'install-test: FAILED: %s\n' "$*" >&2; exit 1; }
check() { # check DESCRIPTION COMMAND...: runs the command, fails the test if it fails
  local what=$1; shift
  if "$@"; then printf '  ok  %s\n' "$what"; else fail "$what"; fi
}
size_of() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "  size: %.2f MB (%d bytes)\n", b / 1e6, b }'; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

DEB=${1:-$(ls -t target/release/bundle/deb/*.deb 2>/dev/null | head -n1 || true)}
[ -n "$DEB" ] && [ -f "$DEB" ] || fail "no .deb given or built (run: cargo xtask install-test)"
DEB=$(realpath "$DEB")
RPM=$(ls -t "$(dirname "$DEB")"/../rpm/*.rpm 2>/dev/null | head -n1 || true)
PKG=$(dpkg-deb -f "$DEB" Package)
VERSION=$(dpkg-deb -f "$DEB" Version)
WORK=$(mktemp -d /tmp/drivedeck-install-test.XXXXXX)
ARTIFACTS=$ROOT/tests/install/artifacts
mkdir -p "$ARTIFACTS"
INSTALLED_BY_US=0
CLI_PID=

cleanup() {
  [ -n "$CLI_PID" ] && kill "$CLI_PID" 2>/dev/null || true
  if [ "$INSTALLED_BY_US" = 1 ] && dpkg-query -W "$PKG" >/dev/null 2>&1; then
    echo "install-test: purging $PKG after a failure" >&2
    as_root dpkg -P "$PKG" >/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

installed_status() { dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null || true; }
if [ "$(installed_status)" = "install ok installed" ]; then
  fail "$PKG is already installed here; remove it first (sudo dpkg -P $PKG)"
fi

# What the test itself needs: Xvfb and WebKitWebDriver (as for the window tests),
# rpm to read the .rpm, desktop-file-validate for the desktop entry.
need=()
command -v xvfb-run >/dev/null || need+=(xvfb xauth)
[ -x /usr/bin/WebKitWebDriver ] || need+=(webkit2gtk-driver)
command -v rpm >/dev/null || need+=(rpm)
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  step "installing what the test uses: ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

step "1. the package: $DEB"
dpkg-deb -f "$DEB" Package Version Architecture Section Depends Homepage Maintainer | sed 's/^/  /'
check "Depends names the webview" grep -q libwebkit2gtk-4.1 <<<"$(dpkg-deb -f "$DEB" Depends)"
size_of "$DEB"

step "1. installing it (dpkg -i, then apt-get -f install for any missing dependency)"
INSTALLED_BY_US=1
if ! as_root dpkg -i "$DEB"; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq
fi
check "dpkg reports $PKG $VERSION installed" test "$(installed_status)" = "install ok installed"

step "2. the installed files"
check "/usr/bin/drivedeck is an executable" test -x /usr/bin/drivedeck
check "/usr/bin/drivedeck-cli is an executable" test -x /usr/bin/drivedeck-cli
check "both on PATH" test "$(command -v drivedeck)" = /usr/bin/drivedeck -a "$(command -v drivedeck-cli)" = /usr/bin/drivedeck-cli
DESKTOP=$(dpkg -L "$PKG" | grep '^/usr/share/applications/.*\.desktop$' | head -n1)
check "a desktop entry ($DESKTOP)" test -f "$DESKTOP"
check "the desktop entry is valid (desktop-file-validate)" desktop-file-validate "$DESKTOP"
check "it starts drivedeck, with the drivedeck icon" grep -qx 'Exec=drivedeck' "$DESKTOP"
check "  …and is filed under Development" grep -q '^Categories=.*Development' "$DESKTOP"
for size in 32x32 64x64 128x128 256x256 512x512; do
  check "icon $size" test -f "/usr/share/icons/hicolor/$size/apps/drivedeck.png"
done
check "scalable icon" test -f /usr/share/icons/hicolor/scalable/apps/drivedeck.svg

step "3. drivedeck-cli sim --ids 1, from the installed path"
/usr/bin/drivedeck-cli sim --ids 1 >"$WORK/cli.out" 2>&1 &
CLI_PID=$!
for _ in $(seq 100); do grep -q '^port: ' "$WORK/cli.out" && break; sleep 0.05; done
PORT_LINE=$(head -n1 "$WORK/cli.out")
echo "  first line: $PORT_LINE"
check "it prints port: /dev/pts/N first" grep -Eqx 'port: /dev/pts/[0-9]+' <<<"$PORT_LINE"
check "the pty is there, a character device" test -c "${PORT_LINE#port: }"
kill "$CLI_PID"; wait "$CLI_PID" 2>/dev/null || true; CLI_PID=

# The app as a user starts it: no arguments, a home of its own. The data folder is
# the XDG default for the identifier in src-tauri/tauri.conf.json.
USER_HOME=$WORK/home
DATA=$USER_HOME/.local/share/dev.drivedeck.DriveDeck
open_window() { # open_window SCREENSHOT: the installed app on the simulated rig
  timeout 180 xvfb-run -a -s "-screen 0 1280x800x24" \
    node "$ROOT/tests/install/window.mjs" --app /usr/bin/drivedeck --home "$USER_HOME" --shot "$1"
}
sessions() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from sessions").fetchone()[0])' "$DATA/drivedeck.db"; }

step "4. the installed app opens on the simulated rig (first run, HOME=$USER_HOME)"
check "the window shows the two simulated drives on a pty" open_window "$ARTIFACTS/installed.png"
check "the first run made the data folder $DATA" test -d "$DATA"
check "  …with the database" test -s "$DATA/drivedeck.db"
check "  …holding the session just recorded" test "$(sessions)" -ge 1
check "  …the settings" test -s "$DATA/settings.json"
check "  …and profiles/ with its README and example" test -f "$DATA/profiles/README.txt" -a -f "$DATA/profiles/robotis-xm430-w350.toml.example"

step "4. start-up time of the installed app: median of 5 first starts (printed, not asserted)"
timeout 300 xvfb-run -a -s "-screen 0 1280x800x24" \
  node "$ROOT/tests/install/window.mjs" --app /usr/bin/drivedeck --home "$WORK/startup" --runs 5 --fresh |
  sed 's/,"status".*}$/}/' | sed 's/^/  /'

SESSIONS_BEFORE=$(sessions)
# What a user adds and changes by hand must survive the upgrade.
cp "$DATA/profiles/robotis-xm430-w350.toml.example" "$DATA/profiles/my-drive.toml"
cp "$DATA/settings.json" "$WORK/settings.before.json"

step "5. upgrade: the same package as version $VERSION+upgradetest1, installed over it"
# A real dpkg upgrade of this package: the newer version's files replace the old ones.
dpkg-deb -R "$DEB" "$WORK/newer"
sed -i "s/^Version: .*/Version: $VERSION+upgradetest1/" "$WORK/newer/DEBIAN/control"
dpkg-deb --root-owner-group -b "$WORK/newer" "$WORK/newer.deb" >/dev/null
as_root dpkg -i "$WORK/newer.deb" | tee "$WORK/upgrade.log"
check "dpkg unpacked it over $VERSION" grep -q "over ($VERSION)" "$WORK/upgrade.log"
check "the newer version is installed" test "$(dpkg-query -W -f='${Version}' "$PKG")" = "$VERSION+upgradetest1"
check "the user's profile is still there" test -f "$DATA/profiles/my-drive.toml"
check "the database is still there, with its $SESSIONS_BEFORE session(s)" test "$(sessions)" -eq "$SESSIONS_BEFORE"
check "the settings are unchanged" cmp -s "$DATA/settings.json" "$WORK/settings.before.json"
check "the upgraded app opens on the same data" open_window "$ARTIFACTS/upgraded.png"
check "  …and recorded a second session into the same database" test "$(sessions)" -eq $((SESSIONS_BEFORE + 1))

step "6. removal (dpkg -r) and purge (dpkg -P)"
as_root dpkg -r "$PKG"
check "/usr/bin/drivedeck is gone" test ! -e /usr/bin/drivedeck
check "/usr/bin/drivedeck-cli is gone" test ! -e /usr/bin/drivedeck-cli
check "the desktop entry is gone" test ! -e "$DESKTOP"
as_root dpkg -P "$PKG"
check "dpkg knows nothing of $PKG any more" test -z "$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -v not-installed || true)"
INSTALLED_BY_US=0
check "the user's data folder stays (uninstalling never deletes a user's recordings)" test -s "$DATA/drivedeck.db"

step "7. the .rpm: ${RPM:-none}"
[ -n "$RPM" ] && [ -f "$RPM" ] || fail "no .rpm beside the .deb"
rpm -qip "$RPM" 2>/dev/null | grep -E '^(Name|Version|Release|Architecture|License|URL|Summary|Size)' | sed 's/^/  /'
rpm -qlp "$RPM" 2>/dev/null >"$WORK/rpm.files"
for file in /usr/bin/drivedeck /usr/bin/drivedeck-cli /usr/share/applications/DriveDeck.desktop \
  /usr/share/icons/hicolor/128x128/apps/drivedeck.png /usr/share/icons/hicolor/scalable/apps/drivedeck.svg; do
  check "the .rpm holds $file" grep -qx "$file" "$WORK/rpm.files"
done
check "it requires the webview" grep -q libwebkit2gtk-4.1 <<<"$(rpm -qpR "$RPM" 2>/dev/null)"
size_of "$RPM"

step "install test passed ($PKG $VERSION)"
