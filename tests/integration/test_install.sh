#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `meson install` gives a tree a user can live with: installed to a DESTDIR
# (so away from its configured prefix) and with the checkout out of reach, it
# runs a simulation, answers --version, shows its man pages and completes its
# commands in bash.
#
# "Out of reach" is proven, not assumed: as root the installed programs run in
# a mount namespace of their own (unshare -m) where an empty tmpfs covers the
# source tree (whose data/ path is compiled in), the build tree, and any
# fleetsim data or helpers already installed at the configured prefix.
# Without root that part is skipped, saying so.
source "$(dirname "$0")/lib.sh"

: "${FS_VERSION:?}" "${FS_BINDIR:?}" "${FS_LIBEXECDIR:?}" "${FS_DATADIR:?}" "${FS_MANDIR:?}" "${FS_COMPLETIONSDIR:?}"
DEST=$WORK/dest

if ! meson install -C "$BUILD" --no-rebuild --destdir "$DEST" >"$WORK/install.log" 2>&1; then
  cat "$WORK/install.log"
  not_ok "meson install --destdir"
  finish
  exit
fi
ok "meson install --destdir"

BIN=$DEST$FS_BINDIR
LIBEXEC=$DEST$FS_LIBEXECDIR
DATA=$DEST$FS_DATADIR
USERS=(fleetsim fleetctl)
[ "${FS_VIZ:-0}" = 1 ] && USERS+=(fleet-viz)

# --- the layout: user programs in bin, helpers in libexec/fleetsim, data in share/fleetsim
check "bin holds the user programs and no fs-* helper" \
  test "$(cd "$BIN" && ls | tr '\n' ' ')" = "$(printf '%s\n' "${USERS[@]}" | sort | tr '\n' ' ')"
check "libexec/fleetsim holds the helpers" \
  test -x "$LIBEXEC/fs-broker" -a -x "$LIBEXEC/fs-conductor" -a -x "$LIBEXEC/fs-vehicle" -a -x "$LIBEXEC/fs-dispatch" \
  -a -x "$LIBEXEC/fs-recorder" -a -x "$LIBEXEC/fs-rec" -a -x "$LIBEXEC/fs-replay" -a -x "$LIBEXEC/fs-rollout"
check "share/fleetsim holds the maps, demand data, geofences, examples and the data licences" \
  test -f "$DATA/osm/atlanta.osm.pbf" -a -f "$DATA/osm/columbus.osm.pbf" -a -f "$DATA/demand/nyc2019_profile.csv" \
  -a -f "$DATA/geofence/atlanta.geojson" -a -f "$DATA/examples/default.yaml" -a -f "$DATA/README.md"
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
for page in "${USERS[@]}"; do
  if [ "${FS_MAN:-1}" = 1 ]; then
    check "man page $page.1 installed" test -s "$DEST$FS_MANDIR/man1/$page.1"
  fi
  check "bash completion for $page installed" test -s "$DEST$FS_COMPLETIONSDIR/$page"
done

# A reference run from the build tree: the installed one must give the same digest.
"$SVC/fleetsim" run --duration 10m --bus "$(new_bus ref)" --out "$WORK/ref" --quiet 2>"$WORK/ref.log"

# --- what runs where the checkout cannot be reached: results go to $WORK/inside/
mkdir -p "$WORK/inside" "$WORK/cache"
cat >"$WORK/inside.sh" <<'INSIDE'
set -u
hide() { # DIR: cover it with an empty tmpfs (in this mount namespace only); gone already is fine
  [ ! -d "$1" ] || mount -t tmpfs -o size=64k,mode=0755 fleetsim-hidden "$1"
}
if [ "${HIDE:-0}" = 1 ]; then
  for d in "$SRC" "$BUILD" "$FS_DATADIR" "$FS_LIBEXECDIR"; do
    hide "$d" || { echo "cannot hide $d" >&2; exit 90; }
  done
fi
O=$WORK/inside
ls -A "$SRC" >"$O/src-listing" 2>&1
cd "$WORK" || exit 91
unset FLEETSIM_DATA FLEETSIM_BUS
export FLEETSIM_CACHE=$WORK/cache # empty: the map is read from the installed data
export PATH=$BIN:$PATH
mkdir -p "$WORK/bus-run" "$WORK/bus-viz"
fleetsim run --duration 10m --bus "ipc://$WORK/bus-run/b" --out "$O/run" --quiet 2>"$O/run.log"
echo $? >"$O/run.rc"
for p in "$BIN"/* "$LIBEXEC"/*; do
  "$p" --version >"$O/version.${p##*/}" 2>&1
done
for page in fleetsim fleetctl fleet-viz; do
  MANPAGER=cat MANWIDTH=100 man -M "$DEST$FS_MANDIR" "$page" >"$O/man.$page" 2>&1
