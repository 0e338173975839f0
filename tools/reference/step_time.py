#!/usr/bin/env python3
"""Times one training step (forward, MSE loss, backward, Adam) of the paper's
image SCONE (5 layers, 250 hidden, omega0 30, omegas 90/60/30/10) in PyTorch,
the baseline `scone`'s own step timings are compared with (tools/gpu_check.sh
on a GPU, `cargo run --release --example bench` on the CPU).

    python step_time.py --device cuda --points 65536,393216 [--reps 20]
        [--modes eager,eager-tf32,compile-tf32,infer] [--threads N]
        [--arch scone|scone3d|siren]

Architectures: `scone` and `siren` are the paper's image networks (2 → 3);
`scone3d` is the paper's 3D SCONE (3 → 1, eight hidden layers of 240,
omega0 30, omegas 70/70/60/50/40/40/30/30), as `scone`'s SDF paper preset.

Modes: `eager` is PyTorch's default float32 (no tf32); `eager-tf32` allows
tf32 matrix products (torch.backends.cuda.matmul.allow_tf32); `compile` and
`compile-tf32` wrap the whole step's forward and loss in torch.compile
(default mode, static shapes), the optimiser step left eager. Each mode runs
3 warm-up steps (compilation included) and then `--reps` timed steps, with
the device synchronised before the clock starts and stops.

`infer` times inference instead: the network evaluated at `points`
coordinates under torch.inference_mode, in chunks of 65,536 (bounded
memory, as a decoder would run it; one call over every point took within
10% of the same time on the 2-core CPU docs/perf.md describes), after one
warm-up chunk.

Prints one line per (mode, points): `step_time mode=... points=...
seconds=... cores=...`, where cores is the process's CPU time over the wall
time of the timed steps (how many cores were busy on average).
"""
import argparse
import time

import torch

import scone_ref


def arch(name: str) -> dict:
    if name == "scone":
        params = {"layers": 5, "hidden": 250, "omega0": 30.0,
                  "omegas": [90.0, 60.0, 30.0, 10.0], "mask": "sin2"}
    elif name == "scone3d":
        params = {"layers": 9, "hidden": 240, "omega0": 30.0,
                  "omegas": [70.0, 70.0, 60.0, 50.0, 40.0, 40.0, 30.0, 30.0], "mask": "sin2"}
        return {"name": "scone", "in_dims": 3, "out_dims": 1, "params": params}
    elif name == "siren":
        params = {"layers": 5, "hidden": 250, "omega0": 30.0}
    else:
        raise SystemExit(f"unknown architecture {name}")
    return {"name": name, "in_dims": 2, "out_dims": 3, "params": params}


def sync(device: str):
    if device == "cuda":
        torch.cuda.synchronize()


def time_infer(name: str, points: int, reps: int, device: str) -> tuple:
    a = arch(name)
    model = scone_ref.build(a, seed=0).to(device)
    g = torch.Generator(device="cpu").manual_seed(0)
    x = (torch.rand(points, a["in_dims"], generator=g) * 2 - 1).to(device)
    chunk = 65536
    with torch.inference_mode():
        model(x[:chunk])
        sync(device)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(reps):
            out = [model(x[i:i + chunk]) for i in range(0, points, chunk)]
        sync(device)
        wall = time.perf_counter() - start
    del out
    return wall / reps, (time.process_time() - cpu) / wall


def time_mode(name: str, mode: str, points: int, reps: int, device: str) -> tuple:
    if mode == "infer":
        return time_infer(name, points, reps, device)
    torch.backends.cuda.matmul.allow_tf32 = mode.endswith("tf32")
    torch.backends.cudnn.allow_tf32 = mode.endswith("tf32")
    a = arch(name)
    model = scone_ref.build(a, seed=0).to(device)
    g = torch.Generator(device="cpu").manual_seed(0)
    x = (torch.rand(points, a["in_dims"], generator=g) * 2 - 1).to(device)
    y = (torch.rand(points, a["out_dims"], generator=g) * 2 - 1).to(device)
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
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(reps):
        step()
    sync(device)
    wall = time.perf_counter() - start
    return wall / reps, (time.process_time() - cpu) / wall


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
            seconds, cores = time_mode(a.arch, mode, points, a.reps, a.device)
            print(f"step_time arch={a.arch} mode={mode} points={points} seconds={seconds:.6f} "
                  f"cores={cores:.2f}", flush=True)


if __name__ == "__main__":
    main()
