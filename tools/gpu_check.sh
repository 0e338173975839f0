#!/usr/bin/env bash
# Proves scone on an NVIDIA GPU in one run (docs/gpu.md).
#
#   tools/gpu_check.sh pack   # here, with Rust: build and gather into .gpu/
#   tools/gpu_check.sh run    # on the GPU machine (no Rust, no network)
#
# `pack` compiles the CUDA kernels with NVRTC (tools/nvrtc_check.py), builds
# the release `scone` binary, the step benchmark (tools/bench.rs)
# and the CUDA test binary (tests/cuda.rs) with `--features cuda,benchmarks`, strips
# them, and copies kodim01, kodim05, kodim23 and the Stanford bunny from
# ../shared/data into .gpu/ (git-ignored, about 30 MB). Bring the repository
# with .gpu/ to the GPU machine.
#
# `run` needs nvidia-smi, CUDA (NVRTC and headers, found under CUDA_PATH or
# /usr/local/cuda) and python3 with torch. It prints, and writes as Markdown
# to $GPU_CHECK_OUT/gpu-check.md (default .gpu/results):
#   1. the card, driver and CUDA versions;
#   2. the CUDA tests (tests/cuda.rs: GPU against CPU), one at a time, most
#      telling first, within GPU_CHECK_TESTS_S seconds (default 200);
#   2b. kodim23 and kodim05 with latent grids (--arch grid) at 0.5 bpp on
#      the GPU: PSNR, bytes and wall time;
#   3. one training step of the paper model on 65,536 and 393,216
#      coordinates: scone's CUDA engine in f32 and tf32 (row kernels) and
#      in tf32 with the elementwise kernels, against PyTorch eager (f32 and
#      tf32) and torch.compile (tf32) from tools/reference/step_time.py,
#      same card;
#   4. a fit of kodim23 with the paper preset (10k full-batch steps) and
#      SCONE, alone on the GPU: PSNR, SSIM and wall time next to Table 2;
#   5. decoding the paper-size vector at 3840×2560 on the GPU and the CPU,
#      with their largest difference; extracting a 512³ mesh from a bunny
#      SDF (paper 3D network, briefly trained) on the GPU;
#   6. the other fits, one at a time: kodim23 with SCONE in f32 (what tf32
#      costs), kodim01 and kodim05 with SCONE, and the three with SIREN
#      (GPU_CHECK_FITS overrides the list: IMAGE-ARCH:MATH ...).
# GPU_CHECK_DEADLINE (seconds, default 470) bounds the fits: one still
# running then is stopped and the table says so. GPU_CHECK_ITERATIONS
# overrides the 10,000 steps.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pack=$root/.gpu

if [ "${1:-}" = pack ]; then
  set -e
  export CUDARC_CUDA_VERSION=${CUDARC_CUDA_VERSION:-13000}
  # The kernels must compile with NVRTC, as the engine compiles them, before
  # GPU time is spent on them (NVRTC needs no GPU: tools/reference/setup.sh
  # brings it with PyTorch).
  python3 tools/nvrtc_check.py --arch sm_90 ||
    { echo "gpu_check: tools/nvrtc_check.py failed" >&2; exit 1; }
  cargo build --release --locked --features cuda,benchmarks --bin scone --example bench
  tests=$(cargo test --release --locked --features cuda,benchmarks --test cuda --no-run \
    --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "cuda" and m.get("executable"):
        print(m["executable"])')
  mkdir -p "$pack/data"
  for b in target/release/scone target/release/examples/bench "$tests"; do
    strip -o "$pack/$(basename "$b" | sed 's/-[0-9a-f]*$//')" "$b"
  done
  mv "$pack/cuda" "$pack/cuda-tests"
  # Compressed, the three binaries travel in under 64 MiB together.
  xz -f -T0 -6 "$pack/scone" "$pack/bench" "$pack/cuda-tests"
  for i in kodim01 kodim05 kodim23; do cp ../shared/data/kodak/$i.png "$pack/data/"; done
  cp ../shared/data/meshes/bunny.obj "$pack/data/"
  # What the binaries were built from, for the report.
  git describe --always --dirty >"$pack/commit" 2>/dev/null || echo unknown >"$pack/commit"
  du -sh "$pack"
  exit 0
fi
[ "${1:-}" = run ] || { echo "usage: tools/gpu_check.sh pack|run" >&2; exit 2; }

start=$(date +%s)
deadline=$((start + ${GPU_CHECK_DEADLINE:-470}))
iterations=${GPU_CHECK_ITERATIONS:-10000}
out=${GPU_CHECK_OUT:-$pack/results}
mkdir -p "$out"
report=$out/gpu-check.md
: >"$report"
say() { echo "$*" | tee -a "$report"; }
since() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }  # since T0: seconds
elapsed() { echo $(($(date +%s) - start)); }