done
complete_words() { # program words...: what completion offers for the last word
  bash --norc -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
    f=$(complete -p "$1" | sed "s/.*-F \([^ ]*\) .*/\1/"); $f; echo "${COMPREPLY[*]}"' \
    - "$DEST$FS_COMPLETIONSDIR/$1" "$@" 2>&1
}
complete_words fleetsim "" >"$O/complete.fleetsim"
complete_words fleetsim run --sc >"$O/complete.fleetsim-run"
complete_words fleetctl re >"$O/complete.fleetctl"
complete_words fleet-viz --scr >"$O/complete.fleet-viz"
if [ -x "$BIN/fleet-viz" ]; then
  # a broker and no run: the viewer loads the map, waits 1 s for a fleet, saves, exits 3 ("no data")
  "$LIBEXEC/fs-broker" --bus "ipc://$WORK/bus-viz/b" 2>"$O/broker.log" &
  broker=$!
  for _ in $(seq 500); do [ -S "$WORK/bus-viz/b/tap" ] && break; sleep 0.02; done
  fleet-viz --headless --bus "ipc://$WORK/bus-viz/b" --screenshot "$O/viz.png" \
    --wait 1 >"$O/viz.log" 2>&1
  echo $? >"$O/viz.rc"
  kill "$broker"
  wait "$broker"
fi
exit 0
INSIDE

export SRC BUILD WORK BIN LIBEXEC DEST FS_DATADIR FS_LIBEXECDIR FS_MANDIR FS_COMPLETIONSDIR
hidden=0
if [ "$(id -u)" -ne 0 ]; then
  diag "not root: the installed tree runs with the checkout still reachable (unshare -m needs root)"
elif ! unshare -m true 2>/dev/null; then
  diag "unshare -m refused here (a container without CAP_SYS_ADMIN?): the checkout stays reachable"
else
  hidden=1
fi
if [ "$hidden" = 1 ]; then
  HIDE=1 unshare -m bash "$WORK/inside.sh"
  rc=$?
  check "the checkout and the configured install are hidden (exit $rc)" test "$rc" -eq 0
  check "inside, the source tree is an empty directory" test ! -s "$WORK/inside/src-listing"
else
  bash "$WORK/inside.sh"
  skip "the run with the checkout hidden needs root and unshare -m"
fi

I=$WORK/inside
[ "$(cat "$I/run.rc")" = 0 ] || sed 's/^/# /' "$I/run.log"
check "installed fleetsim run --duration 10m exits 0 (exit $(cat "$I/run.rc"))" test "$(cat "$I/run.rc")" = 0
check "it wrote summary.json" test -s "$I/run/summary.json"
if [ -s "$I/run/summary.json" ] && [ -s "$WORK/ref/summary.json" ]; then
  digest=$(json "$I/run/summary.json" 'j["run_digest"]')
  check "it ran the 600 ticks" test "$(json "$I/run/summary.json" 'j["ticks"]')" = 600
  check "same run digest ($digest) as the build tree's run" \
    test -n "$digest" -a "$digest" = "$(json "$WORK/ref/summary.json" 'j["run_digest"]')"
fi
for p in "$BIN"/* "$LIBEXEC"/*; do
  name=${p##*/}
  check "$name --version prints '$name $FS_VERSION'" test "$(cat "$I/version.$name")" = "$name $FS_VERSION"
done
has_sections() { # man output file
  for section in 'EXIT STATUS' FILES ENVIRONMENT EXAMPLES; do grep -q "^$section" "$1" || return 1; done
}
if [ "${FS_MAN:-1}" = 1 ]; then
  check "man -M fleetsim shows the run options" grep -q -- '--duration D' "$I/man.fleetsim"
  check "man fleetsim names the installed data" grep -q "$FS_DATADIR/osm" "$I/man.fleetsim"
  check "man fleetsim: EXIT STATUS, FILES, ENVIRONMENT, EXAMPLES" has_sections "$I/man.fleetsim"
  check "man fleetctl: EXIT STATUS, FILES, ENVIRONMENT, EXAMPLES" has_sections "$I/man.fleetctl"
  check "man -M fleetctl shows the commands" grep -q 'keygen \[DIR\]' "$I/man.fleetctl"
else
  skip "man pages not built (-Dman=disabled, or no scdoc: scripts/deps installs it)"
fi
if [ "${FS_VIZ:-0}" = 1 ] && [ "${FS_MAN:-1}" = 1 ]; then
  check "man -M fleet-viz shows the keys" grep -q 'Quit the viewer' "$I/man.fleet-viz"
  check "man fleet-viz: EXIT STATUS, FILES, ENVIRONMENT, EXAMPLES" has_sections "$I/man.fleet-viz"
fi
if [ "${FS_VIZ:-0}" = 1 ]; then
  [ "$(cat "$I/viz.rc")" = 3 ] || sed 's/^/# /' "$I/viz.log"
  check "installed fleet-viz loads the installed map (exit 3: no fleet on its bus; got $(cat "$I/viz.rc"))" \
    test "$(cat "$I/viz.rc")" = 3
fi
check "completion: fleetsim <TAB> offers the commands ($(cat "$I/complete.fleetsim"))" \
  test "$(cat "$I/complete.fleetsim")" = "join replay rollout run version"
check "completion: fleetsim run --sc<TAB> -> --scenario" test "$(cat "$I/complete.fleetsim-run")" = "--scenario"
check "completion: fleetctl re<TAB> ($(cat "$I/complete.fleetctl"))" \
  test "$(cat "$I/complete.fleetctl")" = "record recover resume"
if [ "${FS_VIZ:-0}" = 1 ]; then
  check "completion: fleet-viz --scr<TAB>" \
    test "$(cat "$I/complete.fleet-viz")" = "--screenshot --screenshot-dir --screenshot-meta --screenshot-series"
fi
finish
