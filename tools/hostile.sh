#!/usr/bin/env bash
# Time and peak memory of every hostile input (tests/fuzz/harness.rs's
# hostile_inputs: files that claim 10⁹ vertices, faces or weights, huge
# frames, canvases and shapes, a trillion latent symbols) through the
# command line: `scone encode` for media and shapes, `scone mesh` for
# NumPy volumes, `scone info` and `scone decode` for .scone files. Prints a Markdown table: exit status,
# wall time, peak resident memory (/usr/bin/time -v) and the error line.
#
#   tools/hostile.sh            # builds the release binary first
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin scone
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
SCONE_HOSTILE_DIR=$dir/in cargo test --release --quiet --test fuzz write_hostile_inputs \
  -- --ignored >/dev/null
scone=$PWD/target/release/scone

measure() { # label, command...
  local label=$1; shift
  local rc=0
  /usr/bin/time -v -o "$dir/time" timeout 120 "$@" >"$dir/out" 2>"$dir/err" || rc=$?
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$dir/time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$dir/time" | awk '{print $NF}')
  printf '| %s | %s | %s | %.1f | %s |\n' "$label" "$rc" "$wall" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
    "$(grep -v '^Command' "$dir/err" | head -1 | sed "s#$dir/in/##g; s/|/\\\\|/g" | cut -c1-150)"
}

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo
echo '| input | exit | wall | peak MiB | error |'
echo '| --- | --- | --- | --- | --- |'
measure "(baseline) scone info coded-rgb.scone" "$scone" info samples/vectors/coded-rgb.scone
for f in "$dir"/in/*; do
  name=$(basename "$f")
  case $name in
    *.scone)
      measure "scone info $name" "$scone" info "$f"
      measure "scone decode $name" "$scone" decode "$f" -o "$dir/out.png"
      ;;
    *.npy) measure "scone mesh $name" "$scone" mesh "$f" -o "$dir/out.ply" ;;
    *) measure "scone encode $name" "$scone" encode "$f" -o "$dir/out.scone" ;;
  esac
done