export CUDA_PATH=${CUDA_PATH:-/usr/local/cuda}
nvrtc=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null || true)
for d in "$CUDA_PATH/lib64" "$CUDA_PATH/lib" $(ls -d "$nvrtc"/nvidia/*/lib "$nvrtc"/nvidia/cu*/lib 2>/dev/null); do
  [ -d "$d" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
# The binaries, unpacked outside the tree.
bin=${TMPDIR:-/tmp}/scone-gpu-check
mkdir -p "$bin"
for b in scone bench cuda-tests; do
  python3 -c 'import lzma, sys; open(sys.argv[2], "wb").write(lzma.open(sys.argv[1]).read())' \
    "$pack/$b.xz" "$bin/$b" && chmod +x "$bin/$b"
done
export SCONE_BIN=$bin/scone SCONE_ROOT=$root
# Fitted files and scratch; $out gets the report, the step timings and a
# tar of the fitted files.
work=$bin/work
rm -rf "$work" && mkdir -p "$work"

say "# scone GPU check"
say ""
say "- binaries built from commit $(cat "$pack/commit" 2>/dev/null || echo unknown)"
say "- card: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
say "- CUDA: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo "nvcc not found"), CUDA_PATH=$CUDA_PATH"
say "- PyTorch: $(python3 -c 'import torch; print(torch.__version__)')"
say "- scone's engine: SCONE_CUDA_KERNELS=${SCONE_CUDA_KERNELS:-rows (default)}, SCONE_CUDA_MATH=${SCONE_CUDA_MATH:-f32 (default)} outside the fits that set it"
t0=$(date +%s.%N)
probe=$("$bin/scone" decode samples/vectors/rgb-f16-endpoints.scone -o "$work/probe.png" --device cuda 2>&1 && echo ok)
say "- first CUDA use, a 32×24 decode (kernels compiled or read from the cache): $probe, $(since "$t0") s"

say ""
say "## CUDA tests"
say ""
say '```'
# One test at a time, most telling first, each bounded by what is left of
# the tests' budget (GPU_CHECK_TESTS_S, default 200): the vector test
# compiles burn-cuda kernels for every baseline network and goes last.
# Tests missing from this list run after it.
order="a_gpu_is_found a_cuda_engine_step_has_the_cpus_gradients a_grid_network_trains_on_the_gpu
  large_evaluations_are_chunked_and_match a_full_batch_image_fit_on_the_gpu_is_as_good_as_on_the_cpu
  random_batches_drawn_on_the_gpu_train_as_well_as_the_cpus a_clip_trains_on_the_gpu
  a_shape_trains_on_the_gpu the_command_line_decodes_and_meshes_on_the_gpu_like_the_cpu
  every_vector_evaluates_on_the_gpu_as_on_the_cpu"
listed=$("$bin/cuda-tests" --ignored --list 2>/dev/null | sed -n 's/: test$//p')
tests_end=$(($(date +%s) + ${GPU_CHECK_TESTS_S:-200}))
tests_rc=0
test_rows=()
[ -n "$listed" ] || { test_rows+=("| (all) | the test binary listed no tests | |"); tests_rc=1; }
for t in $order $(echo "$listed" | grep -vxF -f <(echo "$order" | tr -s ' \n' '\n')); do
  echo "$listed" | grep -qxF "$t" || { test_rows+=("| $t | not in this build |  |"); continue; }
  left=$((tests_end - $(date +%s)))
  if [ "$left" -lt 10 ]; then
    test_rows+=("| $t | not run: the tests' time was spent | |")
    tests_rc=1
    continue
  fi
  t0=$(date +%s.%N)
  timeout "$left" "$bin/cuda-tests" --ignored --exact "$t" --nocapture 2>&1 | grep -v '^$' | tee -a "$report"
  rc=${PIPESTATUS[0]}
  case $rc in
    0) verdict=passed ;;
    124) verdict="stopped after $left s" ;;
    *) verdict="FAILED (exit $rc)" ;;
  esac
  [ "$rc" = 0 ] || tests_rc=1
  test_rows+=("| $t | $verdict | $(since "$t0") |")
