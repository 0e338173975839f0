#!/usr/bin/env python3
"""Self-test of the reference without any Rust export.

Writes synthetic exports for every architecture (random weights with spec/FORMAT.md's
names and shapes) whose "outputs" (float32) and "reference" (float64) come from a
second, independent plain-numpy implementation of the formulas of spec/FORMAT.md §5 (below),
then runs check.py's logic on them: they must pass, and perturbing one weight,
one output value, one reference value, a tensor name or the tensor order must be
caught. Also checks the paper presets' parameter counts and that every module
trains (finite loss, a gradient for every parameter).

    python selftest.py [--keep DIR]     # --keep: also leave the synthetic JSON files in DIR
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402
from scone_ref import MASKS, build, param_count  # noqa: E402

torch.set_num_threads(1)


# ============================================================ numpy implementation
def tensor_specs(arch):
    """[(name, shape)] in file order, written out from spec/FORMAT.md §6.2."""
    d, C, p = arch["in_dims"], arch["out_dims"], arch["params"]
    L, H, n = p["layers"], p["hidden"], arch["name"]
    s = []
    if n == "scone":
        for i in range(L - 1):
            s += [(f"hidden.{i}.mask.weight", [H, d if i == 0 else H]), (f"hidden.{i}.mask.bias", [H])]
            if p["mask"].endswith("-l"):
                s.append((f"hidden.{i}.mask.scale", [H]))
            s += [(f"hidden.{i}.basis.weight", [H, d]), (f"hidden.{i}.basis.bias", [H])]
    elif n in ("siren", "rbm"):
        for i in range(L - 1):
            s += [(f"hidden.{i}.weight", [H, d if i == 0 else H]), (f"hidden.{i}.bias", [H])]
            if n == "rbm":
                s += [(f"hidden.{i}.mask.weight", [H, d]), (f"hidden.{i}.mask.bias", [H])]
    elif n == "ffn":
        m = p["frequencies"]
        s.append(("encoding.weight", [m, d]))
        for i in range(L - 1):
            s += [(f"hidden.{i}.weight", [H, 2 * m if i == 0 else H]), (f"hidden.{i}.bias", [H])]
    elif n == "mfn":
        for i in range(L - 1):
            s += [(f"filter.{i}.weight", [H, d]), (f"filter.{i}.bias", [H]),
                  (f"filter.{i}.mu", [H, d]), (f"filter.{i}.gamma", [H])]
        for i in range(L - 2):
            s += [(f"hidden.{i}.weight", [H, H]), (f"hidden.{i}.bias", [H])]
    elif n == "wire":
        s += [("hidden.0.weight", [H, d]), ("hidden.0.bias", [H])]
        for i in range(1, L - 1):
            s += [(f"hidden.{i}.weight.re", [H, H]), (f"hidden.{i}.weight.im", [H, H]),
                  (f"hidden.{i}.bias.re", [H]), (f"hidden.{i}.bias.im", [H])]
        s += [("output.weight.re", [C, H]), ("output.weight.im", [C, H]), ("output.bias", [C])]
        return s
    return s + [("output.weight", [C, H]), ("output.bias", [C])]


def np_forward(arch, T, X, dt):
    """The formulas of spec/FORMAT.md §5 in numpy, computed entirely in dtype dt. X: [n, d]; returns [n, C]."""
    p, n = arch["params"], arch["name"]
    L = p["layers"]
    T = {k: v.astype(dt) for k, v in T.items()}
    x = X.astype(dt)
    f = lambda v: dt(np.float32(v))  # hyperparameters are f32 in the file  # noqa: E731

    def lin(W, b, v):  # W . v + b for every point (v: [n, in])
        return v @ W.T + b

    if n == "scone":
        w0, mask = f(p["omega0"]), p["mask"]
        z = x
        for i in range(L - 1):
            u = w0 * lin(T[f"hidden.{i}.mask.weight"], T[f"hidden.{i}.mask.bias"], z)
            if mask.endswith("-l"):
                u = T[f"hidden.{i}.mask.scale"] * u
            if mask == "sin2":
                m = np.sin(u) ** 2
            elif mask in ("sigmoid", "sigmoid-l"):
                m = dt(1) / (dt(1) + np.exp(-u))
            elif mask in ("ntanh", "ntanh-l"):
                m = (np.tanh(u) + dt(1)) / dt(2)
            else:
                m = np.exp(-(u ** 2))
            g = np.sin(f(p["omegas"][i]) * lin(T[f"hidden.{i}.basis.weight"], T[f"hidden.{i}.basis.bias"], x))
            z = m * g
    elif n in ("siren", "rbm"):
        w0 = f(p["omega0"])
        z = x
        for i in range(L - 1):
            h = np.sin(w0 * lin(T[f"hidden.{i}.weight"], T[f"hidden.{i}.bias"], z))
            if n == "rbm":
                s = np.sin(f(p["mask_omega"]) * lin(T[f"hidden.{i}.mask.weight"], T[f"hidden.{i}.mask.bias"], x))
                h = np.where(s > 0, h, dt(0))
            z = h
    elif n == "ffn":
        B = T["encoding.weight"]
        a = dt(2 * math.pi) * (x @ B.T)
        z = np.concatenate([np.cos(a), np.sin(a)], axis=1)
        for i in range(L - 1):
            z = np.maximum(lin(T[f"hidden.{i}.weight"], T[f"hidden.{i}.bias"], z), dt(0))
    elif n == "mfn":
        def filt(i):
            mu, gamma = T[f"filter.{i}.mu"], T[f"filter.{i}.gamma"]
            sq = np.zeros((x.shape[0], mu.shape[0]), dtype=dt)
            for k in range(x.shape[1]):  # sum_k (x_k - mu_jk)^2
                sq += (x[:, k:k + 1] - mu[None, :, k]) ** 2
            return np.sin(lin(T[f"filter.{i}.weight"], T[f"filter.{i}.bias"], x)) * np.exp(dt(-0.5) * gamma * sq)
        z = filt(0)
        for i in range(1, L - 1):
            z = filt(i) * lin(T[f"hidden.{i - 1}.weight"], T[f"hidden.{i - 1}.bias"], z)
    elif n == "wire":  # real arithmetic on (Re, Im) pairs, independent of torch's complex type
        w0, s0 = f(p["omega0"]), f(p["s0"])
        a = lin(T["hidden.0.weight"], T["hidden.0.bias"], x)
        mag = np.exp(-(s0 * s0) * a * a)
        zr, zi = mag * np.cos(w0 * a), mag * np.sin(w0 * a)
        for i in range(1, L - 1):
            Wr, Wi = T[f"hidden.{i}.weight.re"], T[f"hidden.{i}.weight.im"]
            pr = zr @ Wr.T - zi @ Wi.T + T[f"hidden.{i}.bias.re"]
            qi = zr @ Wi.T + zi @ Wr.T + T[f"hidden.{i}.bias.im"]
            mag = np.exp(-w0 * qi - (s0 * s0) * (pr * pr + qi * qi))
            zr, zi = mag * np.cos(w0 * pr), mag * np.sin(w0 * pr)
        return zr @ T["output.weight.re"].T - zi @ T["output.weight.im"].T + T["output.bias"]
    return lin(T["output.weight"], T["output.bias"], z)


# ============================================================ synthetic exports
def random_tensors(arch, rng):
    """Random f32 weights per spec/FORMAT.md's shapes, at scales that keep the networks tame."""
    p, n, d = arch["params"], arch["name"], arch["in_dims"]
    H = p["hidden"]
    out = {}
    for name, shape in tensor_specs(arch):
        fan = shape[1] if len(shape) == 2 else None
        u = lambda b: rng.uniform(-b, b, size=shape)  # noqa: E731
        if n in ("scone", "siren", "rbm"):
            w0 = p["omega0"]
            if name.endswith("mask.scale"):
                v = rng.uniform(0.5, 1.5, size=shape)
            elif n == "rbm" and ".mask." in name:
                v = u(1.0)
            elif ".basis." in name:
                v = u(math.sqrt(1 / d))
            elif name.startswith("hidden.0."):
                v = u(1 / d)
            else:
                v = u(math.sqrt(6 / H) / w0)
        elif n == "ffn":
            v = rng.normal(0, p["sigma"], size=shape) if name == "encoding.weight" else u(
                1 / math.sqrt(fan or H))
        elif n == "mfn":
            nf = p["layers"] - 1
            if name.endswith(".gamma"):
                v = rng.gamma(p["alpha"] / nf, 1 / p["beta"], size=shape)
            elif name.endswith(".mu"):
                v = u(1.0)
            elif name.startswith("filter.") and name.endswith(".bias"):
                v = u(math.pi)
            elif name.startswith("filter."):
                v = u(1 / math.sqrt(d)) * p["input_scale"] / math.sqrt(nf) * rng.uniform(0.2, 1.5, size=(shape[0], 1))
            elif name.startswith("hidden.") and name.endswith(".weight"):
                v = u(math.sqrt(p["weight_scale"] / H))
            else:
                v = u(1 / math.sqrt(H))
        else:  # wire: exp(-omega0 q) amplifies f32 rounding, keep the complex layers small
            v = u((1.0 if name.startswith("hidden.0.") else 0.5) / math.sqrt(fan or H))
        out[name] = np.asarray(v, dtype=np.float32).astype(np.float64)
    return out


