#!/usr/bin/env python3
"""Compiles src/cuda/kernels.cu with NVRTC, as the CUDA engine does, without a GPU.

    python3 tools/nvrtc_check.py [--lib PATH/libnvrtc.so] [--arch sm_80,sm_90]

NVRTC compiles without a GPU or a driver; only its library is needed. It is
looked for in $NVRTC_LIB, then in tools/reference/.venv (PyTorch's CUDA
wheels carry it: tools/reference/setup.sh), then on the library path.

For each architecture it compiles to a cubin and prints, per kernel, the
registers, stack frame and spills that ptxas reports, with the blocks of 256
threads that the registers leave room for on one multiprocessor (65,536
registers and at most 2,048 threads each). Before that it compiles the
source with no options, exactly as the engine does. It exits 1 if a compile
fails or a kernel spills.
"""

import argparse
import ctypes
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_lib(given):
    if given:
        return given
    if os.environ.get("NVRTC_LIB"):
        return os.environ["NVRTC_LIB"]
    venv = os.path.join(ROOT, "tools", "reference", ".venv")
    found = sorted(glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "nvidia", "**",
                                          "libnvrtc.so*"), recursive=True))
    found = [f for f in found if "builtins" not in os.path.basename(f)]
    if found:
        return found[-1]
    return "libnvrtc.so"


def compile_for(nvrtc, source, arch):
    """(ok, log) of compiling source for arch (a real architecture, with
    ptxas's report), or with no options at all if arch is None, as the
    engine compiles (PTX for NVRTC's default virtual architecture)."""
    prog = ctypes.c_void_p()
    check(nvrtc, nvrtc.nvrtcCreateProgram(ctypes.byref(prog), source, b"kernels.cu", 0, None, None))
    opts = [f"--gpu-architecture={arch}".encode(), b"-Xptxas=-v"] if arch else []
    result = nvrtc.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
    size = ctypes.c_size_t()
    check(nvrtc, nvrtc.nvrtcGetProgramLogSize(prog, ctypes.byref(size)))
    log = ctypes.create_string_buffer(size.value)
    check(nvrtc, nvrtc.nvrtcGetProgramLog(prog, log))
    nvrtc.nvrtcDestroyProgram(ctypes.byref(prog))
    return result == 0, log.value.decode(errors="replace")


def check(nvrtc, code):
    if code != 0:
        nvrtc.nvrtcGetErrorString.restype = ctypes.c_char_p
        sys.exit(f"nvrtc_check: {nvrtc.nvrtcGetErrorString(code).decode()}")


def report(log):
    """{kernel: {registers, stack, spill_stores, spill_loads}} from ptxas -v."""
    kernels, name = {}, None
    for line in log.splitlines():
        m = re.search(r"Function properties for (\w+)", line)
        if m:
            name = m.group(1)
            kernels[name] = {}
            continue
        if name is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            kernels[name].update(stack=int(m.group(1)), spill_stores=int(m.group(2)),
                                 spill_loads=int(m.group(3)))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            kernels[name]["registers"] = int(m.group(1))
    return kernels


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", help="path of libnvrtc.so")
    ap.add_argument("--arch", default="sm_80,sm_90", help="architectures, comma-separated")
    args = ap.parse_args()
    lib = find_lib(args.lib)
    try:
        nvrtc = ctypes.CDLL(lib)
    except OSError as e:
        sys.exit(f"nvrtc_check: cannot load NVRTC ({e}); run tools/reference/setup.sh or set NVRTC_LIB")
    major, minor = ctypes.c_int(), ctypes.c_int()
    check(nvrtc, nvrtc.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)))
    source = open(os.path.join(ROOT, "src", "gpu", "kernels.cu"), "rb").read()
    print(f"NVRTC {major.value}.{minor.value} ({lib})")
    ok, log = compile_for(nvrtc, source, None)
    print(f"\nas the engine compiles it (no options): {'compiles' if ok else 'FAILED'}")
    if not ok:
        print(log)
    failed = not ok
    for arch in args.arch.split(","):
        ok, log = compile_for(nvrtc, source, arch)
        if not ok:
            print(f"\n{arch}: compiling src/cuda/kernels.cu failed:\n{log}")
            failed = True
            continue
        print(f"\n{arch}:\n")
        print("| kernel | registers | blocks of 256 per SM (registers) | stack bytes | spilled bytes |")
        print("| --- | --- | --- | --- | --- |")
        for name, k in sorted(report(log).items()):
            regs = k.get("registers", 0)
            # At most 2,048 threads per multiprocessor on these GPUs.
            blocks = min(8, 65536 // (regs * 256)) if regs else "—"
            spilled = k.get("spill_stores", 0) + k.get("spill_loads", 0)
            failed |= spilled > 0
            print(f"| {name} | {regs} | {blocks} | {k.get('stack', 0)} | {spilled} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