done
say '```'
say ""
say "| test | result | s |"
say "| --- | --- | --- |"
for row in "${test_rows[@]}"; do say "$row"; done
say "CUDA tests exit status: $tests_rc ($(elapsed) s into the run)"

say ""
say "## Latent grids (--arch grid, default preset) at 0.5 bpp on the GPU"
say ""
say "Trained with burn-cuda's autodiff; target: each encode ≤ 60 s and within"
say "1 dB of Cool-chic 3.4 (Kodak mean 34.38 dB at 0.5 bpp). The CPU's"
say "figures (docs/grid.md, 2-core Xeon): kodim05 24.06 dB, kodim23 33.93 dB."
say ""
say "| image | PSNR dB | bytes | bpp | wall s |"
say "| --- | --- | --- | --- | --- |"
for img in kodim23 kodim05; do
  t0=$(date +%s.%N)
  line=$(timeout 150 "$bin/scone" encode "$pack/data/$img.png" -o "$work/$img-grid.scone" \
    --arch grid --bpp 0.5 --device cuda 2>&1; echo "exit $?")
  wall=$(since "$t0")
  psnr=$(echo "$line" | sed -n 's/.*PSNR \([0-9.]*\) dB.*/\1/p')
  bytes=$(stat -c %s "$work/$img-grid.scone" 2>/dev/null || echo 0)
  if [ -n "$psnr" ]; then
    say "| $img | $psnr | $bytes | $(python3 -c "print(f'{8 * $bytes / 393216:.3f}')") | $wall |"
  else
    say "| $img | failed or stopped after $wall s: $(echo "$line" | tr '\n' ' ' | cut -c1-160) | | | |"
  fi
done
say "($(elapsed) s into the run)"

say ""
say "## One training step of the paper model (5×250 SCONE, 192,753 parameters)"
say ""
timeout 90 "$bin/bench" --cuda-steps 65536,393216 --reps 20 2>&1 | tee "$out/steps.txt"
(cd tools/reference && timeout 150 python3 step_time.py --device cuda --points 65536,393216 \
  --reps 20 --modes eager,eager-tf32,compile-tf32) 2>&1 | tee -a "$out/steps.txt"
python3 - "$out/steps.txt" <<'EOF2' | tee -a "$report"
import re, sys
t = {}
for line in open(sys.argv[1]):
    if line.startswith("step_time"):
        kv = dict(p.split("=") for p in line.split()[1:])
        t[(kv.get("engine") or "torch " + kv["mode"], int(kv["points"]))] = float(kv["seconds"])
points = sorted({p for _, p in t})
engines = list(dict.fromkeys(e for e, _ in t))
ours = [e for e in engines if not e.startswith("torch")]
print("| engine | " + " | ".join(f"{p:,} coords: ms/step" for p in points) + " |")
print("| --- |" + " --- |" * len(points))
for e in engines:
    print(f"| {e} | " + " | ".join(f"{1e3 * t[(e, p)]:.2f}" if (e, p) in t else "—" for p in points) + " |")
print()
print("| ratio | " + " | ".join(f"{p:,} coords" for p in points) + " |")
print("| --- |" + " --- |" * len(points))
for e in ours:
    for base in ("torch eager", "torch compile-tf32"):
        cells = [f"{t[(e, p)] / t[(base, p)]:.2f}" if (e, p) in t and (base, p) in t else "—" for p in points]
        print(f"| {e} ÷ {base} | " + " | ".join(cells) + " |")
EOF2
say "($(elapsed) s into the run)"

say ""
say "## Paper preset fits ($iterations full-batch steps, 768×512)"
say ""
say "One fit at a time on the GPU, in tf32 (SCONE_CUDA_MATH=tf32; IEEE f32 is"
say "the default). A fit still running at the deadline is stopped and marked"
say "so."
say ""
say "| image | network | math | PSNR dB (paper) | SSIM | wall s |"
say "| --- | --- | --- | --- | --- | --- |"
declare -A paper=([kodim01-scone]=36.41 [kodim05-scone]=35.80 [kodim23-scone]=43.59
                  [kodim01-siren]=33.04 [kodim05-siren]=34.47 [kodim23-siren]=42.71)
