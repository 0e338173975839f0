"""Independent PyTorch reference for the six architectures a `.scone` file stores.

Written from spec/FORMAT.md (tensor names, shapes and formulas of scone, rbm,
siren, ffn, mfn and wire), not from the Rust code, so that it can cross-check
`scone export` dumps (see check.py) and serve as a plain PyTorch baseline for
timing benchmarks.

    model = build(export["arch"], dtype=torch.float64)   # random paper-style init
    load_tensors(model, export["tensors"])                # exact decoded weights
    y = model(x)                                          # x: [n, d] -> y: [n, C]

Every module registers its trained tensors as parameters (so it trains in
PyTorch as is) and its fixed random tensors (ffn's B, rbm's P and q) as
buffers. wire uses torch complex tensors; everything else is real.
"""

from __future__ import annotations

import math
import struct
from collections import namedtuple

import torch
from torch import nn

__all__ = ["build", "load_tensors", "param_count", "ParamCount", "ARCH_KEYS", "MASKS"]

# Hyperparameter keys of arch.params, per architecture (spec/FORMAT.md §5.1: exactly the ARCH keys).
ARCH_KEYS = {
    "scone": ("layers", "hidden", "omega0", "omegas", "mask"),
    "rbm": ("layers", "hidden", "omega0", "mask_omega"),
    "siren": ("layers", "hidden", "omega0"),
    "ffn": ("layers", "hidden", "frequencies", "sigma"),
    "mfn": ("layers", "hidden", "input_scale", "alpha", "beta", "weight_scale"),
    "wire": ("layers", "hidden", "omega0", "s0"),
}

MASKS = ("sin2", "sigmoid", "ntanh", "ntanh-l", "sigmoid-l", "exp-sq")

ParamCount = namedtuple("ParamCount", "real complex_once fixed")
ParamCount.__doc__ = """real: trained real numbers (a complex weight counts 2);
complex_once: trained weights with a complex weight counted once;
fixed: numbers in fixed random buffers (ffn B, rbm P/q), not trained."""


def f32(v: float) -> float:
    """Rounds a Python float to the nearest float32 value (hyperparameters are f32 in the file)."""
    return struct.unpack("<f", struct.pack("<f", float(v)))[0]


def _uniform_(t: torch.Tensor, bound: float) -> torch.Tensor:
    with torch.no_grad():
        return t.uniform_(-bound, bound)


def _complex_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


class _Base(nn.Module):
    """Common bits: dims and the ordered list of exported tensors."""

    name = "?"

    def __init__(self, d: int, c: int, layers: int, hidden: int):
        super().__init__()
        if not 1 <= d <= 3 or not 1 <= c <= 16 or not 2 <= layers <= 32 or not 1 <= hidden <= 4096:
            raise ValueError(f"dims out of range: d={d} C={c} L={layers} H={hidden}")
        self.d, self.c, self.L, self.H = d, c, layers, hidden

    def tensor_slots(self):
        """[(export name, tensor, part)] in file order; part is None, 're' or 'im'."""
        raise NotImplementedError

    def fragile_margin(self, x: torch.Tensor):
        """Per point, the distance to a discontinuity (only rbm has any); None if smooth."""
        return None


