# EXTRA file for ../shared/bench/peers.sh: adds Strata as the tool "strata", measured
# exactly like the peers (fresh copy, full, --mutate, incremental, no-change, open, restore,
# digest check). Sourced by peers.sh; STRATA_BIN points at a release build.
STRATA_BIN=${STRATA_BIN:-strata}

# strata_rep TOOL REP [DEST ADD FLAGS…]: one repetition into a fresh local repository.
strata_rep() {
  local tool=$1 r=$2 d="$WORK/$1" full id; shift 2
  local S=("$STRATA_BIN" --home "$d/home")
  fresh_src; rm -rf "$d"; mkdir -p "$d"
  "${S[@]}" dest add bench --local "$d/repo" "$@" > "$WORK/logs/$tool-init-$r.out"
  "${S[@]}" task add bench --dir "$SRC" --dest bench >> "$WORK/logs/$tool-init-$r.out"
  measure "$tool" full "$r" "${S[@]}" backup run bench --full
  full=$(bytes "$d/repo")
  mutate; ensure_mutated_digest
  measure "$tool" incr "$r" "${S[@]}" backup run bench --incremental
  echo "$tool,$r,$full,$(bytes "$d/repo"),$(alloc "$d/repo"),$(bytes "$d/home"),$(nfiles "$d/repo")" >> "$WORK/rep-sizes.csv"
  measure "$tool" nochange "$r" "${S[@]}" backup run bench --incremental
  measure "$tool" open "$r" "${S[@]}" backup list
  id=$("${S[@]}" backup list --json | python3 -c 'import json,sys; print(max(json.load(sys.stdin), key=lambda b: b["started"])["id"])')
  rm -rf "$RESTORE"
  measure "$tool" restore "$r" "${S[@]}" restore "$id" --to "$RESTORE"
  verify "$tool" "$r" "$RESTORE"
}

rep_strata() { strata_rep strata "$1"; }
setup_strata() { command -v "$STRATA_BIN" >/dev/null || { log "strata binary $STRATA_BIN not found: skipped"; return 1; }; }
post_strata() { "$STRATA_BIN" --home "$WORK/strata/home" backup list > "$WORK/logs/strata-backups.out" 2>&1 || true; }

# The same steps into an encrypted repository (issue 14). Each command derives the key
# once with Argon2id (~0.5 s, the price of a passphrase), as restic does on every command.
STRATA_ENC_PASS_FILE=${STRATA_ENC_PASS_FILE:-}
rep_strata_enc() { strata_rep strata_enc "$1" --encrypt --passphrase-file "$STRATA_ENC_PASS_FILE"; }
setup_strata_enc() {
  setup_strata || return 1
  STRATA_ENC_PASS_FILE="$WORK/strata-enc.pass"
  (umask 077; echo "bench passphrase" > "$STRATA_ENC_PASS_FILE")
}
post_strata_enc() { "$STRATA_BIN" --home "$WORK/strata_enc/home" backup list > "$WORK/logs/strata_enc-backups.out" 2>&1 || true; }
