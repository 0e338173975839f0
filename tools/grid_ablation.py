#!/usr/bin/env python3
"""What the synthesis of `--arch grid` contributes, in one run.

On development Kodak images (whole, or centre crops with --crop N),
encodes each
with `scone encode --arch grid --bpp R` for every synthesis (SCONE, SIREN,
ReLU MLP, each at the preset's frequencies and the same width, so about
the same multiply-adds per pixel), with the coordinate network (`--arch
scone`, no latent grids) at the same rates, and with JPEG at the same
bytes (libjpeg-turbo through Pillow, the quality whose file is the
largest within the bytes). Prints PSNR per image and rate, the means, and
each synthesis's mean difference against SCONE's (a BD-PSNR over two
rates is this mean).

    .venv-rd/bin/python tools/grid_ablation.py [--images kodim01,kodim05] \\
        [--rates 0.3,1.0] [--iterations 300] [--crop 0] \\
        [--configs grid-scone,grid-siren,grid-relu] [--scone target/release/scone]

Crops keep each run short, but their rates include the file's fixed bytes
(headers, the synthesis: about 2 kB), which on 65,536 pixels are a quarter
of a bit per pixel: compare syntheses on whole images.
"""

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from rd import cpu_model, jpeg_at, psnr

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "kodak"

# Each synthesis at the preset's size (L = 3, H = 24) and frequencies.
CONFIGS = {
    "grid-scone": ["--arch", "grid", "--synthesis", "scone"],
    "grid-siren": ["--arch", "grid", "--synthesis", "siren"],
    "grid-relu": ["--arch", "grid", "--synthesis", "relu"],
    "scone (no grids)": ["--arch", "scone"],
    # Frequency tuning (not in the default list): SCONE's masks read the
    # latents (ω₀ scales them) and its bases the coordinates (ω), SIREN's
    # first layer reads both (ω₀).
    "grid-scone-w0=0.3": ["--arch", "grid", "--synthesis", "scone", "--omega0", "0.3"],
    "grid-scone-w0=3": ["--arch", "grid", "--synthesis", "scone", "--omega0", "3"],
    "grid-scone-w=8": ["--arch", "grid", "--synthesis", "scone", "--omegas", "8,8"],
    "grid-scone-w=30": ["--arch", "grid", "--synthesis", "scone", "--omegas", "30,30"],
    "grid-scone-w0=10": ["--arch", "grid", "--synthesis", "scone", "--omega0", "10"],
    "grid-scone-w0=30": ["--arch", "grid", "--synthesis", "scone", "--omega0", "30"],
    "grid-scone-w0=10+w=8": ["--arch", "grid", "--synthesis", "scone", "--omega0", "10", "--omegas", "8,8"],
    "grid-scone-w0=3+w=8": ["--arch", "grid", "--synthesis", "scone", "--omega0", "3", "--omegas", "8,8"],
    "grid-siren-w0=0.3": ["--arch", "grid", "--synthesis", "siren", "--omega0", "0.3"],
    "grid-siren-w0=3": ["--arch", "grid", "--synthesis", "siren", "--omega0", "3"],
}
DEFAULT_CONFIGS = ["grid-scone", "grid-siren", "grid-relu", "scone (no grids)"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default="kodim01,kodim05,kodim15,kodim23")
    ap.add_argument("--rates", default="0.3,1.0")
    ap.add_argument("--iterations", default="300")
    ap.add_argument("--crop", type=int, default=0, help="centre crop side; 0 for the whole image")
    ap.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help="of: " + ", ".join(CONFIGS))
    ap.add_argument("--scone", default=str(ROOT / "target/release/scone"))
    a = ap.parse_args()
    rates = [float(r) for r in a.rates.split(",")]
    configs = {k: CONFIGS[k] for k in a.configs.split(",")}
    images = a.images.split(",")
    print(f"CPU: {cpu_model()}; {a.iterations} steps per grid encode\n")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in images:
            img = Image.open(DATA / f"{name}.png").convert("RGB")
            w, h = img.size
            c = a.crop
            crop = img.crop(((w - c) // 2, (h - c) // 2, (w + c) // 2, (h + c) // 2)) if c else img
            npix = crop.size[0] * crop.size[1]
            src = tmp / f"{name}.png"
            crop.save(src)
            truth = np.asarray(crop)
            for rate in rates:
                for label, extra in configs.items():
                    out = tmp / "x.scone"
                    iters = ["--iterations", a.iterations] if label.startswith("grid") else []
                    t = time.time()
                    subprocess.run(
                        [a.scone, "encode", str(src), "-o", str(out), "--bpp", str(rate), "--device", "cpu", "-q"]
                        + extra + iters,
                        check=True,
                    )
                    secs = time.time() - t
                    dec = tmp / "x.png"
                    subprocess.run([a.scone, "decode", str(out), "-o", str(dec)], check=True, capture_output=True)
                    p = psnr(truth, np.asarray(Image.open(dec).convert("RGB")))
                    bpp = out.stat().st_size * 8 / npix
                    results[(name, rate, label)] = (p, bpp)
                    print(f"{name} {rate:.2f} {label:18s} {p:6.2f} dB {bpp:.3f} bpp {secs:5.1f} s", flush=True)
                jb = jpeg_at(crop, int(rate * npix / 8))
                if jb:
                    p = psnr(truth, jb[1])
                    results[(name, rate, "jpeg")] = (p, jb[0] * 8 / npix)
                    print(f"{name} {rate:.2f} {'jpeg':18s} {p:6.2f} dB {jb[0] * 8 / npix:.3f} bpp", flush=True)
    labels = list(configs) + ["jpeg"]
    print("\n| codec | " + " | ".join(f"{r} bpp" for r in rates) + " | mean vs grid-scone |")
    print("|---" * (len(rates) + 2) + "|")
    for label in labels:
        means, diffs = [], []
        for r in rates:
            vals = [results[(n, r, label)][0] for n in images if (n, r, label) in results]
            means.append(sum(vals) / len(vals) if vals else float("nan"))
            for n in images:
                if (n, r, label) in results and (n, r, "grid-scone") in results:
                    diffs.append(results[(n, r, label)][0] - results[(n, r, "grid-scone")][0])
        d = sum(diffs) / len(diffs) if diffs else float("nan")
        print(f"| {label} | " + " | ".join(f"{m:.2f}" for m in means) + f" | {d:+.2f} dB |")


if __name__ == "__main__":
    main()
