"""CUDA C++ source of a fused gradient kernel, generated from array mode's stencil plans.

Host-side and free of any array library but NumPy (dtypes only): the CuPy
executor (``executors.cupy``) compiles what this module writes, and the test
suite compiles the same text for the host (``tests/test_cuda_kernel.py``).

One kernel serves all the requested axes of a gradient call: each thread
takes one element, reads the rows of ``f`` that the axes' stencils need, and
writes that element of every axis's output, so ``f`` is read from memory once
and each output written once. The per-element arithmetic is a
``__host__ __device__`` function; the ``__global__`` kernel is a thin
grid-stride loop around it, and a host loop (:func:`host_driver`) is another.

The arithmetic is the generic executor's (``executors.generic``), operation
for operation and dtype for dtype, so the results are the same to the bit:

- every operation is done in the dtype NumPy 2 computes it in: differences
  and weak-scalar products in the data's dtype, typed weights and the data
  promoted to the region's work dtype, sums promoted as NumPy promotes them,
  one cast to the output dtype at the end;
- float16 is computed as NumPy does, each operation in float32 then rounded
  to float16 (round half to even, carried in a ``float`` that holds a
  float16 value); Python-float weights are rounded once from double, as NumPy
  converts weak scalars;
- complex numbers use NumPy's formulas: the product's real part
  ``fma(ar, br, -(ai bi))`` and imaginary part ``fma(ar, bi, ai br)`` (NumPy's
  SIMD loops on x86-64 with FMA3), Smith's division with NumPy's branches;
- no FMA contraction: the kernel is compiled with ``--fmad=false`` and the
  host copy without ``-mfma``; the complex product's fma() is explicit.

Shapes, strides and region bounds are constants in the source (the compiler
turns index division into multiplications), so each shape and layout is its
own source and its own compiled module; weights are arguments, never
constants: a Python-float weight is a ``double`` argument, an array weight
(a 0-d typed scalar or one weight per row) a pointer. Index arithmetic is
32-bit when every offset fits, else 64-bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["GRID_STRIDE_LIMIT", "PRELUDE", "Argument", "Kernel", "gradient_kernel", "host_driver"]

#: NumPy dtype name -> the code of its value type in the generator
_CODES = {
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "complex64": "c64",
    "complex128": "c128",
}
#: C type of a value held in registers (float16 values are held in a float)
_VALUE = {"f16": "float", "f32": "float", "f64": "double", "c64": "xpd_c64", "c128": "xpd_c128"}
#: C type of an element in memory
_STORAGE = {
    "f16": "unsigned short",
    "f32": "float",
    "f64": "double",
    "c64": "xpd_c64",
    "c128": "xpd_c128",
}
_COMPONENT = {"c64": "f32", "c128": "f64"}
#: threads of a launch at most (the executor's blocks times threads): a grid-stride loop's step
GRID_STRIDE_LIMIT = 1 << 25
_RANK = {"f16": 0, "f32": 1, "f64": 2, "c64": 1, "c128": 2}

#: helpers every generated source starts with: float16 rounding and NumPy's complex arithmetic
PRELUDE = r"""
// ---- xpdiff prelude: float16 rounding and complex arithmetic as NumPy does them
struct alignas(8) xpd_c64 { float re, im; };
struct alignas(16) xpd_c128 { double re, im; };

__host__ __device__ inline unsigned long long xpd_bits64(double x) {
#ifdef __CUDA_ARCH__
  return (unsigned long long)__double_as_longlong(x);
#else
  unsigned long long b; __builtin_memcpy(&b, &x, 8); return b;
#endif
}
__host__ __device__ inline float xpd_from_bits32(unsigned int b) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(b);
#else
  float x; __builtin_memcpy(&x, &b, 4); return x;
