#!/usr/bin/env python3
"""Decoding at twice the size, measured against the true image.

For each Kodak image: box-downscale it by 2 (the mean of each 2x2 block),
encode that with `scone encode` (the options given, by default `--arch
grid --bpp 0.5`), decode it at 2x with `scone decode --scale 2`, and
compare with the full-resolution original:

  - scone at 2x: the network evaluated on the 2x grid;
  - bicubic and Lanczos upscaling (Pillow) of scone's own 1x decode;
  - JPEG of the downscaled image at the same bytes (the largest quality
    within them), upscaled with Lanczos: the fair competitor.

    .venv-rd/bin/python tools/any_resolution.py [--images kodim05,kodim23] \\
        [--extra "--arch grid --bpp 0.5"] [--scone target/release/scone]
"""

import argparse
import shlex
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from rd import cpu_model, jpeg_at, psnr

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "kodak"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default="kodim05,kodim23")
    ap.add_argument("--extra", default="--arch grid --bpp 0.5")
    ap.add_argument("--scone", default=str(ROOT / "target/release/scone"))
    a = ap.parse_args()
    print(f"CPU: {cpu_model()}; scone encode {a.extra}\n")
    print("| image | bytes | scone 2x | bicubic of 1x | Lanczos of 1x | JPEG same bytes, Lanczos |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in a.images.split(","):
            full = np.asarray(Image.open(DATA / f"{name}.png").convert("RGB"), np.float64)
            h, w = full.shape[0] // 2 * 2, full.shape[1] // 2 * 2
            full = full[:h, :w]
            small = full.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
            small_img = Image.fromarray(np.clip(np.round(small), 0, 255).astype(np.uint8))
            src = tmp / f"{name}-half.png"
            small_img.save(src)
            out = tmp / "x.scone"
            subprocess.run([a.scone, "encode", str(src), "-o", str(out), "--device", "cpu", "-q"]
                           + shlex.split(a.extra), check=True)
            nbytes = out.stat().st_size
            two = tmp / "two.png"
            one = tmp / "one.png"
            subprocess.run([a.scone, "decode", str(out), "-o", str(two), "--scale", "2"], check=True,
                           capture_output=True)
            subprocess.run([a.scone, "decode", str(out), "-o", str(one)], check=True, capture_output=True)
            ours2 = Image.open(two).convert("RGB")
            ours1 = Image.open(one).convert("RGB")
            bicubic = ours1.resize((w, h), Image.BICUBIC)
            lanczos = ours1.resize((w, h), Image.LANCZOS)
            jb = jpeg_at(small_img, nbytes)
            jpeg = Image.fromarray(jb[1]).resize((w, h), Image.LANCZOS) if jb else None
            row = [psnr(full, ours2), psnr(full, bicubic), psnr(full, lanczos)]
            row.append(psnr(full, jpeg) if jpeg else float("nan"))
            print(f"| {name} | {nbytes} | " + " | ".join(f"{v:.2f} dB" for v in row) + " |", flush=True)


if __name__ == "__main__":
    main()