def make_coords(d, n_random, rng):
    """A small grid (including -1, 0 and 1) plus random points in [-1, 1], as f32."""
    g = np.linspace(-1, 1, 5 if d < 3 else 3)
    grid = np.stack(np.meshgrid(*([g] * d), indexing="ij"), -1).reshape(-1, d)
    pts = np.concatenate([grid, rng.uniform(-1, 1, size=(n_random, d))])
    return pts.astype(np.float32).astype(np.float64)


def make_export(arch, seed, n_random=150):
    rng = np.random.default_rng(seed)
    T = random_tensors(arch, rng)
    X = make_coords(arch["in_dims"], n_random, rng)
    out32 = np_forward(arch, T, X, np.float32).astype(np.float64)
    ref64 = np_forward(arch, T, X, np.float64)
    return {
        "arch": arch,
        "tensors": [{"name": k, "shape": list(s), "data": T[k].ravel().tolist()} for k, s in tensor_specs(arch)],
        "coords": X.ravel().tolist(),
        "outputs": out32.ravel().tolist(),
        "reference": ref64.ravel().tolist(),
    }


def arch(name, d, C, L, H, **params):
    return {"name": name, "in_dims": d, "out_dims": C, "params": {"layers": L, "hidden": H, **params}}


def synthetic_archs():
    a = []
    for d, L in ((2, 3), (3, 4)):
        for m in MASKS:
            a.append(arch("scone", d, 3, L, 16, omega0=30.0, omegas=[90.0, 60.0, 30.0, 10.0][:L - 1], mask=m))
        a.append(arch("rbm", d, 3, L, 16, omega0=30.0, mask_omega=10.0))
        a.append(arch("siren", d, 3, L, 16, omega0=30.0))
        a.append(arch("ffn", d, 3, L, 16, frequencies=8, sigma=2.0))
        a.append(arch("mfn", d, 3, L, 16, input_scale=16.0, alpha=6.0, beta=1.0, weight_scale=1.0))
        a.append(arch("wire", d, 3, L, 16, omega0=10.0, s0=3.0))
    # edge cases: one input, one output, a single hidden layer, odd f32 hyperparameters
    a.append(arch("scone", 1, 1, 2, 5, omega0=0.1, omegas=[7.3], mask="sigmoid-l"))
    a.append(arch("ffn", 1, 2, 2, 7, frequencies=3, sigma=1.5))
    a.append(arch("mfn", 1, 1, 2, 4, input_scale=8.0, alpha=2.0, beta=1.0, weight_scale=1.0))
    a.append(arch("wire", 1, 2, 2, 6, omega0=20.0, s0=0.1))
    a.append(arch("siren", 3, 16, 2, 3, omega0=30.0))
    return a


