#!/usr/bin/env bash
# Daemon CPU while SSH consoles watch a running backup.
#
#   bash tests/bench/ssh-watch.sh
#
# Starts `strata serve` on a free loopback port in a temporary home, opens
# SESSIONS (20) `ssh -tt` consoles, each in its own 120x40 tmux session on a
# private tmux server, and samples the daemon's utime+stime (/proc/PID/stat)
# over four windows of WINDOW seconds:
#
#   idle        no sessions, no backup            (the daemon's floor)
#   watch       SESSIONS consoles, no backup      (cost of watching an idle catalog)
#   watch+run   SESSIONS consoles, a full backup  (what users see)
#   run         no sessions, a full backup        (the backup's own CPU)
#
# cores = Δ(utime+stime) / Δwall. The watching cost while a backup runs is
# watch+run - run, for the whole daemon and, less noisy, for the daemon's
# threads that existed before the backup started (the backup's engine threads
# are started per run, so this leaves them out); the target is <= 0.5 core.
# Each backup is a --full of the same incompressible data (DATA_MIB MiB, about
# 30 s per backup here), started over SSH exec with --detach; the engine is
# limited to one worker thread (STRATA_THREADS=1) so the backup leaves a core
# for the sessions on a 2-core machine. A window only counts if the backup was
# still running when it ended.
#
# Every console must show progress: during watch+run each pane is captured
# twice, and both captures must show the task's gauge ("[████····]  42%") with
# the percentage moving. Exits 1 if a session saw no progress or a window is
# invalid, 2 on a setup problem.
#
# Environment: SESSIONS (20), WINDOW (12 s), DATA_MIB (8192), FILE_MIB (64),
# STRATA_BIN (default: target/release/strata, built with `cargo build
# --release` unless NO_BUILD=1), KEEP=1 keeps the work directory,
# BENCH_TMP (default /tmp). Needs ssh, ssh-keygen, tmux, python3. Loopback only.
set -euo pipefail

SESSIONS=${SESSIONS:-20}
WINDOW=${WINDOW:-12}
DATA_MIB=${DATA_MIB:-8192}
FILE_MIB=${FILE_MIB:-64}
WARMUP=${WARMUP:-3}
KEEP=${KEEP:-0}
TASK=watched
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CMDLINE="SESSIONS=$SESSIONS WINDOW=$WINDOW DATA_MIB=$DATA_MIB${STRATA_BIN:+ STRATA_BIN=$STRATA_BIN} bash tests/bench/ssh-watch.sh"

