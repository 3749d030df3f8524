#!/usr/bin/env bash
# `just bench-s3`: starts the bench S3 server, runs peers.sh with restic_s3 and strata_s3 against
# it, stops it, prints the ratios. usage: s3-run.sh DATA WORK SHARED
set -euo pipefail
DATA=$1 WORK=$2 SHARED=$3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT="$WORK/server/root"
mkdir -p "$ROOT"
coproc SERVER { cargo bench -q --bench s3-server -- "$ROOT" 2>"$WORK/server/log"; }
read -r S3_ENDPOINT S3_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY <&"${SERVER[0]}"
trap 'kill "$SERVER_PID" 2>/dev/null || true; pkill -f "s3_server-.* $ROOT" 2>/dev/null || true' EXIT
export S3_ENDPOINT S3_BUCKET S3_ROOT="$ROOT" AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
STRATA_BIN="$HERE/../../target/release/strata" EXTRA="$HERE/s3-peer.sh" \
  TOOLS="${BENCH_TOOLS:-restic_s3 strata_s3}" REPS="${BENCH_REPS:-1}" \
  bash "$SHARED/bench/peers.sh" "$DATA" "$WORK/peers"
python3 "$HERE/s3-ratios.py" "$WORK/peers"
