#!/usr/bin/env python3
"""Fits the reference networks to one image in PyTorch, under the protocol of
`cargo run --release --example experiments -- table2` (CPU): the image box-
filtered by --downscale, full batch, Adam, cosine learning-rate decay to lr/100,
coordinates on the endpoints grid linspace(-1, 1). Prints the final PSNR of each
network, so the ordering of our encoder's Table 2 can be checked against an
independent trainer.

    python fit.py ../../../shared/data/kodak/kodim23.png --arch scone --arch siren
        [--downscale 8] [--steps 300] [--lr 5e-3] [--width 32|--hidden name=H ...]

Architectures are given as JSON-like `--arch NAME` with the paper's
hyperparameters (FORMAT.md §5) at the widths the Rust tool prints; override a
width with `--hidden NAME=H`.
"""
import argparse
import math

import numpy as np
import torch
from PIL import Image

import scone_ref


def box_downscale(a: np.ndarray, f: int) -> np.ndarray:
    h, w = a.shape[0] // f, a.shape[1] // f
    return a[: h * f, : w * f].reshape(h, f, w, f, -1).mean(axis=(1, 3))


def arch_json(name: str, hidden: int) -> dict:
    if name.startswith("scone"):
        mask = name.split("-", 1)[1] if "-" in name else "sin2"
        params = {"layers": 5, "hidden": hidden, "omega0": 30.0,
                  "omegas": [90.0, 60.0, 30.0, 10.0], "mask": mask}
        family = "scone"
    elif name == "siren":
        params, family = {"layers": 5, "hidden": hidden, "omega0": 30.0}, name
    elif name == "rbm":
        params, family = {"layers": 5, "hidden": hidden, "omega0": 30.0, "mask_omega": 10.0}, name
    elif name == "ffn":
        params, family = {"layers": 4, "hidden": hidden, "frequencies": 128, "sigma": 10.0}, name
    elif name == "mfn":
        params, family = {"layers": 5, "hidden": hidden, "input_scale": 256.0, "alpha": 6.0,
                          "beta": 1.0, "weight_scale": 1.0}, name
    elif name == "wire":
        params, family = {"layers": 5, "hidden": hidden, "omega0": 20.0, "s0": 20.0}, name
    else:
        raise SystemExit(f"unknown architecture {name}")
    return {"name": family, "in_dims": 2, "out_dims": 3, "params": params}


# The widths `experiments params` prints for the CPU protocol (budget 5 × 32).
CPU_WIDTHS = {"scone": 32, "siren": 33, "rbm": 33, "ffn": 13, "mfn": 30, "wire": 33}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("--arch", action="append", required=True)
    ap.add_argument("--hidden", action="append", default=[])
    ap.add_argument("--downscale", type=int, default=8)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    widths = dict(CPU_WIDTHS)
    for item in a.hidden:
        k, v = item.split("=")
        widths[k] = int(v)
    img = np.asarray(Image.open(a.image).convert("RGB"), dtype=np.float64) / 255.0
    img = box_downscale(img, a.downscale)
    h, w, _ = img.shape
    ys, xs = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    coords = torch.tensor(np.stack([xs, ys], -1).reshape(-1, 2), dtype=torch.float32)
    target = torch.tensor(img.reshape(-1, 3) * 2.0 - 1.0, dtype=torch.float32)
    for name in a.arch:
        family = name.split("-", 1)[0] if name.startswith("scone") else name
        model = scone_ref.build(arch_json(name, widths[family]), torch.float32, seed=a.seed)
        opt = torch.optim.Adam(model.parameters(), lr=a.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps, eta_min=a.lr / 100)
        for _ in range(a.steps):
            loss = ((model(coords) - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            pred = ((model(coords) + 1) / 2).clamp(0, 1)
            mse = ((pred - (target + 1) / 2) ** 2).mean().item()
        count = scone_ref.param_count(model)
        print(f"{name:16} {w}x{h} {count[1]:>7} params  {10 * math.log10(1 / mse):6.2f} dB")


if __name__ == "__main__":
    main()