# ============================================================ tests
def run_check(export, **kw):
    return check.check_export(export, **kw)


def test_synthetic_exports_pass(exports):
    worst = {"t64_out": 0.0, "t64_ref": 0.0, "t32_out": 0.0}
    for e in exports:
        r = run_check(e)
        assert r["ok"], f"should pass: {check.format_line('synthetic', r)}"
        for k in worst:
            worst[k] = max(worst[k], r[k])
    return worst


def first_weight(e):
    return next(t for t in e["tensors"] if len(t["shape"]) == 2)


def test_perturbations_are_caught(exports):
    caught = 0
    for e in exports:
        for what in ("first", "output"):
            bad = copy.deepcopy(e)
            t = first_weight(bad) if what == "first" else next(
                t for t in bad["tensors"] if t["name"] in ("output.weight", "output.weight.re"))
            t["data"][0] += 0.05 if what == "first" else 0.5
            r = run_check(bad)
            assert not r["ok"] and "outputs" in r["problems"] and "reference" in r["problems"], \
                f"perturbed {t['name']} not caught: {check.format_line('synthetic', r)}"
            caught += 1
        bad = copy.deepcopy(e)
        bad["outputs"][-1] += 1e-3
        r = run_check(bad)
        assert r["problems"] == ["outputs"], check.format_line("outputs+1e-3", r)
        bad = copy.deepcopy(e)
        bad["reference"][0] += 1e-7
        r = run_check(bad)
        assert r["problems"] == ["reference"], check.format_line("reference+1e-7", r)
        bad = copy.deepcopy(e)
        bad["reference"][0] = float("nan")
        assert not run_check(bad)["ok"], "NaN in reference not caught"
        caught += 3
    return caught


