#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser and reader (tools/fuzz/, bodies in
# tests/fuzz/harness.rs) with cargo-fuzz's libFuzzer and AddressSanitizer.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]
#
# Runs each target (all by default) for SECONDS_PER_TARGET (default 60),
# as many at once as there are cores, from the seeds tests/fuzz.rs writes
# plus what earlier runs kept in tools/fuzz/corpus/, then prints a table of
# executions, coverage and findings per target. Debug assertions are on,
# so an arithmetic overflow is a finding, as are a crash, a run over 10 s,
# an allocation over 1 GiB and 2 GiB resident. A finding is left under
# tools/fuzz/artifacts/TARGET/; fix it, then copy it to
# tests/fuzz/findings/TARGET/ so that `cargo test` replays it forever.
#
# Needs a nightly toolchain and cargo-fuzz (installed from crates.io when
# absent). CI replays the findings; it does not fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
fuzz=tools/fuzz
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd $fuzz && cargo +nightly fuzz list --fuzz-dir .)

SCONE_FUZZ_CORPUS=$PWD/$fuzz/corpus cargo test --release --quiet --test fuzz write_seed_corpora \
  -- --ignored >/dev/null
(cd $fuzz && cargo +nightly fuzz build -O -a --fuzz-dir .)
bin=$fuzz/target/x86_64-unknown-linux-gnu/release
logs=$fuzz/logs
mkdir -p "$logs"

run_one() {
  local t=$1 secs=$2 fuzz=$3 bin=$4 logs=$5
  mkdir -p "$fuzz/artifacts/$t"
  "$bin/$t" "$fuzz/corpus/$t" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$fuzz/artifacts/$t/" >"$logs/$t.log" 2>&1 || true
}
export -f run_one
printf '%s\n' "${targets[@]}" | xargs -P "$(nproc)" -I{} bash -c \
  'run_one "$@"' _ {} "$secs" "$fuzz" "$bin" "$logs"

echo
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), ${secs} s a target, $(nproc) at once"
printf '%-12s %12s %9s %7s %7s %7s %9s\n' target executions exec/s cov ft corpus findings
total=0
for t in "${targets[@]}"; do
  log=$logs/$t.log
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  last=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' | tail -1)
  cov=$(awk '{print $2}' <<<"$last"); ft=$(awk '{print $4}' <<<"$last"); corp=$(awk '{print $6}' <<<"$last")
  found=$(find "$fuzz/artifacts/$t" -type f | wc -l)
  printf '%-12s %12s %9s %7s %7s %7s %9s\n' "$t" "${execs:-0}" "${rate:-0}" "${cov:--}" "${ft:--}" "${corp:--}" "$found"
  total=$((total + ${execs:-0}))
done
echo "executions in all: $total"