log() { printf '[ssh-watch %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit "${2:-2}"; }

for tool in ssh ssh-keygen tmux python3 getconf; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

if [[ -z ${STRATA_BIN:-} ]]; then
  STRATA_BIN=$ROOT/target/release/strata
  if [[ ${NO_BUILD:-0} != 1 ]]; then
    log "cargo build --release (slow when cold: ~8 min on 2 cores)"
    (cd "$ROOT" && cargo build --release --quiet) || die "release build failed"
  fi
fi
[[ -x $STRATA_BIN ]] || die "no strata binary at $STRATA_BIN"

WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/strata-ssh-watch.XXXXXX")
H=$WORK/home
TMUX_SOCK=strata-ssh-watch-$$
DAEMON_PID=
cleanup() {
  local rc=$? j
  for j in $(jobs -p); do [[ $j == "$DAEMON_PID" ]] || kill "$j" 2>/dev/null || true; done
  tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TMUX_SOCK"
  if [[ -n $DAEMON_PID ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
  fi
  if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

S=("$STRATA_BIN" --home "$H")

# --- data: incompressible, unique (no dedup), in FILE_MIB files ------------
log "writing $DATA_MIB MiB of random data"
mkdir -p "$WORK/src"
n=$(( (DATA_MIB + FILE_MIB - 1) / FILE_MIB ))
for i in $(seq 1 "$n"); do
  head -c "$((FILE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/src/f$i.bin" &
  if (( i % 2 == 0 )); then wait; fi
done
wait
sync   # write the data out now, not during the idle window

# --- home, destination, task, key, settings --------------------------------
"${S[@]}" dest add bench --local "$WORK/repo" > "$WORK/setup.log"
"${S[@]}" task add "$TASK" --dir "$WORK/src" --dest bench >> "$WORK/setup.log"
ssh-keygen -q -t ed25519 -N '' -C ssh-watch -f "$WORK/key"
"${S[@]}" keys add "$WORK/key.pub" --role operator --name watcher >> "$WORK/setup.log"
printf '[ssh]\nmax_sessions = %d\n' $((SESSIONS + 20)) > "$H/strata.toml"

# Port 0: the daemon picks a free port and names it in its start line.
STRATA_THREADS=1 "${S[@]}" serve --listen 127.0.0.1:0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
DAEMON_PID=$!
for _ in $(seq 100); do
  grep -q 'SSH on' "$WORK/serve.err" 2>/dev/null && [[ -S $H/strata.sock ]] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || die "strata serve exited: $(cat "$WORK/serve.err")"
  sleep 0.1
done
grep -q 'SSH on' "$WORK/serve.err" || die "strata serve did not start: $(cat "$WORK/serve.err")"
PORT=$(sed -n 's/^strata: SSH on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$WORK/serve.err")
[[ -n $PORT ]] || die "no port in the daemon's start line: $(cat "$WORK/serve.err")"
log "daemon pid $DAEMON_PID on 127.0.0.1:$PORT"

SSH_OPTS=(-o StrictHostKeyChecking=no -o "UserKnownHostsFile=$WORK/known_hosts" -o IdentitiesOnly=yes
          -o BatchMode=yes -o LogLevel=ERROR -i "$WORK/key" -p "$PORT")
remote() { ssh "${SSH_OPTS[@]}" watcher@127.0.0.1 "$@" < /dev/null; }

# --- sampling ----------------------------------------------------------------
# measure NAME [TIDS]: WINDOW seconds of the daemon's CPU. Prints "NAME cores
# machine peak wall old": the daemon's cores, the whole machine's busy cores
# (/proc/stat, all but idle and iowait), the busiest 1-second sample, the
# window's length, and the cores of the daemon threads listed in TIDS (taken
# just before the backup started: the consoles, the SSH runtime, the snapshot
# feed, the scheduler; not the backup's engine threads, which are new).
measure() {
  python3 - "$DAEMON_PID" "$WINDOW" "$1" "${2:-}" <<'PY'
import os, sys, time
pid, window, name, tidfile = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
old = set(open(tidfile).read().split()) if tidfile else None
tck = os.sysconf("SC_CLK_TCK")
def proc():
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / tck      # utime + stime
def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / tck               # all but idle and iowait
def threads():   # CPU seconds of the threads started before the backup
    total = 0.0
    for tid in old & set(os.listdir(f"/proc/{pid}/task")):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(rest[11]) + int(rest[12])) / tck
    return total
o0 = threads() if old else 0.0
t0, c0, m0 = time.monotonic(), proc(), machine()
per_sec, last_t, last_c = [], t0, c0
while time.monotonic() - t0 < window:
    time.sleep(1)
    t, c = time.monotonic(), proc()
    per_sec.append((c - last_c) / (t - last_t))
    last_t, last_c = t, c
t1, c1, m1 = time.monotonic(), proc(), machine()
o1 = threads() if old else 0.0
wall = t1 - t0
olds = f"{(o1 - o0) / wall:.3f}" if old else "-"
print(f"{name} {(c1 - c0) / wall:.3f} {(m1 - m0) / wall:.2f} {max(per_sec):.2f} {wall:.1f} {olds}")
PY
}

job_running() {  # prints the phase of TASK's job, or nothing
  "${S[@]}" jobs --json | python3 -c '
import json, sys
for j in json.load(sys.stdin):
    if j["task"] == sys.argv[1]:
        print(j["phase"], j["bytes_done"], j["bytes_total"])' "$TASK"
}
wait_no_job() {
  for _ in $(seq 600); do [[ -z $(job_running) ]] && return 0; sleep 1; done
  die "the backup did not finish within 10 minutes" 1
}
start_backup() {
  ls "/proc/$DAEMON_PID/task" > "$WORK/tids-$1"
  remote strata backup run "$TASK" --full --detach >> "$WORK/exec.log" 2>&1 || die "backup run over SSH failed: $(tail -2 "$WORK/exec.log")" 1
  for _ in $(seq 50); do [[ $(job_running) == store* ]] && break; sleep 0.2; done
  sleep "$WARMUP"
  [[ -n $(job_running) ]] || die "the backup finished before its window began; raise DATA_MIB (now $DATA_MIB)" 1
}
after_window() {  # the window is valid only if the backup outlived it
  local phase; phase=$(job_running)
  [[ -n $phase ]] || die "the backup ended inside the '$1' window; raise DATA_MIB (now $DATA_MIB)" 1
  log "backup still running after '$1': $phase"
}

# gauges FILE: each pane's gauge percentage for TASK, one "session pct" line
# ("-" when the pane shows no gauge). All panes are captured first (fast),
# then parsed in one go.
gauges() {
  for i in $(seq 1 "$SESSIONS"); do
    tmux -L "$TMUX_SOCK" capture-pane -p -t "w$i" > "$WORK/pane-$i.txt" 2>/dev/null || : > "$WORK/pane-$i.txt"
  done
  python3 - "$WORK" "$TASK" "$SESSIONS" > "$1" <<'PY'
import re, sys
work, task, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
gauge = re.compile(r"\b" + re.escape(task) + r"\b.*\[[█·]+\]\s+(\d+)%")
for i in range(1, n + 1):
    pct = "-"
    for line in open(f"{work}/pane-{i}.txt", encoding="utf-8", errors="replace"):
        m = gauge.search(line)
        if m:
            pct = m.group(1)
            break
    print(i, pct)
PY
}

RESULTS=()
log "window 'idle' (${WINDOW}s)"
sleep 2
RESULTS+=("$(measure idle)")

# --- 20 consoles ---------------------------------------------------------------
log "starting $SESSIONS consoles"
tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s w0 -x 120 -y 40 "sleep 3600"
tmux -L "$TMUX_SOCK" set-option -g status off > /dev/null
tmux -L "$TMUX_SOCK" set-option -g remain-on-exit on > /dev/null   # keep a failed ssh's message
for i in $(seq 1 "$SESSIONS"); do
  tmux -L "$TMUX_SOCK" new-session -d -s "w$i" -x 120 -y 40 "ssh -tt ${SSH_OPTS[*]} watcher@127.0.0.1"
done
for _ in $(seq 60); do
  ready=0
  for i in $(seq 1 "$SESSIONS"); do
    tmux -L "$TMUX_SOCK" capture-pane -p -t "w$i" 2>/dev/null | grep -q "$TASK" && ready=$((ready + 1))
  done
  (( ready == SESSIONS )) && break
  sleep 0.5
done
(( ready == SESSIONS )) || die "only $ready of $SESSIONS consoles came up; see $WORK (KEEP=1)" 1
log "all $SESSIONS consoles show the task list"
sleep 2

log "window 'watch' (${WINDOW}s)"
RESULTS+=("$(measure watch)")

log "backup 1 (full, with consoles)"
start_backup 1
gauges "$WORK/gauge-a.txt"
log "window 'watch+run' (${WINDOW}s)"
RESULTS+=("$(measure watch+run "$WORK/tids-1")")
after_window watch+run
gauges "$WORK/gauge-b.txt"
wait_no_job

log "closing the consoles"
for i in $(seq 1 "$SESSIONS"); do tmux -L "$TMUX_SOCK" send-keys -t "w$i" q; done
for _ in $(seq 50); do   # every console's ssh has exited ("q" quits the console)
  live=$(tmux -L "$TMUX_SOCK" list-panes -a -F '#{session_name} #{pane_dead}' | awk '$1 != "w0" && $2 == 0' | wc -l)
  (( live == 0 )) && break
  sleep 0.2
done
(( live == 0 )) || log "$live consoles did not quit on 'q'; killing them"
tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
sleep 2

log "backup 2 (full, no consoles)"
start_backup 2
log "window 'run' (${WINDOW}s)"
RESULTS+=("$(measure run "$WORK/tids-2")")
after_window run
wait_no_job

# --- progress check ----------------------------------------------------------
bad=0
while read -r i a; do
  b=$(awk -v i="$i" '$1 == i { print $2 }' "$WORK/gauge-b.txt")
  if [[ $a == - || $b == - ]]; then
    log "session $i: no gauge for $TASK (first capture '$a', second '$b')"; bad=$((bad + 1))
  elif (( b <= a )); then
    log "session $i: gauge did not move ($a% then $b%)"; bad=$((bad + 1))
  fi
done < "$WORK/gauge-a.txt"
backups=$("${S[@]}" backup list --json | python3 -c 'import json,sys; print(sum(b["status"] == "complete" for b in json.load(sys.stdin)))')

# --- report --------------------------------------------------------------------
declare -A CORES MACH PEAK OLD
echo
echo "strata SSH watch benchmark: $SESSIONS consoles at 120x40, ${WINDOW}s windows, $DATA_MIB MiB full backups, STRATA_THREADS=1"
echo "machine: $(nproc) cores, $(uname -r), clock ticks $(getconf CLK_TCK)/s; binary $STRATA_BIN"
echo
printf '| %-10s | %12s | %14s | %22s | %13s | %6s |\n' window "daemon cores" "peak 1 s cores" "non-engine threads cores" "machine cores" "wall s"
printf '|%s|%s|%s|%s|%s|%s|\n' ------------ -------------: ---------------: -------------------------: --------------: -------:
for r in "${RESULTS[@]}"; do
  read -r name cores mach peak wall old <<< "$r"
  CORES[$name]=$cores; MACH[$name]=$mach; PEAK[$name]=$peak; OLD[$name]=$old
  printf '| %-10s | %12s | %14s | %24s | %13s | %6s |\n' "$name" "$cores" "$peak" "$old" "$mach" "$wall"
done
watch_idle=$(python3 -c "print(f'{${CORES[watch]} - ${CORES[idle]}:.3f}')")
watch_run=$(python3 -c "print(f'{${CORES[watch+run]} - ${CORES[run]}:.3f}')")
watch_run_threads=$(python3 -c "print(f'{${OLD[watch+run]} - ${OLD[run]}:.3f}')")
met=$(python3 -c "print('met' if max(${CORES[watch+run]} - ${CORES[run]}, ${OLD[watch+run]} - ${OLD[run]}) <= 0.5 else 'MISSED')")
echo
echo "watching cost, no backup:   watch - idle    = $watch_idle cores"
echo "watching cost, during run:  watch+run - run = $watch_run cores (whole daemon, so it includes how much the two backups differ)"
echo "                            same, non-engine threads only = $watch_run_threads cores"
echo "target: watching <= 0.5 core: $met"
echo "progress: $((SESSIONS - bad)) of $SESSIONS consoles showed a moving gauge; $backups full backups complete"
busy=$(python3 -c "print(f'{${MACH[idle]} - ${CORES[idle]}:.2f}')")
if python3 -c "import sys; sys.exit(0 if ${MACH[idle]} - ${CORES[idle]} > 0.3 else 1)"; then
  echo "WARNING: other processes kept $busy cores busy during the idle window; the machine was shared, so the figures are noisy"
fi
echo "command: $CMDLINE"
(( bad == 0 )) || exit 1
[[ $backups == 2 ]] || { log "expected 2 complete backups, found $backups"; exit 1; }
