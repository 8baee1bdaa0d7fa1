#!/usr/bin/env bash
# The install test: DriveDeck's .deb installed, used, upgraded, removed and purged the
# way a user does it, and its .rpm checked for the same files.
#
#   cargo xtask install-test [--here]   # builds the installers, then runs this
#                                       # (with --chroot unless --here)
#   bash tests/install/install-test.sh [--chroot] [DEB]
#
#   DEB       a built .deb (default: the newest in target/release/bundle/deb/)
#   --chroot  install into a fresh Debian 12 root made with debootstrap (about a minute
#             more here: a minimal base system, then whatever the .deb's Depends pull in),
#             so a dependency the package forgets to declare shows up; without it, the
#             package goes onto this machine with dpkg -i (+ apt-get -f install)
#
# Run it as root (or with sudo; --chroot needs root) on a Debian/Ubuntu machine you may
# install packages on. Without --chroot it refuses to start if DriveDeck is already
# installed here, and removes what it installed when it stops, pass or fail. Steps:
#   1. the package's metadata; install it (apt resolves its dependencies)
#   2. the installed files: both binaries (no missing library), the desktop entry, icons
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

CHROOT=0
if [ "${1:-}" = --chroot ]; then CHROOT=1; shift; fi
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
XVFB_PID=

# R: where the installed system is seen from here ("" for this machine, the chroot's
# folder otherwise). in_root runs a command in that system, as root.
if [ "$CHROOT" = 1 ]; then
  [ "$(id -u)" = 0 ] || fail "--chroot needs root"
  R=$WORK/root
  in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "$@"; }
else
  R=
  in_root() { as_root env DEBIAN_FRONTEND=noninteractive "$@"; }
fi

