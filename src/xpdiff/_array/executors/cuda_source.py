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
- float16 and complex arithmetic as NumPy does it (``executors.cuda_arithmetic``
  writes those expressions, and :data:`PRELUDE`, the functions they call, opens
  every source);
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

from .. import plans as _plans
from .common import typed_weight_dtypes
from .cuda_arithmetic import (
    PRELUDE,
    STORAGE,
    VALUE,
    binary,
    cast,
    code_of,
    is_weak,
    load,
    promote,
    store,
)

__all__ = [
    "GRID_STRIDE_LIMIT",
    "PRELUDE",
    "Argument",
    "Kernel",
    "code_of",
    "gradient_kernel",
    "host_driver",
]

#: threads of a launch at most (the executor's blocks times threads): a grid-stride loop's step
GRID_STRIDE_LIMIT = 1 << 25


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
        self.lines.append(f"    const {VALUE[code]} {name} = {expr};")
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
            self.parameters.append(f"const {STORAGE[code]}* __restrict__ {name}")
            self.names.append(name)
            self.array_names[key] = name
        return self.array_names[key], code


def _work_code(data: str, region: _plans.Region) -> str:
    """The region's work dtype: NumPy 2's promotion of the data and typed weights."""
    code = data
    for dtype in typed_weight_dtypes(region):
        code = promote(code, code_of(dtype))
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
        loaded = self.w.temp(self.f_code, load(self.f_code, f"f[{address}]"))
        return self.w.temp(self.data, cast(loaded, self.f_code, self.data))

    def weight(self, weight: Any, code: str, row: str) -> tuple[str, str]:
        """(value, its code) of a typed weight, cast to ``code``; per-row weights at ``row``."""
        name, wcode = self.w.array(weight)
        index = f"{name}[{row}]" if getattr(weight, "ndim", 0) == 1 else f"{name}[0]"
        value = self.w.temp(wcode, load(wcode, index))
        return self.w.temp(code, cast(value, wcode, code)), code

    def times(self, weight: Any, values: str, work: str, row: str) -> tuple[str, str]:
        """``weight * values`` as the generic executor computes it: (value, code)."""
        if is_weak(weight):
            scalar = self.w.scalar(weight)
            w = self.w.temp(self.data, cast(scalar, "f64", self.data))
            return self.w.temp(self.data, binary("*", w, values, self.data)), self.data
        w, _ = self.weight(weight, work, row)
        v = self.w.temp(work, cast(values, self.data, work))
        return self.w.temp(work, binary("*", w, v, work)), work

    def plus(self, total: tuple[str, str] | None, term: tuple[str, str]) -> tuple[str, str]:
        if total is None:
            return term
        code = promote(total[1], term[1])
        a = cast(total[0], total[1], code)
        b = cast(term[0], term[1], code)
        return self.w.temp(code, binary("+", a, b, code)), code

    def region(self, region: _plans.Region, p: str) -> None:
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
            d = self.w.temp(self.data, binary("-", s0, s1, self.data))
            divisor = region.divisor
            if is_weak(divisor):
                scalar = self.w.scalar(divisor)
                h = self.w.temp(self.data, cast(scalar, "f64", self.data))
                total = (self.w.temp(self.data, binary("/", d, h, self.data)), self.data)
            else:
                h, _ = self.weight(divisor, work, row)
                dw = self.w.temp(work, cast(d, self.data, work))
                total = (self.w.temp(work, binary("/", dw, h, work)), work)
        elif region.kind == "pairs":
            assert weights is not None
            total = None
            op = "-" if region.sign < 0 else "+"
            for k in range(0, len(offsets) - 1, 2):
                a, b = self.source(offsets[k]), self.source(offsets[k + 1])
                pair = self.w.temp(self.data, binary(op, a, b, self.data))
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
        value = cast(total[0], total[1], self.out_code)
        self.w.lines.append(f"    {self.out}[i] = {store(self.out_code, value)};")


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
    w.parameters += [f"const {STORAGE[f_code]}* __restrict__ f"]
    w.names.append("f")
    w.arguments.append(Argument("f"))
    for k in range(len(axes)):
        w.parameters.append(f"{STORAGE[out_code]}* __restrict__ out{k}")
        w.names.append(f"out{k}")
        w.arguments.append(Argument("out", axis=k))
    _index_lines(w, out_shape, strides)
    for k, (plan, data_dtype) in enumerate(axes):
        axis = _Axis(w, f_code, code_of(data_dtype), out_code, strides[plan.axis], f"out{k}")
        _axis_lines(w, axis, plan)
    source = _assemble(w, name, size)
    return Kernel(source, name, tuple(w.arguments), size, index_type, tuple(out_shapes))


def _index_lines(w: _Writer, out_shape: tuple[int, ...], strides: tuple[int, ...]) -> None:
    """The element's index along each dimension, from the last, and its offset in ``f``.

    The sizes are constants: the compiler has no division instructions to emit.
    """
    index_type = w.index_type
    w.lines.append(f"    {index_type} rest = i;")
    for d in reversed(range(len(out_shape))):
        if d:
            w.lines.append(
                f"    const {index_type} i{d} = rest % {out_shape[d]}; rest /= {out_shape[d]};"
            )
        else:
            w.lines.append(f"    const {index_type} i0 = rest;")
    base = " + ".join(f"i{d} * ({strides[d]})" for d in range(len(strides))) or "0"
    w.lines.append(f"    const {index_type} base = {base};")


def _axis_lines(w: _Writer, axis: _Axis, plan: Any) -> None:
    """One axis's branches: a region each, the widest first, the last one the ``else``."""
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


def _assemble(w: _Writer, name: str, size: int) -> str:
    """The whole source: the prelude, the element function and the ``__global__`` loop."""
    index_type = w.index_type
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
    return (
        f"{PRELUDE}\n// ---- generated by xpdiff from the stencil plans\n{element}\n"
        f"#ifdef __CUDACC__\n{kernel}#endif\n"
    )


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
