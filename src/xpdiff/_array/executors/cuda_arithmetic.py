"""NumPy's arithmetic in CUDA C++: the value types, casts and operations of the kernel.

Host-side and free of any array library but NumPy (dtypes only). The
generator of the fused gradient kernel (``executors.cuda_source``) writes its
expressions with these helpers, and every source it writes starts with
:data:`PRELUDE`, the ``__host__ __device__`` functions they call:

- float16 is computed as NumPy does, each operation in float32 then rounded
  to float16 (round half to even, carried in a ``float`` that holds a
  float16 value); Python-float weights are rounded once from double, as
  NumPy converts weak scalars;
- complex numbers use NumPy's formulas: the product's real part
  ``fma(ar, br, -(ai bi))`` and imaginary part ``fma(ar, bi, ai br)`` (NumPy's
  SIMD loops on x86-64 with FMA3), Smith's division with NumPy's branches.

A value type is named by a code: ``f16``, ``f32``, ``f64``, ``c64``, ``c128``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import is_weak

__all__ = [
    "PRELUDE",
    "STORAGE",
    "VALUE",
    "binary",
    "cast",
    "code_of",
    "is_weak",
    "load",
    "promote",
    "store",
]

#: NumPy dtype name -> the code of its value type in the generator
CODES = {
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "complex64": "c64",
    "complex128": "c128",
}
#: C type of a value held in registers (float16 values are held in a float)
VALUE = {"f16": "float", "f32": "float", "f64": "double", "c64": "xpd_c64", "c128": "xpd_c128"}
#: C type of an element in memory
STORAGE = {
    "f16": "unsigned short",
    "f32": "float",
    "f64": "double",
    "c64": "xpd_c64",
    "c128": "xpd_c128",
}
COMPONENT = {"c64": "f32", "c128": "f64"}
RANK = {"f16": 0, "f32": 1, "f64": 2, "c64": 1, "c128": 2}

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
// float or double bits -> float16 bits, rounded to nearest even once (NumPy's
// npy_float_to_half and npy_double_to_half): U the bits' type, M the width of the
// mantissa, B the exponent's bias
template <class U, int M, int B>
__host__ __device__ inline unsigned short xpd_half_of_bits(U b) {
  const unsigned short sign = (unsigned short)((b >> (8 * sizeof(U) - 16)) & 0x8000u);
  const U a = b & ~((U)1 << (8 * sizeof(U) - 1));
  const U inf = (U)(2 * B + 1) << M, fraction = ((U)1 << M) - 1;
  if (a >= inf) {
    if (a == inf) return sign | 0x7c00u;
    unsigned short nan = (unsigned short)(0x7c00u + ((a & fraction) >> (M - 10)));
    return sign | (nan == 0x7c00u ? 0x7c01u : nan);
  }
  const int e = (int)(a >> M) - B;
  if (e >= 16) return sign | 0x7c00u;
  if (e < -25) return sign;
  const U m = (a & fraction) | ((U)1 << M);
  const int shift = e >= -14 ? M - 10 : M - 10 + (-14 - e);
  U q = m >> shift;
  const U rem = m & (((U)1 << shift) - 1);
  const U half = (U)1 << (shift - 1);
  if (rem > half || (rem == half && (q & 1))) q += 1;
  if (e >= -14) return sign | (unsigned short)(((U)(e + 15) << 10) + q - 1024);
  return sign | (unsigned short)q;
}
__host__ __device__ inline unsigned short xpd_half_bits(double x) {
  return xpd_half_of_bits<unsigned long long, 52, 1023>(xpd_bits64(x));
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
__host__ __device__ inline unsigned short xpd_half_bits(float x) {
  return xpd_half_of_bits<unsigned int, 23, 127>(xpd_bits32(x));
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


def code_of(dtype: Any) -> str:
    """The generator's code of a NumPy dtype (a TypeError for dtypes the kernel lacks)."""
    name = np.dtype(dtype).name
    if name not in CODES:
        raise TypeError(f"the CUDA gradient kernel has no {name} arithmetic")
    return CODES[name]


def promote(a: str, b: str) -> str:
    """The code NumPy 2 promotes ``a`` and ``b`` to (real with complex: complex)."""
    rank = max(RANK[a], RANK[b])
    if a.startswith("c") or b.startswith("c"):
        return "c128" if rank == 2 else "c64"
    return ("f16", "f32", "f64")[rank]


def cast(expr: str, src: str, dst: str) -> str:
    """``expr`` of type ``src`` as ``dst``, rounded as NumPy's astype rounds."""
    if src == dst:
        return expr
    if dst.startswith("c"):
        part = COMPONENT[dst]
        if src.startswith("c"):
            re, im = (
                cast(f"({expr}).re", COMPONENT[src], part),
                cast(f"({expr}).im", COMPONENT[src], part),
            )
            return f"xpd_{dst}_make({re}, {im})"
        zero = "0.0f" if part == "f32" else "0.0"
        return f"xpd_{dst}_make({cast(expr, src, part)}, {zero})"
    if src.startswith("c"):
        raise TypeError(f"no complex to real cast in a gradient ({src} to {dst})")
    if dst == "f16":
        return f"xpd_h({expr})"  # from float or double, rounded once
    if dst == "f32":
        return expr if src == "f16" else f"(float)({expr})"
    return f"(double)({expr})"


def binary(op: str, a: str, b: str, code: str) -> str:
    """``a op b`` computed in ``code`` (both operands already of that type)."""
    if code.startswith("c"):
        name = {"+": "xpd_add", "-": "xpd_sub", "*": "xpd_mul", "/": "xpd_div"}[op]
        return f"{name}({a}, {b})"
    if code == "f16":
        return f"xpd_h({a} {op} {b})"  # float32 operation, then float16 rounding
    return f"({a} {op} {b})"


def load(storage_code: str, expr: str) -> str:
    """The value of an element read from memory (float16 bits to a float)."""
    return f"xpd_half_value({expr})" if storage_code == "f16" else expr


def store(code: str, value: str) -> str:
    """A value as written to memory (a float holding a float16 value to its bits)."""
    return f"xpd_half_bits({value})" if code == "f16" else value  # exact: a float16 value