#endif
}
// double -> float16 bits, rounded to nearest even once (NumPy's npy_double_to_half)
__host__ __device__ inline unsigned short xpd_half_bits(double x) {
  const unsigned long long b = xpd_bits64(x);
  const unsigned short sign = (unsigned short)((b >> 48) & 0x8000u);
  const unsigned long long a = b & 0x7fffffffffffffffULL;
  if (a >= 0x7ff0000000000000ULL) {
    if (a == 0x7ff0000000000000ULL) return sign | 0x7c00u;
    unsigned short nan = (unsigned short)(0x7c00u + ((a & 0x000fffffffffffffULL) >> 42));
    return sign | (nan == 0x7c00u ? 0x7c01u : nan);
  }
  const int e = (int)(a >> 52) - 1023;
  if (e >= 16) return sign | 0x7c00u;
  if (e < -25) return sign;
  const unsigned long long m = (a & 0x000fffffffffffffULL) | 0x0010000000000000ULL;
  const int shift = e >= -14 ? 42 : 42 + (-14 - e);
  unsigned long long q = m >> shift;
  const unsigned long long rem = m & ((1ULL << shift) - 1ULL);
  const unsigned long long half = 1ULL << (shift - 1);
  if (rem > half || (rem == half && (q & 1ULL))) q += 1ULL;
  if (e >= -14) return sign | (unsigned short)(((unsigned long long)(e + 15) << 10) + q - 1024ULL);
  return sign | (unsigned short)q;
}
// float16 bits -> float (exact)
__host__ __device__ inline float xpd_half_value(unsigned short h) {
  const unsigned int sign = ((unsigned int)h & 0x8000u) << 16;
  const unsigned int e = ((unsigned int)h >> 10) & 0x1fu;
  const unsigned int m = (unsigned int)h & 0x3ffu;
  if (e == 0x1fu) return xpd_from_bits32(sign | 0x7f800000u | (m << 13));
  if (e == 0u) {
    const float v = (float)m * 5.9604644775390625e-08f;  // m * 2**-24, exact
    return sign ? -v : v;
  }
  return xpd_from_bits32(sign | ((e + 112u) << 23) | (m << 13));
}
__host__ __device__ inline unsigned int xpd_bits32(float x) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(x);
#else
  unsigned int b; __builtin_memcpy(&b, &x, 4); return b;
#endif
}
// float -> float16 bits, rounded to nearest even once (NumPy's npy_float_to_half), in 32 bits
__host__ __device__ inline unsigned short xpd_half_bits(float x) {
  const unsigned int b = xpd_bits32(x);
  const unsigned short sign = (unsigned short)((b >> 16) & 0x8000u);
  const unsigned int a = b & 0x7fffffffu;
  if (a >= 0x7f800000u) {
    if (a == 0x7f800000u) return sign | 0x7c00u;
    unsigned short nan = (unsigned short)(0x7c00u + ((a & 0x007fffffu) >> 13));
    return sign | (nan == 0x7c00u ? 0x7c01u : nan);
  }
  const int e = (int)(a >> 23) - 127;
  if (e >= 16) return sign | 0x7c00u;
  if (e < -25) return sign;
  const unsigned int m = (a & 0x007fffffu) | 0x00800000u;
  const int shift = e >= -14 ? 13 : 13 + (-14 - e);
  unsigned int q = m >> shift;
  const unsigned int rem = m & ((1u << shift) - 1u);
  const unsigned int half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) q += 1u;
  if (e >= -14) return sign | (unsigned short)(((unsigned int)(e + 15) << 10) + q - 1024u);
  return sign | (unsigned short)q;
}
// a float16 result: the float32 (or double) result rounded to float16, kept in a float
__host__ __device__ inline float xpd_h(float x) { return xpd_half_value(xpd_half_bits(x)); }
__host__ __device__ inline float xpd_h(double x) { return xpd_half_value(xpd_half_bits(x)); }