# --------------------------------------------------------------------------- scone
class Scone(_Base):
    """z_{i+1} = sigma(omega0 (Wm z_i + bm) [* a_i]) * sin(omega_{i+1} (Wb x + bb))."""

    name = "scone"

    def __init__(self, d, c, layers, hidden, omega0, omegas, mask, dtype=torch.float32):
        super().__init__(d, c, layers, hidden)
        if mask not in MASKS:
            raise ValueError(f"unknown mask {mask!r}")
        if len(omegas) != layers - 1:
            raise ValueError(f"omegas has {len(omegas)} values, need layers-1 = {layers - 1}")
        self.mask, self.omega0, self.omegas = mask, f32(omega0), [f32(w) for w in omegas]
        self.learned_scale = mask.endswith("-l")
        H = hidden
        self.mask_maps = nn.ModuleList(
            nn.Linear(d if i == 0 else H, H, dtype=dtype) for i in range(layers - 1))
        self.basis_maps = nn.ModuleList(nn.Linear(d, H, dtype=dtype) for _ in range(layers - 1))
        self.scales = nn.ParameterList(
            nn.Parameter(torch.ones(H, dtype=dtype)) for _ in range(layers - 1)
        ) if self.learned_scale else None
        self.output = nn.Linear(H, c, dtype=dtype)
        # SIREN init for mask maps and the output (biases share their weight's bound);
        # basis maps U(-sqrt(1/d), sqrt(1/d)).
        for i, m in enumerate(self.mask_maps):
            b = 1.0 / d if i == 0 else math.sqrt(6.0 / H) / self.omega0
            _uniform_(m.weight, b), _uniform_(m.bias, b)
        for m in self.basis_maps:
            _uniform_(m.weight, math.sqrt(1.0 / d)), _uniform_(m.bias, math.sqrt(1.0 / d))
        b = math.sqrt(6.0 / H) / self.omega0
        _uniform_(self.output.weight, b), _uniform_(self.output.bias, b)

    def sigma(self, u):
        m = self.mask
        if m == "sin2":
            return torch.sin(u) ** 2
        if m in ("sigmoid", "sigmoid-l"):
            return 1.0 / (1.0 + torch.exp(-u))
        if m in ("ntanh", "ntanh-l"):
            return (torch.tanh(u) + 1.0) / 2.0
        return torch.exp(-u * u)  # exp-sq

    def forward(self, x):
        z = x
        for i in range(self.L - 1):
            u = self.omega0 * self.mask_maps[i](z)
            if self.learned_scale:
                u = self.scales[i] * u
            g = torch.sin(self.omegas[i] * self.basis_maps[i](x))
            z = self.sigma(u) * g
        return self.output(z)

    def tensor_slots(self):
        s = []
        for i in range(self.L - 1):
            s += [(f"hidden.{i}.mask.weight", self.mask_maps[i].weight, None),
                  (f"hidden.{i}.mask.bias", self.mask_maps[i].bias, None)]
            if self.learned_scale:
                s.append((f"hidden.{i}.mask.scale", self.scales[i], None))
            s += [(f"hidden.{i}.basis.weight", self.basis_maps[i].weight, None),
                  (f"hidden.{i}.basis.bias", self.basis_maps[i].bias, None)]
        return s + [("output.weight", self.output.weight, None), ("output.bias", self.output.bias, None)]


# --------------------------------------------------------------------------- siren / rbm
def _siren_init(layers: nn.ModuleList, output: nn.Linear, d: int, H: int, omega0: float):
    for i, m in enumerate(layers):
        b = 1.0 / d if i == 0 else math.sqrt(6.0 / H) / omega0
        _uniform_(m.weight, b), _uniform_(m.bias, b)
    b = math.sqrt(6.0 / H) / omega0
    _uniform_(output.weight, b), _uniform_(output.bias, b)


class Siren(_Base):
    """z_{i+1} = sin(omega0 (W_i z_i + b_i)); y = Wo z + bo."""

    name = "siren"

    def __init__(self, d, c, layers, hidden, omega0, dtype=torch.float32):
        super().__init__(d, c, layers, hidden)
        self.omega0 = f32(omega0)
        self.hidden = nn.ModuleList(
            nn.Linear(d if i == 0 else hidden, hidden, dtype=dtype) for i in range(layers - 1))
        self.output = nn.Linear(hidden, c, dtype=dtype)
        _siren_init(self.hidden, self.output, d, hidden, self.omega0)

    def forward(self, x):
        z = x
        for lin in self.hidden:
            z = torch.sin(self.omega0 * lin(z))
        return self.output(z)

    def tensor_slots(self):
        s = []
        for i, lin in enumerate(self.hidden):
            s += [(f"hidden.{i}.weight", lin.weight, None), (f"hidden.{i}.bias", lin.bias, None)]
        return s + [("output.weight", self.output.weight, None), ("output.bias", self.output.bias, None)]


