# Gates and everyday commands. `just --list` shows them.

bench_data := env_var_or_default("BENCH_DATA", "/tmp/strata-bench/data")
bench_work := env_var_or_default("BENCH_WORK", "/tmp/strata-bench/work")
shared := env_var_or_default("STRATA_SHARED", "../shared")

# Build the debug binary.
build:
    cargo build

# Run the whole test suite (the README's command).
test:
    cargo test

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# The one-command tour: sample data, a task, backups, the backup table.
demo:
    cargo run --release -- demo

# Strata (unencrypted and encrypted) vs tar+zstd and restic on the shared scale-1 data set, one repetition, ratios vs targets.
bench:
    cargo build --release
    test -d {{bench_data}} || python3 {{shared}}/bench/gen-dataset.py {{bench_data}} --scale 1
    rm -rf {{bench_work}}
    STRATA_BIN={{justfile_directory()}}/target/release/strata EXTRA={{justfile_directory()}}/tests/bench/strata-peer.sh \
      TOOLS="${BENCH_TOOLS:-ref tar restic strata strata_enc}" REPS="${BENCH_REPS:-1}" \
      bash {{shared}}/bench/peers.sh {{bench_data}} {{bench_work}}
    python3 tests/bench/ratios.py {{bench_work}}

# What encryption costs (issue 14): plain vs encrypted repository, each command on its own and
# through `strata serve`, REPS repetitions side by side, medians and ratios (docs/performance.md).
bench-enc:
    cargo build --release
    test -d {{bench_data}} || python3 {{shared}}/bench/gen-dataset.py {{bench_data}} --scale 1
    GEN={{shared}}/bench/gen-dataset.py REPS="${BENCH_REPS:-3}" bash tests/bench/enc-run.sh {{bench_data}} {{bench_work}}-enc

# Console frame time: 10,000 backups drawn at 120x40, mean and p99 per view (target <= 5 ms).
bench-render:
    cargo bench --bench render

# Daemon CPU while 20 SSH consoles watch a backup (docs/performance.md).
bench-ssh:
    bash tests/bench/ssh-watch.sh

# Strata vs restic writing to the same local S3 server (scale-1 data), one repetition, ratios vs targets.
bench-s3:
    cargo build --release
    cargo bench --bench s3-server --no-run
    test -d {{bench_data}} || python3 {{shared}}/bench/gen-dataset.py {{bench_data}} --scale 1
    rm -rf {{bench_work}}-s3 && mkdir -p {{bench_work}}-s3/server
    bash tests/bench/s3-run.sh {{bench_data}} {{bench_work}}-s3 {{shared}}

# Database sources vs the plain tools (issue 13): a 1 GiB SQLite database and a ~1 GiB PostgreSQL 15
# database, one run, ratios vs targets (needs sqlite3, zstd, postgresql; see docs/performance.md).
bench-db:
    cargo build --release
    bash tests/bench/db-run.sh {{bench_data}}-db {{bench_work}}-db
