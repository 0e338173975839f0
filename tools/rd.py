#!/usr/bin/env python3
"""Rate-distortion of scone against JPEG and WebP on Kodak, in one run.

Encodes each image with `scone encode --bpp R` at the rates of
../shared/data/kodak_rd_anchors.csv (0.2, 0.3, 0.5, 0.75, 1.0 bpp) and, on
the same images in the same run, with JPEG (libjpeg-turbo through Pillow,
4:2:0, optimised Huffman, every quality 1-95) and WebP (libwebp through
Pillow, method 6, every quality 0-100). Each codec's PSNR at each rate is
read from that image's own curve, interpolated linearly in log(bpp) over
the rates it reached (or up to 1 % beyond its ends, where scone's encodes
land just below the rate asked), then averaged over the images, as the
anchors are.
BD-rate (Bjontegaard: log-rate as a cubic in PSNR, integrated over the
PSNR range both curves cover) is given for scone against JPEG and WebP, on
the mean curves and as the mean of the per-image figures.

Every encode is appended to a CSV (default docs/rd/rd.csv) as it finishes,
and a run skips what the CSV already holds, so that a 24-image run can span
sessions. It prints the tables (Markdown), the rate reached against the
rate asked, encode and decode times and the CPU, and writes an RD plot
(PNG) with the published anchors drawn beside, not rerun.

    python3 -m venv .venv-rd && .venv-rd/bin/pip install pillow numpy matplotlib
    cargo build --release
    .venv-rd/bin/python tools/rd.py [--images kodim01,kodim03] [--all] \\
        [--rates 0.2,0.3] [--csv docs/rd/rd.csv] [--plot docs/rd/rd.png] \\
        [--scone target/release/scone] [--label scone] [--extra "--width 96"] \\
        [--report-only]

`--extra` passes more options to `scone encode` (an ablation's settings,
another preset); `--label` names those rows in the CSV, so that several
configurations share one file and are compared in one table. In
docs/rd/rd.csv, `scone` rows are the coordinate SCONE (rerun them with
`--label scone --extra "--arch scone"`) and `grid` rows the latent grids
(FORMAT.md §5.9), the images' default since (`--label grid`; `--extra
"--preset slow"` with another label for the slow preset).

Compare with the published anchors only on all 24 images: a subset's JPEG
differs from the 24-image JPEG by most of a dB.
"""

import argparse
import csv
import io
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, features

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DEV = ["kodim01", "kodim03", "kodim05", "kodim08", "kodim13", "kodim15", "kodim20", "kodim23"]
RATES = [0.2, 0.3, 0.5, 0.75, 1.0]
FIELDS = ["image", "codec", "setting", "bytes", "bpp", "psnr", "encode_s", "decode_s", "cpu"]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def psnr(a, b):
    """PSNR (dB) of two 8-bit images, arrays or PIL images."""
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def jpeg_at(img, max_bytes):
    """The largest JPEG of `img` (quality 1-95, optimised Huffman) within
    `max_bytes`: its size and its decoded RGB array, or None."""
    best = None
    for q in range(1, 96):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q, optimize=True)
        if buf.tell() <= max_bytes:
            best = (buf.tell(), np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
    return best


def load_rows(path):
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def append_row(path, row):
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)


def pillow_curve(img, fmt, qualities, **opts):
    """(bpp, psnr) of every quality, with the encode and decode seconds."""
    src = np.asarray(img)
    pixels = img.width * img.height
    out = []
    for q in qualities:
        buf = io.BytesIO()
        t = time.perf_counter()
        img.save(buf, fmt, quality=q, **opts)
        enc = time.perf_counter() - t
        t = time.perf_counter()
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        dect = time.perf_counter() - t
        out.append((q, buf.tell(), 8 * buf.tell() / pixels, psnr(src, dec), enc, dect))
    return out


def scone_point(scone, path, rate, extra, workdir):
    src = np.asarray(Image.open(path).convert("RGB"))
    pixels = src.shape[0] * src.shape[1]
    out = Path(workdir) / f"{path.stem}-{rate}.scone"
    png = Path(workdir) / f"{path.stem}-{rate}.png"
    cmd = [scone, "encode", str(path), "-o", str(out), "--bpp", str(rate), "-q"] + extra
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    enc = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([scone, "decode", str(out), "-o", str(png), "--device", "cpu"], check=True)
    dec = time.perf_counter() - t
    decoded = np.asarray(Image.open(png).convert("RGB"))
    size = out.stat().st_size
    return size, 8 * size / pixels, psnr(src, decoded), enc, dec


# A rate this close outside a curve's ends (1 %) is read from its end
# segment: scone lands just below the rate asked, never above it.
EDGE = math.log(1.01)