def test_malformed_exports_are_rejected(e):
    for mutate in (
        lambda b: b["tensors"][0].__setitem__("name", "hidden.0.wieght"),
        lambda b: b["tensors"].__setitem__(slice(0, 2), b["tensors"][1::-1]),   # swap first two
        lambda b: b["tensors"].pop(),
        lambda b: b["tensors"][0].__setitem__("shape", b["tensors"][0]["shape"][::-1] + [1]),
        lambda b: b["arch"]["params"].__setitem__("extra", 1),
    ):
        bad = copy.deepcopy(e)
        mutate(bad)
        try:
            run_check(bad)
        except (ValueError, KeyError):
            continue
        raise AssertionError("malformed export accepted")


def test_paper_param_counts():
    presets = [
        (arch("scone", 2, 3, 5, 250, omega0=30.0, omegas=[90.0, 60.0, 30.0, 10.0], mask="sin2"), (192753, 192753, 0)),
        (arch("siren", 2, 3, 5, 256, omega0=30.0), (198915, 198915, 0)),
        (arch("ffn", 2, 3, 4, 256, frequencies=128, sigma=10.0), (198147, 198147, 256)),
        (arch("mfn", 2, 3, 5, 256, input_scale=256.0, alpha=6.0, beta=1.0, weight_scale=1.0), (204291, 204291, 0)),
        (arch("wire", 2, 3, 5, 254, omega0=20.0, s0=20.0), (390909, 195837, 0)),
        (arch("rbm", 2, 3, 5, 256, omega0=30.0, mask_omega=10.0), (198915, 198915, 3072)),
    ]
    for a, want in presets:
        got = tuple(param_count(build(a, seed=0)))
        assert got == want, f"{a['name']}: param_count {got} != {want}"


