#!/usr/bin/env python3
"""Times one training step (forward, MSE loss, backward, Adam) of the paper's
image SCONE (5 layers, 250 hidden, omega0 30, omegas 90/60/30/10) in PyTorch,
the baseline `scone`'s own step timings are compared with (tools/gpu_check.sh
on a GPU, `cargo run --release --example bench` on the CPU).

    python step_time.py --device cuda --points 65536,393216 [--reps 20]
        [--modes eager,eager-tf32,compile-tf32] [--threads N] [--arch scone|siren]

Modes: `eager` is PyTorch's default float32 (no tf32); `eager-tf32` allows
tf32 matrix products (torch.backends.cuda.matmul.allow_tf32); `compile` and
`compile-tf32` wrap the whole step's forward and loss in torch.compile
(default mode, static shapes), the optimiser step left eager. Each mode runs
3 warm-up steps (compilation included) and then `--reps` timed steps, with
the device synchronised before the clock starts and stops.

Prints one line per (mode, points): `step_time mode=... points=... seconds=...`.
"""
import argparse
import time

import torch

import scone_ref


def arch(name: str) -> dict:
    if name == "scone":
        params = {"layers": 5, "hidden": 250, "omega0": 30.0,
                  "omegas": [90.0, 60.0, 30.0, 10.0], "mask": "sin2"}
    elif name == "siren":
        params = {"layers": 5, "hidden": 250, "omega0": 30.0}
    else:
        raise SystemExit(f"unknown architecture {name}")
    return {"name": name, "in_dims": 2, "out_dims": 3, "params": params}


def sync(device: str):
    if device == "cuda":
        torch.cuda.synchronize()


def time_mode(name: str, mode: str, points: int, reps: int, device: str) -> float:
    torch.backends.cuda.matmul.allow_tf32 = mode.endswith("tf32")
    torch.backends.cudnn.allow_tf32 = mode.endswith("tf32")
    model = scone_ref.build(arch(name), seed=0).to(device)
    g = torch.Generator(device="cpu").manual_seed(0)
    x = (torch.rand(points, 2, generator=g) * 2 - 1).to(device)
    y = (torch.rand(points, 3, generator=g) * 2 - 1).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-6)

    def loss_fn(x, y):
        return ((model(x) - y) ** 2).mean()

    if mode.startswith("compile"):
        loss_fn = torch.compile(loss_fn, dynamic=False)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(x, y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        step()
    sync(device)
    return (time.perf_counter() - start) / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--points", default="65536,393216")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--modes", default="eager,eager-tf32,compile-tf32")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    ap.add_argument("--arch", default="scone")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.device == "cuda":
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    for mode in a.modes.split(","):
        for points in map(int, a.points.split(",")):
            seconds = time_mode(a.arch, mode, points, a.reps, a.device)
            print(f"step_time arch={a.arch} mode={mode} points={points} seconds={seconds:.6f}",
                  flush=True)


if __name__ == "__main__":
    main()