class Rbm(Siren):
    """SIREN whose hidden units are gated by a fixed random binary mask
    r_i = step(sin(mask_omega (P_i x + q_i)))."""

    name = "rbm"

    def __init__(self, d, c, layers, hidden, omega0, mask_omega, dtype=torch.float32):
        super().__init__(d, c, layers, hidden, omega0, dtype=dtype)
        self.mask_omega = f32(mask_omega)
        # P and q are drawn U(-1, 1), as the crate's initialisation draws them.
        for i in range(layers - 1):
            self.register_buffer(f"P{i}", torch.empty(hidden, d, dtype=dtype).uniform_(-1, 1))
            self.register_buffer(f"q{i}", torch.empty(hidden, dtype=dtype).uniform_(-1, 1))

    def _mask_arg(self, i, x):
        return torch.sin(self.mask_omega * (x @ getattr(self, f"P{i}").T + getattr(self, f"q{i}")))

    def forward(self, x):
        z = x
        for i, lin in enumerate(self.hidden):
            r = (self._mask_arg(i, x) > 0).to(x.dtype)
            z = r * torch.sin(self.omega0 * lin(z))
        return self.output(z)

    def fragile_margin(self, x):
        m = torch.full((x.shape[0],), math.inf, dtype=x.dtype, device=x.device)
        for i in range(self.L - 1):
            m = torch.minimum(m, self._mask_arg(i, x).abs().min(dim=1).values)
        return m

    def tensor_slots(self):
        s = []
        for i, lin in enumerate(self.hidden):
            s += [(f"hidden.{i}.weight", lin.weight, None), (f"hidden.{i}.bias", lin.bias, None),
                  (f"hidden.{i}.mask.weight", getattr(self, f"P{i}"), None),
                  (f"hidden.{i}.mask.bias", getattr(self, f"q{i}"), None)]
        return s + [("output.weight", self.output.weight, None), ("output.bias", self.output.bias, None)]


# --------------------------------------------------------------------------- ffn
class Ffn(_Base):
    """Gaussian random Fourier features e = [cos 2piBx, sin 2piBx] then a ReLU MLP."""

    name = "ffn"

    def __init__(self, d, c, layers, hidden, frequencies, sigma, dtype=torch.float32):
        super().__init__(d, c, layers, hidden)
        self.m, self.sigma = int(frequencies), f32(sigma)
        if self.m < 1:
            raise ValueError("ffn needs frequencies >= 1")
        self.register_buffer("B", torch.randn(self.m, d, dtype=dtype) * self.sigma)
        self.hidden = nn.ModuleList(
            nn.Linear(2 * self.m if i == 0 else hidden, hidden, dtype=dtype) for i in range(layers - 1))
        self.output = nn.Linear(hidden, c, dtype=dtype)  # PyTorch default init everywhere

    def forward(self, x):
        a = 2.0 * math.pi * (x @ self.B.T)
        z = torch.cat([torch.cos(a), torch.sin(a)], dim=-1)
        for lin in self.hidden:
            z = torch.relu(lin(z))
        return self.output(z)

    def tensor_slots(self):
        s = [("encoding.weight", self.B, None)]
        for i, lin in enumerate(self.hidden):
            s += [(f"hidden.{i}.weight", lin.weight, None), (f"hidden.{i}.bias", lin.bias, None)]
        return s + [("output.weight", self.output.weight, None), ("output.bias", self.output.bias, None)]