def test_modules_train():
    """One Adam step on every architecture from its paper init: finite loss, all grads present."""
    for a in synthetic_archs():
        model = build(a, dtype=torch.float32, seed=1)
        x = torch.rand(64, a["in_dims"]) * 2 - 1
        target = torch.rand(64, a["out_dims"])
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        loss = ((model(x) - target) ** 2).mean()
        assert torch.isfinite(loss), f"{a['name']}: loss {loss}"
        loss.backward()
        for n, p in model.named_parameters():
            assert p.grad is not None and torch.all(torch.isfinite(torch.view_as_real(p.grad) if p.is_complex()
                                                                   else p.grad)), f"{a['name']}: {n} grad"
        opt.step()
        assert len(list(model.buffers())) == {"ffn": 1, "rbm": 2 * (a["params"]["layers"] - 1)}.get(a["name"], 0)


def test_cli(exports, tmp):
    good = os.path.join(tmp, "good.json")
    bad = os.path.join(tmp, "bad.json")
    with open(good, "w") as f:
        json.dump(exports[0], f)
    b = copy.deepcopy(exports[0])
    b["tensors"][0]["data"][0] += 0.05
    with open(bad, "w") as f:
        json.dump(b, f)
    cmd = [sys.executable, os.path.join(HERE, "check.py"), "--threads", "1"]
    ok = subprocess.run(cmd + [good], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip().splitlines()[-1].startswith("PASS"), ok.stdout + ok.stderr
    ko = subprocess.run(cmd + [good, bad, "--tol", "1e-4"], capture_output=True, text=True)
    lines = ko.stdout.strip().splitlines()
    assert ko.returncode == 1 and len(lines) == 3 and lines[-1].startswith("FAIL") and "OK" in lines[0], ko.stdout


def main():
    ap = argparse.ArgumentParser(description="self-test of tools/reference")
    ap.add_argument("--keep", metavar="DIR", help="write the synthetic exports to DIR")
    a = ap.parse_args()
    exports = [make_export(x, seed) for seed, x in enumerate(synthetic_archs())]
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        for i, e in enumerate(exports):
            label = e["arch"]["name"] + ("-" + e["arch"]["params"]["mask"] if e["arch"]["name"] == "scone" else "")
            with open(os.path.join(a.keep, f"{i:02d}-{label}-d{e['arch']['in_dims']}.json"), "w") as f:
                json.dump(e, f)

    buf = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, e in enumerate(exports):
            paths.append(os.path.join(tmp, f"{i:02d}.json"))
            with open(paths[-1], "w") as f:
                json.dump(e, f)
        assert check.check_files(paths, out=buf), buf.getvalue()
        worst = test_synthetic_exports_pass(exports)
        print(f"ok  {len(exports)} synthetic exports pass; worst |t64-out|={worst['t64_out']:.1e} "
              f"|t64-ref|={worst['t64_ref']:.1e} |t32-out|={worst['t32_out']:.1e}")
        n = test_perturbations_are_caught(exports)
        print(f"ok  {n} perturbations (one weight, one output, one reference value, NaN) all caught")
        test_malformed_exports_are_rejected(exports[0])
        test_malformed_exports_are_rejected(exports[10])
        print("ok  misnamed / reordered / missing / misshaped tensors and unknown params rejected")
        test_paper_param_counts()
        print("ok  paper preset parameter counts (scone 192753, siren 198915, ffn 198147+256, "
              "mfn 204291, wire 195837/390909, rbm 198915+3072)")
        test_modules_train()
        print("ok  every architecture trains one step from its paper init")
        test_cli(exports, tmp)
        print("ok  check.py command line: exit 0 on a good file, 1 with one perturbed weight")
    print("selftest PASSED")


if __name__ == "__main__":
    main()
