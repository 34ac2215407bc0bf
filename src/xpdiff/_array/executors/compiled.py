"""numpy.gradient's own formulas on NumPy arrays, compiled once per call signature.

The everyday call (a NumPy array, unit, scalar or coordinate spacing, first
derivative, ``edge_order`` 1 or 2) costs numpy.gradient about 7 µs of Python
at 10 elements. Here such a call's arguments become a hashable key (shape,
dtype, axis, edge order, kind of each spacing); the key's program (every
index tuple precomputed, the ufunc calls in numpy.gradient's order, written
with ``out=`` in cache-sized blocks) is built on its first call and cached.
Values that change from call to call (the spacing ``h``, the coordinates)
are the program's arguments, never part of the key, so a mutable coordinate
array is read afresh on every call. The operations and their order are
numpy.gradient's, so results are identical to the bit: the small-primitive
rule of docs/architecture.md. Everything else (other libraries, ``n``,
``accuracy``, ``periodic``, mixed dtypes that NumPy would promote) takes the
general path of plans and executors, which stays tested on its own.
"""

from __future__ import annotations

import contextvars
import math
import os
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

__all__ = ["MAX_PROGRAMS", "PROGRAMS", "compile_program", "spacing_kind"]

#: elements of one block: 512 KiB of float64, three of which (data, scratch, output) fit L2
BLOCK_ELEMENTS = 1 << 16
#: elements of one block of a uniform axis (a difference and a scale, no scratch): 2 MiB
#: of float64, one huge page of the output; fewer calls, and measured faster than
#: BLOCK_ELEMENTS from 1e5 elements on (``benchmarks/bench_gradient.py --targets``)
UNIFORM_BLOCK_ELEMENTS = 1 << 18
#: blocks an axis must have before they are shared among threads (from 2**20 elements of
#: a uniform axis, 2**18 with coordinates): NumPy's ufuncs release the GIL, so each thread
#: streams its own run of blocks, first touch of the output's fresh pages included
THREADED_BLOCKS = 4
#: most threads one call uses (``XPDIFF_NUM_THREADS`` sets the number; 1 turns them off)
MAX_THREADS = 8
#: programs kept; a program is a few index tuples, so this is a few hundred KiB at most
MAX_PROGRAMS = 1024

Program = Callable[[np.ndarray, tuple], Any]
AxisRun = Callable[[np.ndarray, Any, np.ndarray], None]

PROGRAMS: dict[tuple, Program | None] = {}
_POOL: list[Any] = []  # the thread pool and its size, made on first use
if hasattr(os, "register_at_fork"):  # a forked child has none of the pool's threads
    os.register_at_fork(after_in_child=_POOL.clear)


def threads() -> int:
    """Threads a large call shares its blocks among: ``XPDIFF_NUM_THREADS``, else the CPUs."""
    value = os.environ.get("XPDIFF_NUM_THREADS", "")
    if value.strip().isdigit():
        return max(1, min(int(value), 64))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, MAX_THREADS))