# --------------------------------------------------------------------------- mfn
class GaborFilter(nn.Module):
    """f(x) = sin(W x + b) * exp(-gamma/2 * ||x - mu||^2), one unit per row."""

    def __init__(self, d, H, weight_scale, alpha, beta, dtype):
        super().__init__()
        self.linear = nn.Linear(d, H, dtype=dtype)
        self.mu = nn.Parameter(torch.empty(H, d, dtype=dtype).uniform_(-1, 1))
        gamma = torch.distributions.Gamma(torch.tensor(float(alpha), dtype=torch.float64),
                                          torch.tensor(float(beta), dtype=torch.float64)).sample((H,))
        self.gamma = nn.Parameter(gamma.to(dtype))
        with torch.no_grad():
            self.linear.weight.mul_(weight_scale * torch.sqrt(self.gamma)[:, None])
            self.linear.bias.uniform_(-math.pi, math.pi)

    def forward(self, x):
        sq = ((x[:, None, :] - self.mu[None, :, :]) ** 2).sum(-1)  # [n, H], direct (no expansion)
        return torch.sin(self.linear(x)) * torch.exp(-0.5 * self.gamma * sq)


class Mfn(_Base):
    """GaborNet: z_1 = f_0, z_{i+1} = f_i * (W z_i + b), y = Wo z + bo."""

    name = "mfn"

    def __init__(self, d, c, layers, hidden, input_scale, alpha, beta, weight_scale, dtype=torch.float32):
        super().__init__(d, c, layers, hidden)
        self.input_scale, self.alpha = f32(input_scale), f32(alpha)
        self.beta, self.weight_scale = f32(beta), f32(weight_scale)
        nf = layers - 1  # number of filters (n_layers + 1 in the MFN code)
        self.filters = nn.ModuleList(
            GaborFilter(d, hidden, self.input_scale / math.sqrt(nf), self.alpha / nf, self.beta, dtype)
            for _ in range(nf))
        self.hidden = nn.ModuleList(nn.Linear(hidden, hidden, dtype=dtype) for _ in range(nf - 1))
        for lin in self.hidden:
            _uniform_(lin.weight, math.sqrt(self.weight_scale / hidden))
        self.output = nn.Linear(hidden, c, dtype=dtype)

    def forward(self, x):
        z = self.filters[0](x)
        for f, lin in zip(self.filters[1:], self.hidden):
            z = f(x) * lin(z)
        return self.output(z)

    def tensor_slots(self):
        s = []
        for i, f in enumerate(self.filters):
            s += [(f"filter.{i}.weight", f.linear.weight, None), (f"filter.{i}.bias", f.linear.bias, None),
                  (f"filter.{i}.mu", f.mu, None), (f"filter.{i}.gamma", f.gamma, None)]
        for i, lin in enumerate(self.hidden):
            s += [(f"hidden.{i}.weight", lin.weight, None), (f"hidden.{i}.bias", lin.bias, None)]
        return s + [("output.weight", self.output.weight, None), ("output.bias", self.output.bias, None)]


# --------------------------------------------------------------------------- wire
class Wire(_Base):
    """Complex Gabor wavelets z = exp(j omega0 a - |s0 a|^2); y = Re(Wo z) + bo."""

    name = "wire"

    def __init__(self, d, c, layers, hidden, omega0, s0, dtype=torch.float32):
        super().__init__(d, c, layers, hidden)
        self.omega0, self.s0 = f32(omega0), f32(s0)
        cdt = _complex_dtype(dtype)
        self.first = nn.Linear(d, hidden, dtype=dtype)  # real first layer
        self.hidden = nn.ModuleList(nn.Linear(hidden, hidden, dtype=cdt) for _ in range(layers - 2))
        out = nn.Linear(hidden, c, dtype=cdt)  # default complex init for the weight
        self.output_weight = nn.Parameter(out.weight.detach().clone())
        self.output_bias = nn.Parameter(out.bias.detach().real.clone())  # the output bias is real

    def _gabor(self, a):
        return torch.exp(1j * self.omega0 * a - (self.s0 * a).abs() ** 2)

    def forward(self, x):
        z = self._gabor(self.first(x))  # a real -> complex
        for lin in self.hidden:
            z = self._gabor(lin(z))
        return (z @ self.output_weight.T).real + self.output_bias

    def tensor_slots(self):
        s = [("hidden.0.weight", self.first.weight, None), ("hidden.0.bias", self.first.bias, None)]
        for i, lin in enumerate(self.hidden, start=1):
            s += [(f"hidden.{i}.weight.re", lin.weight, "re"), (f"hidden.{i}.weight.im", lin.weight, "im"),
                  (f"hidden.{i}.bias.re", lin.bias, "re"), (f"hidden.{i}.bias.im", lin.bias, "im")]
        return s + [("output.weight.re", self.output_weight, "re"), ("output.weight.im", self.output_weight, "im"),
                    ("output.bias", self.output_bias, None)]


