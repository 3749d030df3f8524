# EXTRA file for ../shared/bench/peers.sh: adds Strata as the tool "strata", measured
# exactly like the peers (fresh copy, full, --mutate, incremental, no-change, open, restore,
# digest check). Sourced by peers.sh; STRATA_BIN points at a release build.
STRATA_BIN=${STRATA_BIN:-strata}

rep_strata() {
  local r=$1 d="$WORK/strata" full id
  local S=("$STRATA_BIN" --home "$d/home")
  fresh_src; rm -rf "$d"; mkdir -p "$d"
  "${S[@]}" dest add bench --local "$d/repo" > "$WORK/logs/strata-init-$r.out"
  "${S[@]}" task add bench --dir "$SRC" --dest bench >> "$WORK/logs/strata-init-$r.out"
  measure strata full "$r" "${S[@]}" backup run bench --full
  full=$(bytes "$d/repo")
  mutate; ensure_mutated_digest
  measure strata incr "$r" "${S[@]}" backup run bench --incremental
  echo "strata,$r,$full,$(bytes "$d/repo"),$(alloc "$d/repo"),$(bytes "$d/home"),$(nfiles "$d/repo")" >> "$WORK/rep-sizes.csv"
  measure strata nochange "$r" "${S[@]}" backup run bench --incremental
  measure strata open "$r" "${S[@]}" backup list
  id=$("${S[@]}" backup list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
  rm -rf "$RESTORE"
  measure strata restore "$r" "${S[@]}" restore "$id" --to "$RESTORE"
  verify strata "$r" "$RESTORE"
}
setup_strata() { command -v "$STRATA_BIN" >/dev/null || { log "strata binary $STRATA_BIN not found: skipped"; return 1; }; }
post_strata() { "$STRATA_BIN" --home "$WORK/strata/home" backup list > "$WORK/logs/strata-backups.out" 2>&1 || true; }
