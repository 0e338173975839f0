#!/usr/bin/env python3
"""Cross-checks `scone export` dumps against the independent PyTorch reference.

    python check.py OUT.json [OUT2.json ...] [--tol 1e-4] [--ref-tol 1e-9]

For each file: builds the architecture from "arch", loads "tensors", evaluates at
"coords" in float64 and float32, and prints one line with
  |t64-out|  max |torch float64 - "outputs"|    (the crate's fast f32 decoder)
  |t64-ref|  max |torch float64 - "reference"|  (the crate's f64 reference evaluator)
  |t32-out|  max |torch float32 - "outputs"|    (information only)
A file fails if |t64-out| > tol, or |t64-ref| > ref_tol * max(1, max|reference|),
or anything is non-finite or malformed. The last line is the verdict; the exit
status is 0 only if every file passes.

rbm's binary mask is a step function: at points within 1e-4 (f32 comparisons) or
1e-10 (f64 comparison) of a mask edge, two correct evaluators may legitimately
disagree by O(1), so such points are left out of that comparison (counted as "skip").
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scone_ref import build, load_tensors  # noqa: E402

CHUNK = 8192
FRAGILE_F32 = 1e-4
FRAGILE_F64 = 1e-10


def evaluate(export: dict, dtype: torch.dtype):
    """Returns (y [n, C] float64 numpy, fragile margin [n] or None) for the export's coords."""
    model = build(export["arch"], dtype=dtype)
    load_tensors(model, export["tensors"])
    d = int(export["arch"]["in_dims"])
    coords = np.asarray(export["coords"], dtype=np.float64)
    if coords.size % d:
        raise ValueError(f"coords has {coords.size} values, not a multiple of d={d}")
    x_all = torch.from_numpy(coords.astype(np.float32).reshape(-1, d)).to(dtype)
    ys, margins = [], []
    with torch.no_grad():
        for s in range(0, x_all.shape[0], CHUNK):
            x = x_all[s:s + CHUNK]
            ys.append(model(x).to(torch.float64).numpy())
            m = model.fragile_margin(x)
            if m is not None:
                margins.append(m.to(torch.float64).numpy())
    c = int(export["arch"]["out_dims"])
    y = np.concatenate(ys) if ys else np.zeros((0, c))
    return y, (np.concatenate(margins) if margins else None)


def _maxdiff(a: np.ndarray, b, keep):
    """max |a - b| over the kept rows; inf if anything is non-finite or shapes disagree."""
    if b is None:
        return None
    b = np.asarray(b, dtype=np.float64)
    if b.size != a.size:
        return float("inf")
    diff = np.abs(a - b.reshape(a.shape))
    if keep is not None:
        diff = diff[keep]
    if not np.all(np.isfinite(diff)):
        return float("inf")
    return float(diff.max()) if diff.size else 0.0


def check_export(export: dict, tol: float = 1e-4, ref_tol: float = 1e-9) -> dict:
    """Runs the comparison for one parsed export; returns a dict of metrics and 'ok'."""
    arch = export["arch"]
    label = arch["name"] + ("/" + arch["params"]["mask"] if arch["name"] == "scone" else "")
    y64, margin = evaluate(export, torch.float64)
    y32, _ = evaluate(export, torch.float32)
    keep32 = None if margin is None else margin >= FRAGILE_F32
    keep64 = None if margin is None else margin >= FRAGILE_F64
    out, ref = export.get("outputs"), export.get("reference")
    r = {
        "arch": label, "d": int(arch["in_dims"]), "C": int(arch["out_dims"]), "n": y64.shape[0],
        "t64_out": _maxdiff(y64, out, keep32),
        "t64_ref": _maxdiff(y64, ref, keep64),
        "t32_out": _maxdiff(y32, out, keep32),
        "skip": 0 if margin is None else int((~keep32).sum()),
    }
    ref_scale = max(1.0, float(np.max(np.abs(ref))) if ref is not None and len(ref) else 1.0)
    r["ref_bound"] = ref_tol * ref_scale
    problems = []
    if out is None and ref is None:
        problems.append("no outputs or reference")
    if r["n"] == 0:
        problems.append("no coords")
    if not np.all(np.isfinite(y64)):
        problems.append("torch f64 not finite")
    if r["t64_out"] is not None and not r["t64_out"] <= tol:
        problems.append("outputs")
    if r["t64_ref"] is not None and not r["t64_ref"] <= r["ref_bound"]:
        problems.append("reference")
    r["problems"] = problems
    r["ok"] = not problems
    return r


def _fmt(v):
    return "   n/a  " if v is None else f"{v:.2e}"


def format_line(path: str, r: dict) -> str:
    skip = f"  skip={r['skip']}" if r.get("skip") else ""
    verdict = "OK" if r["ok"] else "FAIL(" + ",".join(r["problems"]) + ")"
    return (f"{path}: {r['arch']:<15} d={r['d']} C={r['C']:<2} n={r['n']:<7} "
            f"|t64-out|={_fmt(r['t64_out'])}  |t64-ref|={_fmt(r['t64_ref'])}  "
            f"|t32-out|={_fmt(r['t32_out'])}{skip}  {verdict}")


def check_files(paths, tol=1e-4, ref_tol=1e-9, out=sys.stdout) -> bool:
    """Checks every file, prints one line each and a verdict; True if all pass."""
    failed = 0
    for p in paths:
        try:
            with open(p) as f:
                export = json.load(f)
            r = check_export(export, tol, ref_tol)
            print(format_line(p, r), file=out)
            failed += not r["ok"]
        except Exception as e:  # malformed export: report and go on
            print(f"{p}: ERROR {type(e).__name__}: {e}", file=out)
            failed += 1
    n = len(paths)
    if failed:
        print(f"FAIL: {failed} of {n} file(s) failed (tol {tol:g} on outputs, "
              f"{ref_tol:g}*max(1,|ref|) on reference)", file=out)
    else:
        print(f"PASS: all {n} file(s) agree (tol {tol:g} on outputs, "
              f"{ref_tol:g}*max(1,|ref|) on reference)", file=out)
    return failed == 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="JSON files written by `scone export`")
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="max |torch f64 - outputs| allowed (default 1e-4)")
    ap.add_argument("--ref-tol", type=float, default=1e-9,
                    help="max |torch f64 - reference| allowed, times max(1, max|reference|) (default 1e-9)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    a = ap.parse_args(argv)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    return 0 if check_files(a.files, a.tol, a.ref_tol) else 1


if __name__ == "__main__":
    sys.exit(main())