def at_rates(points, rates):
    """PSNR at each rate, linear in log(bpp) over the points' range, or
    within EDGE beyond its ends (None further out)."""
    pts = sorted((math.log(b), p) for b, p in points if b > 0 and math.isfinite(p))
    out = []
    for r in rates:
        x = math.log(r)
        val = None
        if len(pts) == 1 and abs(pts[0][0] - x) <= EDGE:
            val = pts[0][1]
        elif len(pts) > 1:
            segments = list(zip(pts, pts[1:]))
            for (x0, y0), (x1, y1) in segments:
                if x0 <= x <= x1:
                    break
            else:
                if pts[0][0] - EDGE <= x < pts[0][0]:
                    (x0, y0), (x1, y1) = segments[0]
                elif pts[-1][0] < x <= pts[-1][0] + EDGE:
                    (x0, y0), (x1, y1) = segments[-1]
                else:
                    x0 = None
            if x0 is not None:
                val = y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        out.append(val)
    return out


def bd_rate(ref, test):
    """Bjontegaard delta rate (%) of `test` against `ref`, each a list of
    (bpp, psnr): log-rate as a cubic in PSNR, integrated over the common
    PSNR range."""
    ref = [(b, p) for b, p in ref if p is not None]
    test = [(b, p) for b, p in test if p is not None]
    if len(ref) < 4 or len(test) < 4:
        return None
    pr, lr = np.array([p for _, p in ref]), np.log([b for b, _ in ref])
    pt, lt = np.array([p for _, p in test]), np.log([b for b, _ in test])
    lo, hi = max(pr.min(), pt.min()), min(pr.max(), pt.max())
    if hi <= lo:
        return None
    fr, ft = np.polyint(np.polyfit(pr, lr, 3)), np.polyint(np.polyfit(pt, lt, 3))
    ar = np.polyval(fr, hi) - np.polyval(fr, lo)
    at = np.polyval(ft, hi) - np.polyval(ft, lo)
    return (math.exp((at - ar) / (hi - lo)) - 1) * 100


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=",".join(DEV))
    ap.add_argument("--all", action="store_true", help="all 24 Kodak images")
    ap.add_argument("--rates", default=",".join(map(str, RATES)))
    ap.add_argument("--csv", default=str(ROOT / "docs/rd/rd.csv"))
    ap.add_argument("--plot", default=str(ROOT / "docs/rd/rd.png"))
    ap.add_argument("--scone", default=str(ROOT / "target/release/scone"))
    ap.add_argument("--label", default="grid")
    ap.add_argument("--extra", default="", help="more options for scone encode")
    ap.add_argument("--kodak", default=str(DATA / "kodak"))
    ap.add_argument("--anchors", default=str(DATA / "kodak_rd_anchors.csv"))
    ap.add_argument("--report-only", action="store_true", help="no new encodes")
    a = ap.parse_args()
    images = [f"kodim{i:02d}" for i in range(1, 25)] if a.all else a.images.split(",")
    rates = [float(r) for r in a.rates.split(",")]
    csv_path = Path(a.csv)
    rows = load_rows(csv_path)
    cpu = cpu_model()
    extra = shlex.split(a.extra)

    def have(image, codec, setting):
        return any(r["image"] == image and r["codec"] == codec and r["setting"] == setting for r in rows)

    if not a.report_only:
        with tempfile.TemporaryDirectory() as work:
            for name in images:
                path = Path(a.kodak) / f"{name}.png"
                img = Image.open(path).convert("RGB")
                for codec, fmt, qualities, opts in [
                    ("jpeg", "JPEG", range(1, 96), {"optimize": True, "subsampling": "4:2:0"}),
                    ("webp", "WEBP", range(0, 101), {"method": 6}),
                ]:
                    if have(name, codec, "q1" if codec == "jpeg" else "q0"):
                        continue
                    for q, size, bpp, p, enc, dec in pillow_curve(img, fmt, qualities, **opts):
                        row = dict(image=name, codec=codec, setting=f"q{q}", bytes=size, bpp=f"{bpp:.6f}",
                                   psnr=f"{p:.4f}", encode_s=f"{enc:.4f}", decode_s=f"{dec:.4f}", cpu=cpu)
                        append_row(csv_path, row)
                        rows.append(row)
                for rate in rates:
                    if have(name, a.label, f"bpp{rate}"):
                        continue
                    size, bpp, p, enc, dec = scone_point(a.scone, path, rate, extra, work)
                    row = dict(image=name, codec=a.label, setting=f"bpp{rate}", bytes=size, bpp=f"{bpp:.6f}",
                               psnr=f"{p:.4f}", encode_s=f"{enc:.2f}", decode_s=f"{dec:.3f}", cpu=cpu)
                    append_row(csv_path, row)
                    rows.append(row)
                    print(f"{name} {a.label} {rate} bpp: {bpp:.4f} bpp, {p:.3f} dB, "
                          f"encode {enc:.1f} s, decode {dec:.2f} s", file=sys.stderr, flush=True)
    report(rows, images, rates, a, cpu)


