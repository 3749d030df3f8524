#!/usr/bin/env bash
# `just bench-enc`: what encryption costs (issue 14), the same steps into an unencrypted and an
# encrypted local repository, the two measured side by side in every repetition, in two modes:
#
#   cli     every command is its own process, so it derives the key from the passphrase once
#           (Argon2id, ~0.2 s here), as restic does on every command;
#   daemon  `strata serve --listen off` runs for each home and the commands go through its
#           control socket, as they do wherever Strata is deployed: the daemon derives the key
#           when it first opens the repository and keeps it in memory.
#
# usage: enc-run.sh DATA WORK
#   DATA  the scale-1 data set (gen-dataset.py DATA --scale 1)
#   WORK  scratch (wiped): source copy, homes, repositories, restores, results
# env: STRATA_BIN (default target/release/strata), REPS=3, MODES="cli daemon", MUTATE_PCT=1
#
# Steps per repetition: fresh copy of DATA; full (plain, then encrypted); gen-dataset --mutate;
# incremental; no-change incremental; restore of the incremental into a new directory, each
# restore's digest checked against the mutated source. The order of the two flips every
# repetition. Results: WORK/results.csv (mode,tool,step,rep,wall_s,cpu_s) and the medians and
# ratios printed by enc-ratios.py.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,21p' "$0"; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$(cd "$1" && pwd)
WORK=$2
S=${STRATA_BIN:-$HERE/../../target/release/strata}
REPS=${REPS:-3}
MODES=${MODES:-cli daemon}
MUTATE_PCT=${MUTATE_PCT:-1}
GEN=${GEN:-$HERE/../../../shared/bench/gen-dataset.py}
[ -x "$S" ] || { echo "enc-run: no strata binary at $S (cargo build --release)" >&2; exit 2; }
[ -f "$GEN" ] || { echo "enc-run: gen-dataset.py not found at $GEN (set GEN)" >&2; exit 2; }
rm -rf "$WORK"; mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
SRC="$WORK/src"; CSV="$WORK/results.csv"; PASS="$WORK/pass"
(umask 077; echo "bench passphrase" > "$PASS")
echo "mode,tool,step,rep,wall_s,cpu_s" > "$CSV"
{ echo "date: $(date -u +%FT%TZ)"; echo "binary: $S"; echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "work fs: $(df -T "$WORK" | awk 'NR==2{print $2}')"; } > "$WORK/machine.txt"

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }  # a process's user+sys jiffies
HZ=$(getconf CLK_TCK)
declare -A DAEMON

# run MODE TOOL STEP REP CMD...: one timed step; in daemon mode the daemon's CPU is added.
run() {
  local mode=$1 tool=$2 step=$3 rep=$4; shift 4
  local t0 t1 d0=0 d1=0 out="$WORK/logs/$mode-$tool-$step-$rep"
  sync
  [ "$mode" = daemon ] && d0=$(ticks "${DAEMON[$tool]}")
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$out.time" "$@" > "$out.out" 2>&1 || { echo "enc-run: $tool $step failed, see $out.out" >&2; cat "$out.out" >&2; exit 1; }
  t1=$(date +%s.%N)
  [ "$mode" = daemon ] && d1=$(ticks "${DAEMON[$tool]}")
  awk -v m="$mode" -v t="$tool" -v s="$step" -v r="$rep" -v w="$(echo "$t1 - $t0" | bc)" \
      -v d=$((d1 - d0)) -v hz="$HZ" '{printf "%s,%s,%s,%s,%.3f,%.2f\n", m, t, s, r, w, $1 + $2 + d / hz}' \
      "$out.time" >> "$CSV"
}

setup() {  # setup TOOL: a fresh home and repository
  local tool=$1 h="$WORK/$1"
  rm -rf "$h"; mkdir -p "$h"
  if [ "$tool" = enc ]; then
    "$S" --home "$h/home" dest add bench --local "$h/repo" --encrypt --passphrase-file "$PASS" > /dev/null
  else
    "$S" --home "$h/home" dest add bench --local "$h/repo" > /dev/null
  fi
  "$S" --home "$h/home" task add bench --dir "$SRC" --dest bench > /dev/null
}

serve() {  # serve TOOL: the daemon of TOOL's home, up once its control socket answers
  "$S" --home "$WORK/$1/home" serve --listen off > "$WORK/logs/serve-$1.log" 2>&1 &
  DAEMON[$1]=$!
  for _ in $(seq 100); do [ -S "$WORK/$1/home/strata.sock" ] && "$S" --home "$WORK/$1/home" jobs > /dev/null 2>&1 && return 0; sleep 0.1; done
  echo "enc-run: the daemon of $1 did not come up, see $WORK/logs/serve-$1.log" >&2; exit 1
}
stop_all() { for p in "${DAEMON[@]}"; do kill "$p" 2> /dev/null || true; wait "$p" 2> /dev/null || true; done; DAEMON=(); }
trap stop_all EXIT

mkdir -p "$WORK/logs"
for mode in $MODES; do
  for rep in $(seq "$REPS"); do
    order="plain enc"; [ $((rep % 2)) -eq 0 ] && order="enc plain"
    rm -rf "$SRC"; cp -a "$DATA" "$SRC"
    for t in $order; do setup "$t"; done
    if [ "$mode" = daemon ]; then for t in $order; do serve "$t"; done; fi
    for t in $order; do run "$mode" "$t" full "$rep" "$S" --home "$WORK/$t/home" backup run bench --full; done
    python3 "$GEN" "$SRC" --mutate "$MUTATE_PCT" 2>> "$WORK/logs/mutate.log"
    want=$(python3 "$GEN" "$SRC" --digest)
    for t in $order; do run "$mode" "$t" incr "$rep" "$S" --home "$WORK/$t/home" backup run bench --incremental; done
    for t in $order; do run "$mode" "$t" nochange "$rep" "$S" --home "$WORK/$t/home" backup run bench --incremental; done
    for t in $order; do
      rm -rf "$WORK/$t/restore"
      run "$mode" "$t" restore "$rep" "$S" --home "$WORK/$t/home" restore bench:latest --to "$WORK/$t/restore"
      got=$(python3 "$GEN" "$WORK/$t/restore" --digest)
      [ "$got" = "$want" ] || { echo "enc-run: MISMATCH: $mode $t rep $rep restored $got, source is $want" >&2; exit 1; }
    done
    stop_all
    echo "enc-run: $mode rep $rep done" >&2
  done
done
python3 "$HERE/enc-ratios.py" "$CSV"
