# EXTRA file for ../shared/bench/peers.sh (`just bench-s3`): restic and Strata writing to the
# same local S3 server (tests/bench/s3_server.rs, s3s-fs with SigV4 checked), measured exactly
# like the peers: fresh copy, full, --mutate, incremental, no-change, open, restore, digest check.
# Needs S3_ENDPOINT, S3_ROOT (the server's root directory), S3_BUCKET, and the keys in
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; STRATA_BIN points at a release build.
STRATA_BIN=${STRATA_BIN:-strata}
S3_REQS="$WORK/s3-requests.csv"

requests() { cat "$S3_ROOT.requests" 2>/dev/null || echo 0; }

# measure_counted TOOL OP REP CMD...: measure, and record how many requests the step made
measure_counted() {
  local before after
  before=$(requests); measure "$@"; sleep 0.3; after=$(requests)
  echo "$1,$2,$3,$((after - before))" >> "$S3_REQS"
  log "$1 $2 rep$3: $((after - before)) S3 requests"
}

rep_restic_s3() {
  local r=$1 d="$WORK/restic_s3" full
  fresh_src; rm -rf "$d" "$S3_ROOT/$S3_BUCKET/restic"; mkdir -p "$d"
  restic init --repository-version 2 -q > "$WORK/logs/restic_s3-init-$r.out"
  measure_counted restic_s3 full "$r" env -C "$SRC" restic backup -q --host bench --compression auto .
  full=$(bytes "$S3_ROOT/$S3_BUCKET/restic")
  mutate; ensure_mutated_digest
  measure_counted restic_s3 incr "$r" env -C "$SRC" restic backup -q --host bench --compression auto .
  echo "restic_s3,$r,$full,$(bytes "$S3_ROOT/$S3_BUCKET/restic"),$(alloc "$S3_ROOT/$S3_BUCKET/restic"),$(bytes "$d/cache"),$(nfiles "$S3_ROOT/$S3_BUCKET/restic")" >> "$WORK/rep-sizes.csv"
  measure_counted restic_s3 nochange "$r" env -C "$SRC" restic backup -q --host bench --compression auto .
  measure restic_s3 open "$r" restic cat config
  rm -rf "$RESTORE"
  measure_counted restic_s3 restore "$r" restic restore latest -q --target "$RESTORE"
  verify restic_s3 "$r" "$RESTORE"
}
setup_restic_s3() {
  have restic || { log "restic not installed: skipped"; return 1; }
  export RESTIC_REPOSITORY="s3:$S3_ENDPOINT/$S3_BUCKET/restic" RESTIC_PASSWORD="$PASS" \
         RESTIC_CACHE_DIR="$WORK/restic_s3/cache"
}
post_restic_s3() { restic snapshots > "$WORK/logs/restic_s3-snapshots.out" 2>&1 || true; }

rep_strata_s3() {
  local r=$1 d="$WORK/strata_s3" id
  local S=("$STRATA_BIN" --home "$d/home")
  fresh_src; rm -rf "$d" "$S3_ROOT/$S3_BUCKET/strata"; mkdir -p "$d"
  "${S[@]}" dest add s3 --s3 "s3://$S3_BUCKET/strata" --endpoint "$S3_ENDPOINT" > "$WORK/logs/strata_s3-init-$r.out"
  "${S[@]}" task add bench --dir "$SRC" --dest s3 >> "$WORK/logs/strata_s3-init-$r.out"
  measure_counted strata_s3 full "$r" "${S[@]}" backup run bench --full
  full=$(bytes "$S3_ROOT/$S3_BUCKET/strata")
  mutate; ensure_mutated_digest
  measure_counted strata_s3 incr "$r" "${S[@]}" backup run bench --incremental
  echo "strata_s3,$r,$full,$(bytes "$S3_ROOT/$S3_BUCKET/strata"),$(alloc "$S3_ROOT/$S3_BUCKET/strata"),$(bytes "$d/home"),$(nfiles "$S3_ROOT/$S3_BUCKET/strata")" >> "$WORK/rep-sizes.csv"
  measure_counted strata_s3 nochange "$r" "${S[@]}" backup run bench --incremental
  measure strata_s3 open "$r" "${S[@]}" backup list
  id=$("${S[@]}" backup list --json | python3 -c 'import json,sys; print(max(json.load(sys.stdin), key=lambda b: b["started"])["id"])')
  rm -rf "$RESTORE"
  measure_counted strata_s3 restore "$r" "${S[@]}" restore "$id" --to "$RESTORE"
  verify strata_s3 "$r" "$RESTORE"
}
setup_strata_s3() { command -v "$STRATA_BIN" >/dev/null || { log "strata binary $STRATA_BIN not found: skipped"; return 1; }; }
post_strata_s3() { "$STRATA_BIN" --home "$WORK/strata_s3/home" backup list > "$WORK/logs/strata_s3-backups.out" 2>&1 || true; }