_CLASSES = {"scone": Scone, "rbm": Rbm, "siren": Siren, "ffn": Ffn, "mfn": Mfn, "wire": Wire}


# --------------------------------------------------------------------------- API
def build(arch_json, dtype: torch.dtype = torch.float32, seed: int | None = None) -> nn.Module:
    """Builds the module for an export's "arch" object (the whole export is accepted too),
    with the papers' random initialisation (seeded by `seed` if given, without touching
    the global RNG). dtype float32 or float64 (wire's complex tensors follow it)."""
    arch = arch_json.get("arch", arch_json)
    name = arch["name"]
    if name not in _CLASSES:
        raise ValueError(f"unknown architecture {name!r}")
    params = dict(arch["params"])
    want = set(ARCH_KEYS[name])
    if set(params) != want:
        raise ValueError(f"{name}: params keys {sorted(params)} != {sorted(want)}")
    params["layers"], params["hidden"] = int(params["layers"]), int(params["hidden"])
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return _CLASSES[name](int(arch["in_dims"]), int(arch["out_dims"]), dtype=dtype, **params)


def load_tensors(model: nn.Module, tensors_json, strict_order: bool = True) -> nn.Module:
    """Fills the model's parameters and buffers from the export's "tensors" list
    (the whole export object is accepted too). Values are rounded to float32 first.
    Raises ValueError on a missing, extra, misnamed, misshaped or (strict_order) misordered tensor."""
    tensors = tensors_json["tensors"] if isinstance(tensors_json, dict) else tensors_json
    slots = model.tensor_slots()
    expected = [n for n, _, _ in slots]
    got = [t["name"] for t in tensors]
    if sorted(got) != sorted(expected) or len(set(got)) != len(got):
        missing = [n for n in expected if n not in got]
        extra = [n for n in got if n not in expected]
        raise ValueError(f"tensor names differ: missing {missing}, unexpected {extra}")
    if strict_order and got != expected:
        first = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
        raise ValueError(f"tensor order differs at #{first}: got {got[first]!r}, expected {expected[first]!r}")
    by_name = {t["name"]: t for t in tensors}
    with torch.no_grad():
        for name, target, part in slots:
            t = by_name[name]
            shape = tuple(int(s) for s in t["shape"])
            if shape != tuple(target.shape):
                raise ValueError(f"{name}: shape {list(shape)} != expected {list(target.shape)}")
            data = t["data"]
            if len(data) != math.prod(shape):
                raise ValueError(f"{name}: {len(data)} values for shape {list(shape)}")
            v = torch.tensor(data, dtype=torch.float64).reshape(shape).to(torch.float32)
            dst = target if part is None else (target.real if part == "re" else target.imag)
            dst.copy_(v.to(dst.dtype))
    return model


def param_count(model: nn.Module) -> ParamCount:
    """(real, complex_once, fixed): trained real numbers, trained weights counting a complex
    number once, and numbers in fixed (untrained) buffers."""
    real = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    once = sum(p.numel() for p in model.parameters())
    fixed = sum(b.numel() for b in model.buffers())
    return ParamCount(real, once, fixed)