def report(rows, images, rates, a, cpu):
    codecs = sorted({r["codec"] for r in rows if r["image"] in images},
                    key=lambda c: (c not in ("jpeg", "webp"), c))
    print(f"# Rate-distortion on {len(images)} Kodak images\n")
    print(f"CPU: {cpu}. Pillow {Image.__version__} (libjpeg-turbo "
          f"{features.version('libjpeg_turbo')}, libwebp {features.version('webp')}).\n")
    per = {}  # codec -> image -> [psnr at rate]
    curves = {}  # codec -> image -> [(bpp, psnr)]
    for c in codecs:
        for img in images:
            pts = [(float(r["bpp"]), float(r["psnr"])) for r in rows if r["codec"] == c and r["image"] == img]
            if pts:
                curves.setdefault(c, {})[img] = pts
                per.setdefault(c, {})[img] = at_rates(pts, rates)
    complete = [img for img in images if all(img in per.get(c, {}) for c in codecs)]
    print(f"Images with every codec: {len(complete)} of {len(images)}.\n")
    print("## Mean PSNR (dB) at each rate, per-image curves interpolated in log(bpp)\n")
    print("| codec | " + " | ".join(f"{r} bpp" for r in rates) + " |")
    print("| --- | " + " | ".join("---" for _ in rates) + " |")
    means = {}
    for c in codecs:
        vals = []
        for i in range(len(rates)):
            xs = [per[c][img][i] for img in complete]
            vals.append(None if not xs or any(x is None for x in xs) else sum(xs) / len(xs))
        means[c] = vals
        print(f"| {c} | " + " | ".join("–" if v is None else f"{v:.2f}" for v in vals) + " |")
    print()
    for ref in ("jpeg", "webp"):
        if ref not in means:
            continue
        print(f"## BD-rate against {ref.upper()} (negative: fewer bits for the same PSNR)\n")
        print("| codec | on the mean curves | mean of per-image |")
        print("| --- | --- | --- |")
        for c in codecs:
            if c == ref:
                continue
            mean_bd = bd_rate(list(zip(rates, means[ref])), list(zip(rates, means[c])))
            each = [bd_rate(list(zip(rates, per[ref][img])), list(zip(rates, per[c][img]))) for img in complete]
            each = [e for e in each if e is not None]
            fmt = lambda v: "–" if v is None else f"{v:+.1f} %"
            print(f"| {c} | {fmt(mean_bd)} | {fmt(sum(each) / len(each) if each else None)} |")
        print()
    for c in codecs:
        if c in ("jpeg", "webp"):
            continue
        print(f"## {c}: rate reached against rate asked, times\n")
        print("| image | " + " | ".join(f"{r}" for r in rates) + " | encode s (mean) | decode s (mean) |")
        print("| --- | " + " | ".join("---" for _ in rates) + " | --- | --- |")
        for img in images:
            rs = {r["setting"]: r for r in rows if r["codec"] == c and r["image"] == img}
            if not rs:
                continue
            cells = []
            for rate in rates:
                r = rs.get(f"bpp{rate}")
                cells.append("–" if r is None else f"{float(r['bpp']):.3f} ({100 * (float(r['bpp']) / rate - 1):+.1f} %), {float(r['psnr']):.2f} dB")
            enc = np.mean([float(r["encode_s"]) for r in rs.values()])
            dec = np.mean([float(r["decode_s"]) for r in rs.values()])
            print(f"| {img} | " + " | ".join(cells) + f" | {enc:.1f} | {dec:.2f} |")
        print()
    plot(means, rates, a, len(complete))


def plot(means, rates, a, n_images):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plot: matplotlib is not installed)")
        return
    fig, ax = plt.subplots(figsize=(8, 6))
    for c, vals in means.items():
        pts = [(r, v) for r, v in zip(rates, vals) if v is not None]
        if pts:
            ax.plot(*zip(*pts), "o-", lw=2, label=f"{c} (this run, {n_images} images)")
    if Path(a.anchors).exists():
        for line in open(a.anchors):
            if line.startswith("#") or line.startswith("codec,"):
                continue
            parts = next(csv.reader([line]))
            name, vals = parts[0], parts[2:]
            pts = [(r, float(v)) for r, v in zip(RATES, vals) if v]
            if pts and not name.startswith(("JPEG", "WebP")):
                ax.plot(*zip(*pts), "--", lw=1, alpha=0.7, label=f"{name} (published, 24 images)")
    ax.set_xscale("log")
    ax.set_xticks(RATES)
    ax.set_xticklabels([str(r) for r in RATES])
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR (dB, RGB)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Kodak rate-distortion")
    Path(a.plot).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.plot, dpi=110, bbox_inches="tight")
    print(f"plot: {a.plot}")


if __name__ == "__main__":
    main()
