#!/usr/bin/env bash
# Run a command on a private, throw-away X display with a window manager and
# a system tray, e.g.:
#
#   scripts/with-xserver.sh .venv/bin/python -m pytest -m xserver tests/desktop
#
# Starts Xvfb on a free display (Xvfb -displayfd picks it), openbox, and trayer
# (owner of _NET_SYSTEM_TRAY_S0); waits until each is ready; runs the command
# with DISPLAY, XAUTHORITY, QT_QPA_PLATFORM=xcb and a private XDG_RUNTIME_DIR;
# then stops everything it started, also on failure or Ctrl+C.
# Exit status: the command's, or 125 if the X environment could not be set up.
#
# Environment knobs: XSERVER_SCREEN (default 1920x1080x24),
# XSERVER_READY_TIMEOUT (seconds per readiness step, default 15),
# XSERVER_KEEP_LOGS=1 (keep logs of Xvfb/openbox/trayer and print their path).
# Functions here are called indirectly (traps, wait_until), which shellcheck reads as unreachable.
# shellcheck disable=SC2317
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

SCREEN="${XSERVER_SCREEN:-1920x1080x24}"
READY_TIMEOUT="${XSERVER_READY_TIMEOUT:-15}"
SETUP_FAILED=125

for tool in Xvfb xauth xdpyinfo xprop openbox trayer mcookie; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "with-xserver: '$tool' not found; run scripts/install-gui-deps.sh" >&2
    exit "$SETUP_FAILED"
  fi
done

WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/techpal-x.XXXXXX")"  # mktemp -d is mode 0700
RUNTIME_DIR="$WORKDIR/runtime"
mkdir -m 0700 "$RUNTIME_DIR"
PIDS=()

cleanup() {
  local status=$?
  # Reverse start order: tray and WM first, so they exit while X still answers.
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    wait "${PIDS[i]}" 2>/dev/null || true
  done
  if [[ "${XSERVER_KEEP_LOGS:-0}" == 1 ]]; then
    echo "with-xserver: logs kept in $WORKDIR" >&2
  else
    rm -rf "$WORKDIR"
  fi
  exit "$status"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail_setup() {
  echo "with-xserver: $*" >&2
  local log
  for log in "$WORKDIR"/*.log; do
    [[ -s "$log" ]] || continue
    echo "----- $(basename "$log") -----" >&2
    tail -n 30 "$log" >&2
  done
  exit "$SETUP_FAILED"
}

# wait_until DESCRIPTION COMMAND...: poll every 0.1 s up to READY_TIMEOUT seconds.
wait_until() {
  local what=$1
  shift
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      fail_setup "timed out after ${READY_TIMEOUT}s waiting for $what"
    fi
    sleep 0.1
  done
}

# Helpers run under setsid: a Ctrl+C in the terminal then reaches only the
# command (pytest can report and tear down while X still works); the EXIT
# trap stops the helpers afterwards. (A background setsid execs in place,
# so $! is the helper's own pid.)

# --- X server on a free display, with a private MIT-MAGIC-COOKIE ------------
# The server accepts any cookie in its -auth file, whatever display it names;
# clients need an entry for the real display, added once it is known.
COOKIE="$(mcookie)"
touch "$WORKDIR/server.xauth" "$WORKDIR/client.xauth"  # else xauth complains it creates them
xauth -q -f "$WORKDIR/server.xauth" add :0 MIT-MAGIC-COOKIE-1 "$COOKIE"
# -noreset: otherwise the server resets when xdpyinfo (the only client) disconnects,
# and openbox may connect in the middle of that reset and fail.
setsid Xvfb -displayfd 3 -screen 0 "$SCREEN" -nolisten tcp -noreset -auth "$WORKDIR/server.xauth" \
  3>"$WORKDIR/displayfd" >"$WORKDIR/xvfb.log" 2>&1 &
PIDS+=($!)
XVFB_PID=$!

display_known() { grep -qE '^[0-9]+$' "$WORKDIR/displayfd" || ! kill -0 "$XVFB_PID"; }
wait_until "Xvfb to report its display number" display_known
kill -0 "$XVFB_PID" 2>/dev/null || fail_setup "Xvfb exited during start-up"
DISPLAY=":$(head -n 1 "$WORKDIR/displayfd")"
export DISPLAY
export XAUTHORITY="$WORKDIR/client.xauth"
xauth -q -f "$XAUTHORITY" add "$DISPLAY" MIT-MAGIC-COOKIE-1 "$COOKIE"
wait_until "$DISPLAY to answer xdpyinfo" xdpyinfo

# --- window manager -----------------------------------------------------------
setsid openbox --sm-disable >"$WORKDIR/openbox.log" 2>&1 &
PIDS+=($!)
# xprop prints "... not found." with exit 0 while the property is absent.
wm_ready() { xprop -root -notype _NET_SUPPORTING_WM_CHECK | grep -q 'window id'; }
wait_until "openbox to set _NET_SUPPORTING_WM_CHECK" wm_ready

# --- system tray -------------------------------------------------------------
setsid trayer --edge top --align right --widthtype request --height 24 \
  --transparent false --tint 0x333333 --SetDockType true --expand true \
  >"$WORKDIR/trayer.log" 2>&1 &
PIDS+=($!)

# Nothing in x11-utils prints a selection owner, so ask Xlib directly; any
# Python 3 with ctypes will do. Without one, fall back to trayer's window and
# leave the exact check to the tests (they poll isSystemTrayAvailable()).
tray_owned() {
  "$PYTHON_FOR_CHECK" -c '
import ctypes, sys
x = ctypes.CDLL("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XGetSelectionOwner.restype = ctypes.c_ulong
x.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]
d = x.XOpenDisplay(None)
if not d:
    sys.exit(2)
owner = x.XGetSelectionOwner(d, x.XInternAtom(d, b"_NET_SYSTEM_TRAY_S0", 0))
x.XCloseDisplay(d)
sys.exit(0 if owner else 1)
'
}
trayer_window() { xdotool search --classname trayer; }
PYTHON_FOR_CHECK="$(command -v python3 || true)"
if [[ -n "$PYTHON_FOR_CHECK" ]] && "$PYTHON_FOR_CHECK" -c 'import ctypes' 2>/dev/null; then
  wait_until "trayer to own _NET_SYSTEM_TRAY_S0" tray_owned
elif command -v xdotool >/dev/null 2>&1; then
  wait_until "trayer's window" trayer_window
else
  sleep 2
fi

# --- run the command -----------------------------------------------------------
export QT_QPA_PLATFORM=xcb
export XDG_RUNTIME_DIR="$RUNTIME_DIR"
# Keep Qt away from any desktop session bus of the host: its StatusNotifier
# tray would take the icon instead of this display's XEmbed tray.
unset DBUS_SESSION_BUS_ADDRESS WAYLAND_DISPLAY

set +e
"$@"
status=$?
set -e
exit "$status"