def each_block(step: Callable[[tuple], None], views: Sequence[tuple]) -> None:
    """``step(view)`` for every block; the blocks shared among threads where there are many.

    Each thread takes one contiguous run of blocks (the blocks write disjoint
    parts of the output, with the same per-element operations, so the result
    is the same to the bit), in a copy of the caller's context (``np.errstate``
    holds in the workers too). The first error is raised after every thread
    is done with the output.
    """
    count = threads() if len(views) >= THREADED_BLOCKS else 1
    if count <= 1:
        for view in views:
            step(view)
        return
    from concurrent.futures import ThreadPoolExecutor, wait

    if not _POOL or _POOL[1] < count:
        _POOL[:] = [ThreadPoolExecutor(count, thread_name_prefix="xpdiff"), count]
    share = -(-len(views) // count)
    runs = [views[k : k + share] for k in range(0, len(views), share)]
    futures = [
        _POOL[0].submit(contextvars.copy_context().run, _serially, step, run) for run in runs[1:]
    ]
    try:
        _serially(step, runs[0])
    finally:
        wait(futures)
    for future in futures:
        future.result()


def _serially(step: Callable[[tuple], None], views: Sequence[tuple]) -> None:
    for view in views:
        step(view)


def spacing_kind(value: Any) -> Any:
    """What the key holds of one spacing: its kind, never its values."""
    kind = type(value)
    if kind is float or kind is int:
        return "scalar"
    if kind is np.ndarray and value.ndim == 1:
        return value.dtype
    return None


def compile_program(
    shape: tuple[int, ...], dtype: np.dtype, axis: Any, edge_order: int, kinds: tuple
) -> Program | None:
    """Build the program of one key, or None where the key is not numpy.gradient's easy case."""
    if not shape or dtype.kind not in "iufc" or not dtype.isnative or edge_order not in (1, 2):
        return None
    try:
        axes = normalize_axis_tuple(range(len(shape)) if axis is None else axis, len(shape))
    except (TypeError, ValueError):  # the general path raises numpy's error
        return None
    if not axes:  # axis=(): numpy's empty tuple, from the general path
        return None
    convert = dtype.kind in "iu"  # numpy's rule: integers become float64 first
    out_dtype = np.dtype(np.float64) if convert else dtype
    if len(kinds) == 1 and kinds[0] == "scalar":
        kinds = kinds * len(axes)
    elif kinds and len(kinds) != len(axes):
        return None
    runs = []
    for position, ax in enumerate(axes):
        length = shape[ax]
        kind = kinds[position] if kinds else "unit"
        if kind is None or length < edge_order + 1:
            return None
        if kind in ("unit", "scalar"):
            runs.append(_uniform_run(shape, ax, edge_order))
            continue
        coordinates = np.dtype(kind)
        if coordinates.kind not in "iuf":
            return None
        work = np.result_type(out_dtype, np.float64 if coordinates.kind in "iu" else coordinates)
        if work != out_dtype:
            return None  # numpy computes in a wider dtype, then casts: the general path
        runs.append(_coordinate_run(shape, ax, edge_order))
    return _program(tuple(runs), axes, kinds, out_dtype, convert)


def _program(
    runs: tuple[AxisRun, ...],
    axes: tuple[int, ...],
    kinds: tuple,
    out_dtype: np.dtype,
    convert: bool,
) -> Program:
    shape_axes = len(axes)
    scalar_kinds = tuple(kind in ("unit", "scalar") for kind in (kinds or ("unit",) * shape_axes))

    def program(f: np.ndarray, varargs: tuple) -> Any:
        if convert:
            f = f.astype(np.float64)
        if not varargs:
            spacings: tuple = (1.0,) * shape_axes
        elif len(varargs) == 1 and shape_axes > 1:
            spacings = (float(varargs[0]),) * shape_axes
        else:
            spacings = tuple(
                float(v) if scalar else _checked(v, f.shape[ax])
                for v, scalar, ax in zip(varargs, scalar_kinds, axes, strict=True)
            )
        outs = []
        for run, spacing in zip(runs, spacings, strict=True):
            out = np.empty(f.shape, dtype=out_dtype)
            run(f, spacing, out)
            outs.append(out)
        return outs[0] if shape_axes == 1 else tuple(outs)

    return program


def _checked(x: np.ndarray, length: int) -> np.ndarray:
    """Coordinates checked as numpy.gradient checks them, before any axis is computed."""
    if x.shape[0] != length:
        raise ValueError("when 1d, distances must match the length of the corresponding dimension")
    if x.dtype.kind in "iu":
        return x.astype(np.float64)  # numpy: no modular arithmetic in the differences
    return x


def _index(ndim: int, axis: int, rows: slice, lead: slice | None = None) -> tuple:
    index = [slice(None)] * ndim
    index[axis] = rows
    if lead is not None and axis != 0:
        index[0] = lead
    return tuple(index)


def _blocks(
    shape: tuple[int, ...], axis: int, start: int, stop: int, block: int = BLOCK_ELEMENTS
) -> list[tuple]:
    """(rows of the axis, leading-axis slice) of each block of rows ``start .. stop - 1``."""
    size = math.prod(shape)
    if size <= block:
        return [(start, stop, None)]
    if axis == 0:
        per_row = size // shape[0]
        step = max(1, block // max(1, per_row))
        return [(r0, min(r0 + step, stop), None) for r0 in range(start, stop, step)]
    per_lead = size // shape[0] // shape[axis] * (stop - start)
    step = max(1, block // max(1, per_lead))
    return [(start, stop, slice(i0, min(i0 + step, shape[0]))) for i0 in range(0, shape[0], step)]


def _interior_views(shape: tuple[int, ...], axis: int, block: int = BLOCK_ELEMENTS) -> list[tuple]:
    """Per block: (output rows, rows before, same rows, rows after, weight rows)."""
    ndim, length = len(shape), shape[axis]
    views = []
    for r0, r1, lead in _blocks(shape, axis, 1, length - 1, block):
        views.append(
            (
                _index(ndim, axis, slice(r0, r1), lead),
                _index(ndim, axis, slice(r0 - 1, r1 - 1), lead),
                _index(ndim, axis, slice(r0, r1), lead),
                _index(ndim, axis, slice(r0 + 1, r1 + 1), lead),
                slice(r0 - 1, r1 - 1),
            )
        )
    return views


def _edge_views(shape: tuple[int, ...], axis: int) -> tuple[tuple, ...]:
    """Index tuples of rows 0, 1, 2 and -3, -2, -1 of the axis (as length-1 slices)."""
    ndim, length = len(shape), shape[axis]
    rows = (0, 1, 2, length - 3, length - 2, length - 1)
    return tuple(_index(ndim, axis, slice(r, r + 1)) if r >= 0 else () for r in rows)


def _uniform_run(shape: tuple[int, ...], axis: int, edge_order: int) -> AxisRun:
    """numpy.gradient's uniform formulas along ``axis`` (spacing ``h``, a number or 0-d)."""
    interior = _interior_views(shape, axis, UNIFORM_BLOCK_ELEMENTS)
    e0, e1, e2, l3, l2, l1 = _edge_views(shape, axis)
    subtract, divide, multiply = np.subtract, np.divide, np.multiply

    threaded = len(interior) >= THREADED_BLOCKS

    def run(f: np.ndarray, h: Any, out: np.ndarray) -> None:
        twice, scale = 2.0 * h, cast(Any, divide)
        if type(twice) is float and f.dtype.kind == "f" and _exact_reciprocal(twice):
            # x / 2h and x * (1 / 2h) are the same real number, hence the same
            # rounding, and a product costs a fraction of a quotient
            twice, scale = 1.0 / twice, multiply
        if threaded:

            def step(views: tuple) -> None:
                block = out[views[0]]
                subtract(f[views[3]], f[views[1]], out=block)
                scale(block, twice, out=block)

            each_block(step, interior)
        else:
            for target, before, _, after, _ in interior:
                block = out[target]
                subtract(f[after], f[before], out=block)
                scale(block, twice, out=block)
        first, last = out[e0], out[l1]
        if edge_order == 1:
            subtract(f[e1], f[e0], out=first)
            divide(first, h, out=first)
            subtract(f[l1], f[l2], out=last)
            divide(last, h, out=last)
            return
        _three(f, first, (e0, e1, e2), (-1.5 / h, 2.0 / h, -0.5 / h))
        _three(f, last, (l3, l2, l1), (0.5 / h, -2.0 / h, 1.5 / h))

    return run


def _exact_reciprocal(value: float) -> bool:
    """A power of two whose reciprocal, like itself, is normal in every float dtype."""
    return abs(math.frexp(value)[0]) == 0.5 and 2.0**-14 <= abs(value) <= 2.0**14


def _three(f: np.ndarray, target: np.ndarray, rows: tuple, weights: tuple) -> None:
    """``a f[r0] + b f[r1] + c f[r2]`` into ``target``, in numpy.gradient's order."""
    np.multiply(weights[0], f[rows[0]], out=target)
    np.add(target, weights[1] * f[rows[1]], out=target)
    np.add(target, weights[2] * f[rows[2]], out=target)


#: the longest coordinates whose steps and weights a run keeps for the next call (five
#: arrays of their length: the coordinates' bits, the steps, three weights)
KEEP_COORDINATES = 1 << 18

#: unsigned integers of each float's size: coordinates compared bit for bit
_BITS: dict[int, Any] = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _coordinate_run(shape: tuple[int, ...], axis: int, edge_order: int) -> AxisRun:
    """numpy.gradient's formulas for coordinates along ``axis``, uniform or not.

    The steps and interior weights of the last coordinates are kept (up to
    :data:`KEEP_COORDINATES` of them; a run split into blocks reads each
    block's rows of them): a call with the same coordinates, bit for bit, reads them
    instead of computing them again, one comparison instead of nine
    operations over the axis. They are the same numbers either way.
    """
    uniform = _uniform_run(shape, axis, edge_order)
    interior = _interior_views(shape, axis)
    e0, e1, e2, l3, l2, l1 = _edge_views(shape, axis)
    ndim = len(shape)
    weight_shape = tuple(-1 if k == axis else 1 for k in range(ndim))
    per_block = axis == 0 and len(interior) > 1
    keep = shape[axis] <= KEEP_COORDINATES
    kept: list[Any] = [None]  # (the coordinates' bits, steps, uniform, weights)

    def steps_and_weights(x: np.ndarray) -> tuple[np.ndarray, bool, Any]:
        bits = _BITS.get(x.dtype.itemsize) if keep and x.dtype.kind == "f" else None
        last = kept[0]
        same = bits is not None and last is not None and last[0].dtype == bits
        if same and last[0].shape == x.shape and (last[0] == x.view(bits)).all():
            return last[1:]
        d = x[1:] - x[:-1]
        even = bool((d == d[0]).all())
        whole = None
        if not even and (bits is not None or not per_block):  # else computed per block
            whole = [w.reshape(weight_shape) for w in _central(d)]
        if bits is not None:
            for a in [d, *(whole or ())]:
                a.flags.writeable = False  # read by later calls
            kept[0] = (x.view(bits).copy(), d, even, whole)
        return d, even, whole

    def run(f: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
        d, even, whole = steps_and_weights(x)
        if even:
            uniform(f, d[0], out)
            return

        def step(views: tuple) -> None:
            target, before, same, after, rows = views
            if not per_block:
                a, b, c = whole
            elif whole is not None:  # kept: this block's rows of them
                a, b, c = (w[rows.start : rows.stop] for w in whole)
            else:
                a, b, c = _central(d[rows.start : rows.stop + 1])
                if ndim > 1:
                    a, b, c = (w.reshape(weight_shape) for w in (a, b, c))
            block = out[target]
            np.multiply(a, f[before], out=block)
            np.add(block, b * f[same], out=block)
            np.add(block, c * f[after], out=block)

        each_block(step, interior)
        first, last = out[e0], out[l1]
        if edge_order == 1:
            np.subtract(f[e1], f[e0], out=first)
            np.divide(first, d[0], out=first)
            np.subtract(f[l1], f[l2], out=last)
            np.divide(last, d[-1], out=last)
            return
        _three(f, first, (e0, e1, e2), _edge_weights(_first_edge, d, 0, 1))
        _three(f, last, (l3, l2, l1), _edge_weights(_last_edge, d, -2, -1))

    return run


def _edge_weights(edge: Callable[[Any, Any], tuple], d: np.ndarray, i: int, j: int) -> tuple:
    """An edge's three weights from steps ``d[i]``, ``d[j]``, as numpy.gradient computes them.

    Python floats where they are float64 (the same IEEE arithmetic, cheaper);
    a zero step, or products that underflow to zero, divide by zero, which
    numpy's float64 scalars answer with inf or NaN (and NumPy's warning),
    where a Python float raises ZeroDivisionError: those take NumPy's scalars.
    """
    try:
        return edge(*_scalars(d, i, j))
    except ZeroDivisionError:
        return edge(d[i], d[j])


def _scalars(d: np.ndarray, i: int, j: int) -> tuple[Any, Any]:
    """Two steps as scalars: Python floats for float64 (the same IEEE arithmetic, cheaper)."""
    if d.dtype == np.float64:
        return float(d[i]), float(d[j])
    return d[i], d[j]


def _central(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy.gradient's interior weights from steps ``d`` (rows 1 .. len(d) - 1).

    numpy's expressions, ``a = -(dx2) / (dx1 (dx1 + dx2))``, ``b = (dx2 - dx1)
    / (dx1 dx2)``, ``c = dx1 / (dx2 (dx1 + dx2))``, each operation rounded
    as there (a negation commutes exactly with a division), with the sum
    ``dx1 + dx2`` computed once and no temporaries beyond the three weights.
    """
    dx1, dx2 = d[:-1], d[1:]
    total = dx1 + dx2
    a = np.multiply(dx1, total)
    np.divide(dx2, a, out=a)
    np.negative(a, out=a)
    b = np.subtract(dx2, dx1)
    np.multiply(dx2, total, out=total)
    np.divide(dx1, total, out=total)
    product = np.multiply(dx1, dx2)
    np.divide(b, product, out=b)
    return a, b, total


def _first_edge(dx1: Any, dx2: Any) -> tuple[Any, Any, Any]:
    a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
    b = (dx1 + dx2) / (dx1 * dx2)
    c = -dx1 / (dx2 * (dx1 + dx2))
    return a, b, c


def _last_edge(dx1: Any, dx2: Any) -> tuple[Any, Any, Any]:
    a = (dx2) / (dx1 * (dx1 + dx2))
    b = -(dx2 + dx1) / (dx1 * dx2)
    c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
    return a, b, c