fit() {  # fit JOB MATH: one line of the table into $work/JOB-MATH.row
  local job=$1 math=$2 img=${1%-*} arch=${1#*-} t0 line wall psnr ssim left
  local row=$work/$job-$math.row
  left=$((deadline - $(date +%s)))
  if [ "$left" -lt 20 ]; then
    echo "| $img | $arch | $math | not run: the deadline had passed | | |" >"$row"
    return
  fi
  t0=$(date +%s.%N)
  line=$(SCONE_CUDA_MATH=$math timeout "$left" "$bin/scone" encode "$pack/data/$img.png" \
    -o "$work/$job-$math.scone" --preset paper --arch "$arch" --iterations "$iterations" --device cuda 2>&1
    echo "exit $?")
  wall=$(since "$t0")
  psnr=$(echo "$line" | sed -n 's/.*PSNR \([0-9.]*\) dB.*/\1/p')
  ssim=$(echo "$line" | sed -n 's/.*SSIM \([0-9.]*\).*/\1/p')
  if [ -n "$psnr" ]; then
    echo "| $img | $arch | $math | $psnr (${paper[$job]}) | $ssim | $wall |" >"$row"
  else
    echo "| $img | $arch | $math | failed or stopped at the deadline after $wall s: $(echo "$line" | tr '\n' ' ' | cut -c1-160) | | |" >"$row"
  fi
}
fit kodim23-scone tf32
tee -a "$report" <"$work/kodim23-scone-tf32.row"
say "($(elapsed) s into the run)"

say ""
say "## Large evaluations"
say ""
vec=samples/vectors/rgb-paper-size.scone
for dev in cuda cpu; do
  t0=$(date +%s.%N)
  timeout 90 "$bin/scone" decode "$vec" --width 3840 --depth 16 -o "$work/4k-$dev.png" --device $dev || say "decode on $dev failed"
  say "- 3840×2560 decode of the paper-size network on $dev: $(since "$t0") s"
done
python3 - "$work/4k-cuda.png" "$work/4k-cpu.png" <<'EOF2' | tee -a "$report"
import sys
import numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p)).astype(np.float64) / 65535 for p in sys.argv[1:3])
print(f"- largest difference between them: {np.abs(a - b).max():.2e} of full scale "
      f"(network units: {2 * np.abs(a - b).max():.2e}), mean {np.abs(a - b).mean():.2e}")
EOF2
rm -f "$work"/4k-*.png
t0=$(date +%s.%N)
timeout 90 "$bin/scone" encode "$pack/data/bunny.obj" -o "$work/bunny.scone" --preset paper --iterations 300 \
  --eval-resolution 64 --device cuda --quiet || say "bunny encode failed"
say "- bunny, paper 3D network (9 layers × 240), 300 steps on the GPU: $(since "$t0") s"
t0=$(date +%s.%N)
mesh=$(timeout 90 "$bin/scone" mesh "$work/bunny.scone" --resolution 512 -o "$work/bunny512.ply" --device cuda 2>&1)
say "- 512³ mesh on the GPU (134M network evaluations, marching cubes on the CPU): $(since "$t0") s: $mesh"
rm -f "$work/bunny512.ply"
say "($(elapsed) s into the run)"

say ""
say "### The other fits, one at a time, until the deadline"
say ""
say "| image | network | math | PSNR dB (paper) | SSIM | wall s |"
say "| --- | --- | --- | --- | --- | --- |"
fits=${GPU_CHECK_FITS:-"kodim23-scone:f32 kodim01-scone:tf32 kodim05-scone:tf32 kodim23-siren:tf32
  kodim01-siren:tf32 kodim05-siren:tf32"}
for run in $fits; do
  fit "${run%:*}" "${run#*:}"
  tee -a "$report" <"$work/${run%:*}-${run#*:}.row"
done
say ""
say "Whole run: $(elapsed) s."
fitted=$(cd "$work" && ls -- *.scone 2>/dev/null)
[ -n "$fitted" ] && tar -C "$work" -cf "$out/fits.tar" $fitted
exit "$tests_rc"
