#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, one after the
# other, on one core (not part of `npm test` or CI).
#
#   scripts/fuzz.sh [seconds per target] [target ...]     default: 60 s, all
#   FUZZ_ARGS=-max_len=140000 scripts/fuzz.sh 120 frame_reader   (more libFuzzer flags)
#
# Needs `cargo install cargo-fuzz`; on stable Rust, RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz use the nightly flags it needs. New inputs that reach new code
# land in fuzz/corpus/<target>/ (minimise before committing:
# `cargo fuzz cmin -O <target> corpus/<target> -- -use_counters=0`, which keeps
# one input per newly covered edge); a crash lands in fuzz/artifacts/<target>/:
# copy it to fuzz/regressions/<target>/ (replayed by `cargo test`) and fix it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
export RUSTC_BOOTSTRAP=1
# The file targets (identity_file, token_store) write one file per input:
# keep it in memory where possible.
if [ -d /dev/shm ] && [ -z "${TMPDIR:-}" ]; then export TMPDIR=/dev/shm; fi
mkdir -p logs
for t in "${targets[@]}"; do
  echo "== $t ($seconds s)"
  mkdir -p "corpus/$t"
  # With -jobs, libFuzzer runs one worker process and logs to fuzz-0.log.
  rm -f fuzz-0.log
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -jobs=1 -workers=1 -print_final_stats=1 ${FUZZ_ARGS:-} || true
  mv fuzz-0.log "logs/$t.log"
  # The last status line (executions, coverage, corpus) and any crash.
  grep -E '^#[0-9]+' "logs/$t.log" | tail -1
  grep -E 'stat::number_of_executed_units|^==[0-9]+==|SUMMARY|Test unit written|panicked' "logs/$t.log" || true
done