#define XPD_HD __host__ __device__ inline
XPD_HD xpd_c64 xpd_c64_make(float re, float im) { xpd_c64 z; z.re = re; z.im = im; return z; }
XPD_HD xpd_c128 xpd_c128_make(double re, double im) {
  xpd_c128 z; z.re = re; z.im = im; return z;
}
XPD_HD xpd_c64 xpd_add(xpd_c64 a, xpd_c64 b) { return xpd_c64_make(a.re + b.re, a.im + b.im); }
XPD_HD xpd_c128 xpd_add(xpd_c128 a, xpd_c128 b) { return xpd_c128_make(a.re + b.re, a.im + b.im); }
XPD_HD xpd_c64 xpd_sub(xpd_c64 a, xpd_c64 b) { return xpd_c64_make(a.re - b.re, a.im - b.im); }
XPD_HD xpd_c128 xpd_sub(xpd_c128 a, xpd_c128 b) { return xpd_c128_make(a.re - b.re, a.im - b.im); }
__host__ __device__ inline xpd_c64 xpd_mul(xpd_c64 a, xpd_c64 b) {
  return xpd_c64_make(fmaf(a.re, b.re, -(a.im * b.im)), fmaf(a.re, b.im, a.im * b.re));
}
__host__ __device__ inline xpd_c128 xpd_mul(xpd_c128 a, xpd_c128 b) {
  return xpd_c128_make(fma(a.re, b.re, -(a.im * b.im)), fma(a.re, b.im, a.im * b.re));
}
// NumPy's complex division (Smith's method, with its branches)
template <class C, class R>
__host__ __device__ inline C xpd_div_smith(C a, C b) {
  const R br_abs = b.re < 0 ? -b.re : b.re;
  const R bi_abs = b.im < 0 ? -b.im : b.im;
  C z;
  if (br_abs >= bi_abs) {
    if (br_abs == 0 && bi_abs == 0) {
      z.re = a.re / br_abs; z.im = a.im / bi_abs;
    } else {
      const R rat = b.im / b.re;
      const R scl = (R)1.0 / (b.re + b.im * rat);
      z.re = (a.re + a.im * rat) * scl; z.im = (a.im - a.re * rat) * scl;
    }
  } else {
    const R rat = b.re / b.im;
    const R scl = (R)1.0 / (b.im + b.re * rat);
    z.re = (a.re * rat + a.im) * scl; z.im = (a.im * rat - a.re) * scl;
  }
  return z;
}
XPD_HD xpd_c64 xpd_div(xpd_c64 a, xpd_c64 b) { return xpd_div_smith<xpd_c64, float>(a, b); }
XPD_HD xpd_c128 xpd_div(xpd_c128 a, xpd_c128 b) { return xpd_div_smith<xpd_c128, double>(a, b); }
"""


@dataclass(frozen=True)
class Argument:
    """One kernel argument, in order: ``f``, an output, a scalar weight or an array weight.

    ``value`` is the weight as the plan holds it (a Python float for
    "scalar", an array of the plan's library for "array"); ``axis`` is the
    output's position for "out".
    """

    kind: str
    value: Any = None
    axis: int = -1


@dataclass(frozen=True)
class Kernel:
    """A generated kernel: its source, entry point name and arguments (see :class:`Argument`)."""

    source: str
    name: str
    arguments: tuple[Argument, ...]
    size: int  # elements of each output: threads of work
    index_type: str  # "int" or "long long"
    out_shapes: tuple[tuple[int, ...], ...] = field(default=())

    @property
    def parameter_bytes(self) -> int:
        """Bytes of the kernel's parameters (8 each: doubles and pointers)."""
        return 8 * len(self.arguments)


def code_of(dtype: Any) -> str:
    """The generator's code of a NumPy dtype (a TypeError for dtypes the kernel lacks)."""
    name = np.dtype(dtype).name
    if name not in _CODES:
        raise TypeError(f"the CUDA gradient kernel has no {name} arithmetic")
    return _CODES[name]


def _promote(a: str, b: str) -> str:
    rank = max(_RANK[a], _RANK[b])
    if a.startswith("c") or b.startswith("c"):
        return "c128" if rank == 2 else "c64"
    return ("f16", "f32", "f64")[rank]


def _cast(expr: str, src: str, dst: str) -> str:
    """``expr`` of type ``src`` as ``dst``, rounded as NumPy's astype rounds."""
    if src == dst:
        return expr
    if dst.startswith("c"):
        part = _COMPONENT[dst]
        if src.startswith("c"):
            re, im = (
                _cast(f"({expr}).re", _COMPONENT[src], part),
                _cast(f"({expr}).im", _COMPONENT[src], part),
            )
            return f"xpd_{dst}_make({re}, {im})"
        zero = "0.0f" if part == "f32" else "0.0"
        return f"xpd_{dst}_make({_cast(expr, src, part)}, {zero})"
    if src.startswith("c"):
        raise TypeError(f"no complex to real cast in a gradient ({src} to {dst})")
    if dst == "f16":
        return f"xpd_h({expr})"  # from float or double, rounded once
    if dst == "f32":
        return expr if src == "f16" else f"(float)({expr})"
    return f"(double)({expr})"


def _binary(op: str, a: str, b: str, code: str) -> str:
    """``a op b`` computed in ``code`` (both operands already of that type)."""
    if code.startswith("c"):
        name = {"+": "xpd_add", "-": "xpd_sub", "*": "xpd_mul", "/": "xpd_div"}[op]
        return f"{name}({a}, {b})"
    if code == "f16":
        return f"xpd_h({a} {op} {b})"  # float32 operation, then float16 rounding
    return f"({a} {op} {b})"


def _is_weak(weight: object) -> bool:
    return type(weight) in (int, float, complex)


class _Writer:
    """Collects the kernel's statements, temporaries and arguments."""

    def __init__(self, index_type: str):
        self.lines: list[str] = []
        self.arguments: list[Argument] = []
        self.parameters: list[str] = []
        self.names: list[str] = []
        self.array_names: dict[int, str] = {}
        self.scalar_names: dict[str, str] = {}
        self.temps = 0
        self.index_type = index_type

    def temp(self, code: str, expr: str) -> str:
        self.temps += 1
        name = f"v{self.temps}"
        self.lines.append(f"    const {_VALUE[code]} {name} = {expr};")
        return name

    def scalar(self, value: Any) -> str:
        """The argument of a Python-float weight; equal weights share one (periodic rows)."""
        key = float(value).hex()  # tells -0.0 from 0.0
        if key not in self.scalar_names:
            name = f"s{len(self.arguments)}"
            self.arguments.append(Argument("scalar", float(value)))
            self.parameters.append(f"const double {name}")
            self.names.append(name)
            self.scalar_names[key] = name
        return self.scalar_names[key]

    def array(self, value: Any) -> tuple[str, str]:
        """(pointer name, value code) of an array weight, one argument per distinct array."""
        code = code_of(value.dtype)
        key = id(value)
        if key not in self.array_names:
            name = f"w{len(self.arguments)}"
            self.arguments.append(Argument("array", value))
            self.parameters.append(f"const {_STORAGE[code]}* __restrict__ {name}")
            self.names.append(name)
            self.array_names[key] = name
        return self.array_names[key], code


def _load(storage_code: str, expr: str) -> str:
    return f"xpd_half_value({expr})" if storage_code == "f16" else expr


def _store(code: str, value: str) -> str:
    return f"xpd_half_bits({value})" if code == "f16" else value  # exact: a float16 value


def _work_code(data: str, region) -> str:
    """The region's work dtype: NumPy 2's promotion of the data and typed weights."""
    code = data
    if region.kind == "difference":
        typed = [] if _is_weak(region.divisor) else [region.divisor.dtype]
    elif region.lazy_weights is not None:
        typed = [region.weight_dtype]
    else:
        typed = [
            t.weight.dtype for t in region.terms if t.weight is not None and not _is_weak(t.weight)
        ]
    for dtype in typed:
        code = _promote(code, code_of(dtype))
    return code


class _Axis:
    """The statements of one axis: a branch per region, each writing the output element."""

    def __init__(
        self, writer: _Writer, f_code: str, data: str, out_code: str, stride: int, out: str
    ):
        self.w, self.f_code, self.data, self.out_code = writer, f_code, data, out_code
        self.stride, self.out = stride, out

    def source(self, offset: int) -> str:
        """The data value ``offset`` rows from this element along the axis, in the data's type."""
        address = "base" if offset == 0 else f"base + ({offset * self.stride})"
        loaded = self.w.temp(self.f_code, _load(self.f_code, f"f[{address}]"))
        return self.w.temp(self.data, _cast(loaded, self.f_code, self.data))

    def weight(self, weight: Any, code: str, row: str) -> tuple[str, str]:
        """(value, its code) of a typed weight, cast to ``code``; per-row weights at ``row``."""
        name, wcode = self.w.array(weight)
        index = f"{name}[{row}]" if getattr(weight, "ndim", 0) == 1 else f"{name}[0]"
        value = self.w.temp(wcode, _load(wcode, index))
        return self.w.temp(code, _cast(value, wcode, code)), code

    def times(self, weight: Any, values: str, work: str, row: str) -> tuple[str, str]:
        """``weight * values`` as the generic executor computes it: (value, code)."""
        if _is_weak(weight):
            scalar = self.w.scalar(weight)
            w = self.w.temp(self.data, _cast(scalar, "f64", self.data))
            return self.w.temp(self.data, _binary("*", w, values, self.data)), self.data
        w, _ = self.weight(weight, work, row)
        v = self.w.temp(work, _cast(values, self.data, work))
        return self.w.temp(work, _binary("*", w, v, work)), work

    def plus(self, total: tuple[str, str] | None, term: tuple[str, str]) -> tuple[str, str]:
        if total is None:
            return term
        code = _promote(total[1], term[1])
        a = _cast(total[0], total[1], code)
        b = _cast(term[0], term[1], code)
        return self.w.temp(code, _binary("+", a, b, code)), code

    def region(self, region, p: str) -> None:
        rows = region.rows
        row = f"({p} - {region.start})"
        offsets = [t.start - region.start for t in region.terms]
        work = _work_code(self.data, region)
        weights = region.weights() if region.kind != "difference" else None
        if weights is not None and any(getattr(w, "ndim", 0) == 1 for w in weights):
            for w in weights:
                if getattr(w, "ndim", 0) == 1 and w.shape[0] != rows:
                    raise ValueError(
                        f"per-row weights of {w.shape[0]} rows for a region of {rows}"
                    )
        if region.kind == "difference":
            s0, s1 = self.source(offsets[0]), self.source(offsets[1])
            d = self.w.temp(self.data, _binary("-", s0, s1, self.data))
            divisor = region.divisor
            if _is_weak(divisor):
                scalar = self.w.scalar(divisor)
                h = self.w.temp(self.data, _cast(scalar, "f64", self.data))
                total = (self.w.temp(self.data, _binary("/", d, h, self.data)), self.data)
            else:
                h, _ = self.weight(divisor, work, row)
                dw = self.w.temp(work, _cast(d, self.data, work))
                total = (self.w.temp(work, _binary("/", dw, h, work)), work)
        elif region.kind == "pairs":
            assert weights is not None
            total = None
            op = "-" if region.sign < 0 else "+"
            for k in range(0, len(offsets) - 1, 2):
                a, b = self.source(offsets[k]), self.source(offsets[k + 1])
                pair = self.w.temp(self.data, _binary(op, a, b, self.data))
                total = self.plus(total, self.times(weights[k], pair, work, row))
            if len(offsets) % 2:
                centre = self.source(offsets[-1])
                total = self.plus(total, self.times(weights[-1], centre, work, row))
        elif region.kind == "sum":
            assert weights is not None
            total = None
            for weight, offset in zip(weights, offsets, strict=True):
                total = self.plus(total, self.times(weight, self.source(offset), work, row))
        else:
            raise ValueError(f"unknown region kind {region.kind!r}")
        assert total is not None
        value = _cast(total[0], total[1], self.out_code)
        self.w.lines.append(f"    {self.out}[i] = {_store(self.out_code, value)};")


def gradient_kernel(
    shape: Sequence[int],
    strides: Sequence[int],
    f_dtype: Any,
    out_dtype: Any,
    axes: Sequence[tuple[Any, Any]],
    name: str = "xpd_gradient",
) -> Kernel:
    """The fused kernel of ``axes``: pairs ``(AxisPlan, data dtype)``, one output each.

    ``strides`` are ``f``'s, in elements (any sign). The data of an axis is
    ``f`` cast to its data dtype (a widening: float16 to float32, real to
    complex, 32 to 64 bits), as gradient's high-order path casts it. Every
    output has ``f``'s shape but for ``plan.length`` rows along its axis (a
    Dask chunk's plan reads rows of a halo beyond its own), so several axes
    share a kernel only when their plans cover ``f`` exactly.
    """
    shape, strides = tuple(int(s) for s in shape), tuple(int(s) for s in strides)
    if len(shape) != len(strides):
        raise ValueError(f"shape {shape} and strides {strides} differ in length")
    f_code, out_code = code_of(f_dtype), code_of(out_dtype)
    out_shapes = [
        tuple(plan.length if d == plan.axis else n for d, n in enumerate(shape))
        for plan, _ in axes
    ]
    if len(set(out_shapes)) > 1:
        raise ValueError(
            f"axes with outputs of different shapes {out_shapes} need one kernel each"
        )
    out_shape = out_shapes[0] if out_shapes else shape
    size = math.prod(out_shape)
    reach = sum((n - 1) * abs(s) for n, s in zip(shape, strides, strict=True)) + 1
    # 32-bit while every offset, and the grid-stride loop's last step beyond the size, fit
    index_type = "int" if max(size + GRID_STRIDE_LIMIT, reach) < 2**31 else "long long"
    w = _Writer(index_type)
    w.parameters += [f"const {_STORAGE[f_code]}* __restrict__ f"]
    w.names.append("f")
    w.arguments.append(Argument("f"))
    for k in range(len(axes)):
        w.parameters.append(f"{_STORAGE[out_code]}* __restrict__ out{k}")
        w.names.append(f"out{k}")
        w.arguments.append(Argument("out", axis=k))
    # the element's index along each dimension, from the last (constants: no division instructions)
    w.lines.append(f"    {index_type} rest = i;")
    for d in reversed(range(len(out_shape))):
        if d:
            w.lines.append(
                f"    const {index_type} i{d} = rest % {out_shape[d]}; rest /= {out_shape[d]};"
            )
        else:
            w.lines.append(f"    const {index_type} i0 = rest;")
    base = " + ".join(f"i{d} * ({strides[d]})" for d in range(len(shape))) or "0"
    w.lines.append(f"    const {index_type} base = {base};")
    for k, (plan, data_dtype) in enumerate(axes):
        data = code_of(data_dtype)
        axis = _Axis(w, f_code, data, out_code, strides[plan.axis], f"out{k}")
        p = f"i{plan.axis}"
        regions = sorted((r for r in plan.regions if r.rows > 0), key=lambda r: -r.rows)
        w.lines.append(f"    // axis {plan.axis}: {len(regions)} regions")
        for j, region in enumerate(regions):
            keyword = "if" if j == 0 else "} else if"
            if j == len(regions) - 1 and j:
                w.lines.append("  } else {")
            else:
                w.lines.append(f"  {keyword} ({p} >= {region.start} && {p} < {region.stop}) {{")
            axis.region(region, p)
        if regions:
            w.lines.append("  }")
    params = ",\n    ".join(w.parameters)
    body = "\n".join(w.lines)
    element = (
        f"constexpr long long {name}_size = {size};\n"
        f"__host__ __device__ inline void {name}_element(const {index_type} i,\n    {params}) {{\n"
        f"{body}\n}}\n"
    )
    kernel = (
        f'extern "C" __global__ void {name}(\n    {params}) {{\n'
        f"  const {index_type} step = ({index_type})blockDim.x * gridDim.x;\n"
        f"  for ({index_type} i = ({index_type})blockIdx.x * blockDim.x + threadIdx.x; "
        f"i < {name}_size; i += step)\n"
        f"    {name}_element(i, {', '.join(w.names)});\n}}\n"
    )
    source = (
        f"{PRELUDE}\n// ---- generated by xpdiff from the stencil plans\n{element}\n"
        f"#ifdef __CUDACC__\n{kernel}#endif\n"
    )
    return Kernel(source, name, tuple(w.arguments), size, index_type, tuple(out_shapes))


def host_driver(source: str, name: str = "xpd_gradient") -> str:
    """A host loop over the element function of ``source``, for ctypes.

    ``void <name>_host(void **pointers, const double *scalars)`` takes the
    arrays (``f``, the outputs, the array weights, in argument order) and the
    scalar weights (in argument order), and runs the element function on
    every index, as the ``__global__`` kernel does on the GPU. Everything it
    needs is read back from the source, so any text :func:`gradient_kernel`
    wrote can be run on the host.
    """
    head = source.split(f"void {name}_element(", 1)[1].split(")", 1)[0]
    params = [part.strip() for part in head.split(",")]
    index_type = params[0].removeprefix("const ").rsplit(" ", 1)[0]
    typedefs, values, p, s = [], [], 0, 0
    for param in params[1:]:
        if param.startswith("const double "):
            values.append(f"scalars[{s}]")
            s += 1
            continue
        ctype = param.rsplit(" ", 1)[0].replace("__restrict__", "").strip()
        typedefs.append(f"typedef {ctype} {name}_arg{p};")
        values.append(f"({name}_arg{p})pointers[{p}]")
        p += 1
    return (
        "\n".join(typedefs)
        + f'\nextern "C" void {name}_host(void **pointers, const double *scalars) {{\n'
        + f"  for ({index_type} i = 0; i < {name}_size; ++i)\n"
        + f"    {name}_element(i, {', '.join(values)});\n}}\n"
    )