unmount_all() {
  [ "$CHROOT" = 1 ] || return 0
  for dir in tmp/.X11-unix dev/shm dev/pts dev proc; do
    if mountpoint -q "$R/$dir"; then umount "$R/$dir" || umount -l "$R/$dir" || true; fi
  done
}
cleanup() {
  [ -n "$CLI_PID" ] && kill "$CLI_PID" 2>/dev/null || true
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
  if [ "$CHROOT" = 1 ]; then
    unmount_all
    # Never delete through a mount that is still there (it would reach this machine's /dev).
    if grep -q " $R/" /proc/mounts; then
      echo "install-test: $R still has mounts; left in place" >&2
      return
    fi
  elif [ "$INSTALLED_BY_US" = 1 ] && dpkg-query -W "$PKG" >/dev/null 2>&1; then
    echo "install-test: purging $PKG after a failure" >&2
    as_root dpkg -P "$PKG" >/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

installed_status() { in_root dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null || true; }
if [ "$CHROOT" = 0 ] && [ "$(installed_status)" = "install ok installed" ]; then
  fail "$PKG is already installed here; remove it first (sudo dpkg -P $PKG)"
fi

# What the test itself uses on this machine: Xvfb, WebKitWebDriver and node (as for the
# window tests), rpm to read the .rpm, desktop-file-validate, python3 for SQLite,
# debootstrap for --chroot.
need=()
command -v Xvfb >/dev/null || need+=(xvfb)
[ -x /usr/bin/WebKitWebDriver ] || need+=(webkit2gtk-driver)
command -v rpm >/dev/null || need+=(rpm)
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
command -v python3 >/dev/null || need+=(python3)
if [ "$CHROOT" = 1 ]; then
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
fi
if [ ${#need[@]} -gt 0 ]; then
  step "installing what the test uses: ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# One X server for the whole test, with no access control, so that an app in the
# chroot can reach it through the bind-mounted /tmp/.X11-unix.
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$WORK/display" 2>/dev/null &
XVFB_PID=$!
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.05; done
[ -s "$WORK/display" ] || fail "Xvfb did not start"
export DISPLAY=":$(head -n1 "$WORK/display")"

if [ "$CHROOT" = 1 ]; then
  CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  [ "$(. /etc/os-release && echo "$ID")" = debian ] || CODENAME=bookworm
  step "0. a fresh Debian $CODENAME root (debootstrap --variant=minbase) in $R"
  started=$(date +%s)
  debootstrap --variant=minbase "$CODENAME" "$R" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
  echo "  made in $(( $(date +%s) - started )) s"
  mount -t proc proc "$R/proc"
  mount --bind /dev "$R/dev"
  mount --bind /dev/pts "$R/dev/pts"
  mount -t tmpfs -o mode=1777 shm "$R/dev/shm" # the webview's shared memory, the root's own
  mkdir -p "$R/tmp/.X11-unix"
  mount --bind /tmp/.X11-unix "$R/tmp/.X11-unix"
  in_root apt-get update -qq
fi

step "1. the package: $DEB"
dpkg-deb -f "$DEB" Package Version Architecture Section Depends Homepage Maintainer | sed 's/^/  /'
check "Depends names the webview" grep -q libwebkit2gtk-4.1 <<<"$(dpkg-deb -f "$DEB" Depends)"
size_of "$DEB"

step "1. installing it"
INSTALLED_BY_US=1
started=$(date +%s)
if [ "$CHROOT" = 1 ]; then
  # apt installs a local .deb with the dependencies it declares, and nothing else.
  cp "$DEB" "$R/tmp/$PKG.deb"
  in_root apt-get install -y -qq --no-install-recommends "/tmp/$PKG.deb" >"$WORK/apt.log" 2>&1 ||
    { tail -n 20 "$WORK/apt.log" >&2; fail "apt-get install of the .deb into the fresh root"; }
  echo "  installed with $(grep -c '^Setting up' "$WORK/apt.log") packages in $(( $(date +%s) - started )) s"
elif ! in_root dpkg -i "$DEB"; then
  in_root apt-get -f install -y -qq
fi
check "dpkg reports $PKG $VERSION installed" test "$(installed_status)" = "install ok installed"

step "2. the installed files"
check "/usr/bin/drivedeck is an executable" test -x "$R/usr/bin/drivedeck"
check "/usr/bin/drivedeck-cli is an executable" test -x "$R/usr/bin/drivedeck-cli"
check "both on PATH" test "$(in_root sh -c 'command -v drivedeck; command -v drivedeck-cli' | tr '\n' ' ')" = "/usr/bin/drivedeck /usr/bin/drivedeck-cli "
check "every library they need is there (ldd)" test -z "$(in_root ldd /usr/bin/drivedeck /usr/bin/drivedeck-cli | grep 'not found' || true)"
DESKTOP=$(in_root dpkg -L "$PKG" | grep '^/usr/share/applications/.*\.desktop$' | head -n1)
check "a desktop entry ($DESKTOP)" test -f "$R$DESKTOP"
check "the desktop entry is valid (desktop-file-validate)" desktop-file-validate "$R$DESKTOP"
check "it starts drivedeck, with the drivedeck icon" grep -qx 'Exec=drivedeck' "$R$DESKTOP"
check "  …and is filed under Development" grep -q '^Categories=.*Development' "$R$DESKTOP"
for size in 32x32 64x64 128x128 256x256 512x512; do
  check "icon $size" test -f "$R/usr/share/icons/hicolor/$size/apps/drivedeck.png"
done
check "scalable icon" test -f "$R/usr/share/icons/hicolor/scalable/apps/drivedeck.svg"

step "3. drivedeck-cli sim --ids 1, from the installed path"
# Started directly (not through a shell function), so that $! is the CLI itself.
if [ "$CHROOT" = 1 ]; then
  chroot "$R" /usr/bin/drivedeck-cli sim --ids 1 >"$WORK/cli.out" 2>&1 &
else
  /usr/bin/drivedeck-cli sim --ids 1 >"$WORK/cli.out" 2>&1 &
fi
CLI_PID=$!
for _ in $(seq 100); do grep -q '^port: ' "$WORK/cli.out" && break; sleep 0.05; done
PORT_LINE=$(head -n1 "$WORK/cli.out")
echo "  first line: $PORT_LINE"
check "it prints port: /dev/pts/N first" grep -Eqx 'port: /dev/pts/[0-9]+' <<<"$PORT_LINE"
check "the pty is there, a character device" in_root test -c "${PORT_LINE#port: }"
kill "$CLI_PID"; wait "$CLI_PID" 2>/dev/null || true; CLI_PID=

if [ "$CHROOT" = 1 ]; then
  step "4. WebKitWebDriver into the root, to drive the window (installed after the app, so it cannot hide a dependency the app lacks)"
  in_root apt-get install -y -qq --no-install-recommends webkit2gtk-driver >"$WORK/apt-driver.log" 2>&1 ||
    { tail -n 20 "$WORK/apt-driver.log" >&2; fail "webkit2gtk-driver in the root"; }
  WINDOW_ROOT=(--root "$R")
else
  WINDOW_ROOT=()
fi

# The app as a user starts it: no arguments, a home of its own. The data folder is
# the XDG default for the identifier in src-tauri/tauri.conf.json.
USER_HOME=/tmp/drivedeck-install-test-home
[ "$CHROOT" = 1 ] || USER_HOME=$WORK/home
DATA=$R$USER_HOME/.local/share/dev.drivedeck.DriveDeck
open_window() { # open_window SCREENSHOT: the installed app on the simulated rig
  timeout 180 node "$ROOT/tests/install/window.mjs" "${WINDOW_ROOT[@]}" \
    --app /usr/bin/drivedeck --home "$USER_HOME" --shot "$1"
}
sessions() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from sessions").fetchone()[0])' "$DATA/drivedeck.db"; }

step "4. the installed app opens on the simulated rig (first run, HOME=$USER_HOME)"
check "the window shows the two simulated drives on a pty" open_window "$ARTIFACTS/installed.png"
check "the first run made the data folder ~/.local/share/dev.drivedeck.DriveDeck" test -d "$DATA"
check "  …with the database" test -s "$DATA/drivedeck.db"
check "  …holding the session just recorded" test "$(sessions)" -ge 1
check "  …the settings" test -s "$DATA/settings.json"
check "  …and profiles/ with its README and example" test -f "$DATA/profiles/README.txt" -a -f "$DATA/profiles/robotis-xm430-w350.toml.example"

step "4. start-up time of the installed app: median of 5 first starts (printed, not asserted)"
timeout 300 node "$ROOT/tests/install/window.mjs" "${WINDOW_ROOT[@]}" \
  --app /usr/bin/drivedeck --home "$USER_HOME-startup" --runs 5 --fresh |
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
if [ "$CHROOT" = 1 ]; then
  cp "$WORK/newer.deb" "$R/tmp/$PKG-newer.deb"
  NEWER=/tmp/$PKG-newer.deb
else
  NEWER=$WORK/newer.deb
fi
in_root dpkg -i "$NEWER" | tee "$WORK/upgrade.log"
check "dpkg unpacked it over $VERSION" grep -q "over ($VERSION)" "$WORK/upgrade.log"
check "the newer version is installed" test "$(in_root dpkg-query -W -f='${Version}' "$PKG")" = "$VERSION+upgradetest1"
check "the user's profile is still there" test -f "$DATA/profiles/my-drive.toml"
check "the database is still there, with its $SESSIONS_BEFORE session(s)" test "$(sessions)" -eq "$SESSIONS_BEFORE"
check "the settings are unchanged" cmp -s "$DATA/settings.json" "$WORK/settings.before.json"
check "the upgraded app opens on the same data" open_window "$ARTIFACTS/upgraded.png"
check "  …and recorded a second session into the same database" test "$(sessions)" -eq $((SESSIONS_BEFORE + 1))

step "6. removal (dpkg -r) and purge (dpkg -P)"
in_root dpkg -r "$PKG"
check "/usr/bin/drivedeck is gone" test ! -e "$R/usr/bin/drivedeck"
check "/usr/bin/drivedeck-cli is gone" test ! -e "$R/usr/bin/drivedeck-cli"
check "the desktop entry is gone" test ! -e "$R$DESKTOP"
in_root dpkg -P "$PKG"
check "dpkg knows nothing of $PKG any more" test -z "$(installed_status | grep -v not-installed || true)"
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

step "install test passed ($PKG $VERSION$([ "$CHROOT" = 1 ] && echo ', in a fresh Debian root'))"
