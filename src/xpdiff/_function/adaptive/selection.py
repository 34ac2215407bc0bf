"""method="adaptive", on the device: scales from the pilot, each component's best estimate.

Array operations of the work's library on the values that the engine
returns for a unit: the pilot's length scales (:func:`scales_within`) and the
ladder's selection (:func:`select_within`), both in blocks of outputs whose
temporaries fit the memory budget; no loop over data, no transfer to the host.
"""

from __future__ import annotations

import math
from typing import Any

from ... import _backend, _host
from .ladders import Ladder

__all__ = [
    "device_ladder",
    "held_bytes",
    "itemsize",
    "ratio_or_inf",
    "scales_within",
    "select_within",
    "shortest_scale",
    "work_budget",
]

#: (rounding errors of a function's values are rarely all of one sign and size)
NOISE_WEIGHT = 1.0
#: an estimate whose truncation error exceeds this share of its value has no digit
#: to trust (a pole or a jump between the ladder's points): its error is inf
UNRESOLVED = 0.1
#: a pilot's derivative estimate counts when it exceeds its rounding noise this many times
RESOLVED = 8.0


def ratio_or_inf(xp: Any, a: Any, b: Any) -> Any:
    """|a / b| where it is positive and not NaN (an infinite one stays inf), else +inf:
    left out of the median of the length scales."""
    q = xp.abs(a / b)
    return _host.where_into(xp, ~(q > 0), math.inf, q)


def _median3(xp: Any, e: Any) -> Any:
    """The median of three positive values, inf ones left out (then: the geometric mean).

    A sorting network of minimum and maximum (elementwise, on any library);
    NaN where all three are inf.
    """
    a, b = xp.minimum(e[0], e[1]), xp.maximum(e[0], e[1])
    u = xp.minimum(b, e[2])
    s0, s1 = xp.minimum(a, u), xp.maximum(a, u)
    count = sum(xp.astype(xp.isfinite(v), s0.dtype) for v in e)
    high = xp.where(count == 1, s0, s1)
    low = xp.where(count == 3, s1, s0)
    middle = xp.sqrt(low) * xp.sqrt(high)
    return xp.where(count > 0, middle, math.nan)


def _scales(xp: Any, values: Any, f0: Any, weights: Any, used: Any, T: Any, eps: Any) -> Any:
    """lambda per output, group and point, from the pilot's values ``(m, g, 3, B)``.

    lambda is the median of the ratios of the first three derivatives,
    ``|d1 / d2|``, ``|d2 / d3|`` and ``sqrt|d1 / d3|`` (each is the length
    over which ``exp(x / lambda)`` changes), among those whose two
    derivatives both stand above their rounding noise (``RESOLVED`` times
    ``eps max|f|`` times their weights' amplification): a derivative lost in
    rounding (the third of a quadratic, the first at a minimum) says nothing
    about the scale. Estimates that need a value that is not finite are left
    out; the first two derivatives then come from the nearest points alone
    where those are finite.
    """
    # where(...) written into fresh arrays under masks that are mostly False (NumPy:
    # where_into's copyto costs a fifth of a where)
    bad = ~xp.isfinite(values)
    clean = _host.where_into(xp, bad, 0.0, values - f0)
    touched = _host.weighs_any(xp, used, bad)
    d = _host.where_into(xp, touched, math.nan, weights @ clean)  # (m, g, 5, B)
    scale = xp.max(_host.where_into(xp, bad, 0.0, xp.abs(values)), axis=2, keepdims=True)
    scale = xp.maximum(scale, xp.abs(f0))  # (m, g, 1, B)
    amplification = xp.sum(xp.abs(weights), axis=-1, keepdims=True)  # (g, 5, 1)
    noise = (RESOLVED * eps) * scale * amplification
    # lost in rounding: inf, left out below (d, times T**k, is this function's own)
    d = _host.where_into(xp, ~(xp.abs(d) > noise), math.inf, d)
    # T is a power of two: its products are T**k exactly (T**3 is a pow, 4 ns a number)
    powers = (T, T * T, T * T * T)
    d1, d2, d3 = (d[:, :, k, :] / powers[k] for k in range(3))
    d1 = _host.where_into(xp, xp.isnan(d1), d[:, :, 3, :] / T, d1)
    d2 = _host.where_into(xp, xp.isnan(d2), d[:, :, 4, :] / powers[1], d2)
    # |d1 / d2| is the distance to an extremum, not a length of change, where the
    # third derivative is lost in rounding (a quadratic): left out there
    first = xp.where(d3 == math.inf, math.inf, ratio_or_inf(xp, d1, d2))
    estimates = (first, ratio_or_inf(xp, d2, d3), xp.sqrt(ratio_or_inf(xp, d1, d3)))
    lam = _median3(xp, estimates)
    # no estimate, every value finite: no curvature to see up to T (inf, "long");
    # no estimate and values that are not finite: unknown (NaN)
    smooth = ~xp.any(bad, axis=2)
    return _host.where_into(xp, xp.isnan(lam) & smooth, math.inf, lam)


def shortest_scale(xp: Any, lam: Any, axis: int) -> Any:
    """The shortest lambda along ``axis``: finite ones first; else NaN if any, else inf
    (and inf along an empty axis: a func without outputs)."""
    if lam.shape[axis] == 0:
        shape = tuple(size for k, size in enumerate(lam.shape) if k != axis % lam.ndim)
        return xp.full(shape, math.inf, dtype=lam.dtype, device=_backend.device_of(lam))
    finite = xp.isfinite(lam)
    shortest = xp.min(xp.where(finite, lam, math.inf), axis=axis)
    unknown = xp.any(xp.isnan(lam), axis=axis)
    return xp.where(xp.isfinite(shortest) | ~unknown, shortest, math.nan)  # else inf


def _select(
    xp: Any, values: Any, f0: Any, ladder_arrays: Any, divisor: Any, eps: Any, keep: int = 4
) -> Any:
    """Each component's best candidate: (value, error, order, step) of shape ``(m, g, B)``,
    or with ``keep`` 1 the value alone (its other picks not made).

    Values that are not finite are set aside before the weighted sums, and
    every candidate that uses one of them is left out. The candidate is the
    one whose first difference (its extrapolation's) plus rounding noise is
    smallest; its error is the larger of its two differences (the second:
    the estimate of the order below, one level longer) plus that noise, so
    that a first difference that vanishes by chance does not understate it.
    Choosing by both differences instead chose lower orders and doubled the
    adaptive Hessian's median error (benchmarks/bench_adaptive.py: 2.1e-12,
    1.2e-12 this way) with no gain in the tail. Of candidates of equal rank
    (a function whose values are all 0) the first is taken, one candidate's
    value, order and step (their mean was taken before: an order of 4.22).
    """
    weights, error_w, noise_w, order, step, used, error2_w = ladder_arrays
    bad = ~(xp.isfinite(values) & xp.isfinite(f0))
    # where(finite, ..., 0.0) written into the fresh array (where_into: NumPy's copyto
    # under a mask that is mostly False costs a fifth of a where)
    clean = _host.where_into(xp, bad, 0.0, values - f0)
    touched = _host.weighs_any(xp, used, bad)  # candidates using a bad value
    estimate = (weights @ clean) / divisor
    first = xp.abs(error_w @ clean) / divisor
    # and from the estimate of the order below one level longer: two differences that
    # rarely vanish together by chance
    truncation = xp.maximum(first, xp.abs(error2_w @ clean) / divisor)
    scale = xp.max(_host.where_into(xp, bad, 0.0, xp.abs(values)), axis=2, keepdims=True)
    scale = xp.maximum(scale, xp.where(xp.isfinite(f0), xp.abs(f0), 0.0))
    # NOISE_WEIGHT on the components' scale, not on every candidate: one operation fewer
    noise = ((eps * scale) * NOISE_WEIGHT) * noise_w / divisor
    error = truncation + noise
    ok = ~touched & xp.isfinite(estimate) & xp.isfinite(error)
    rank = _host.where_into(xp, ~ok, math.inf, first + noise)
    index = _host.argmin_first(xp, rank, 2)  # of equal ranks, the first candidate

    def pick(a: Any) -> Any:
        return _host.take_along(xp, a, index, 2)[:, :, 0, :]

    some = pick(rank) < math.inf
    value = xp.where(some, pick(estimate) + 0.0, math.nan)  # + 0.0: no -0.0
    if keep == 1:  # derivative's and grad's value alone: four picks fewer
        return (value,)
    error = xp.where(some, pick(error), math.nan)
    # no digit survives truncation (a pole or a jump within the steps): unknown error
    unresolved = (pick(truncation) > UNRESOLVED * xp.abs(value)) & some
    error = xp.where(unresolved, math.inf, error)
    return (
        value,
        error,
        xp.where(some, pick(order), math.nan),
        xp.where(some, pick(step), math.nan),
    )


#: temporaries of the selection per candidate and component (estimate, error, masks, ...)
SELECTION_TEMPORARIES = 12
#: the smallest block of the selection's temporaries, whatever the budget left for it: a
#: few hundred thousand numbers per array operation keep the per-call overhead small
#: (blocks of one output row, under a budget left at a few bytes, took minutes)
MIN_BLOCK_BYTES = 2**19


def _in_row_chunks(
    xp: Any, fn: Any, budget: int, rows: int, per_row: int, batched: int, *arrays: Any
) -> Any:
    """``fn(*arrays)`` over blocks of the outputs' axis 0, each block's work within budget/4.

    ``arrays`` whose axis 0 has length ``rows`` are sliced; others (length
    1, shared) are passed whole. Where one row's work is over budget/4 (one
    output, many base points), rows go one at a time and the last axis of
    the first ``batched`` arrays (the base points) is sliced too. Results
    (tuples of arrays ``(rows, ..., base points)``) are joined. A block
    holds at least :data:`MIN_BLOCK_BYTES` of work whatever the budget.
    Small problems take one block: the same operations as without.
    """
    block = max(budget // 4, MIN_BLOCK_BYTES)
    step = max(1, block // max(1, per_row))
    over = per_row > block
    if step >= rows and not over:
        return fn(*arrays)
    size = arrays[0].shape[-1]
    width = max(1, size * block // per_row) if over else size
    parts = []
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        block_arrays = [a[r0:r1, ...] if a.shape[0] == rows else a for a in arrays]
        columns = []
        for c0 in range(0, size, width):
            c1 = min(size, c0 + width)
            cut = [
                a[..., c0:c1] if k < batched and a.shape[-1] == size > width else a
                for k, a in enumerate(block_arrays)
            ]
            columns.append(fn(*cut))
        parts.append(_joined(xp, columns, -1))
    return _joined(xp, parts, 0)


#: the bytes of one of the selection's temporaries per block of columns on the host
#: (NumPy): they stay in cache, and the allocator reuses their memory instead of asking
#: the kernel for fresh pages. derivative(np.exp, x) at 1e5 points, n = 1: 87 ms in one
#: block, 50 / 43 / 39 / 38 / 46 ms with 2**16 .. 2**20 bytes (2 cores, shared)
HOST_BLOCK_BYTES = 2**19


def _in_column_blocks(xp: Any, fn: Any, per_column: int, *arrays: Any) -> Any:
    """``fn(*arrays)`` over blocks of the last axis (base points, or the outputs laid out
    last), on the host in blocks whose temporaries of ``per_column`` numbers per column
    take :data:`HOST_BLOCK_BYTES` each, from C-order copies (the outputs-last view of
    values laid out outputs first is strided); elsewhere whole
    (``_host.in_host_blocks``). Every operation is elementwise along that axis or a
    reduction across the others: the same results, in parts (to the rounding of the
    weighted sums: OpenBLAS's matrix products round a block's last columns by other
    kernels than the rest on some CPUs).
    """
    width = max(1, HOST_BLOCK_BYTES // (8 * max(1, per_column)))
    return _host.in_host_blocks(xp, fn, width, *arrays, c_order=True)


def _joined(xp: Any, parts: list[Any], axis: int) -> Any:
    """Tuples of arrays joined along ``axis``, item by item (one part: itself)."""
    if len(parts) == 1:
        return parts[0]
    return tuple(xp.concat([p[k] for p in parts], axis=axis) for k in range(len(parts[0])))


def _in_dtype(xp: Any, values: Any, dtype: Any) -> Any:
    """Values of x's floating dtype (a func may return integers: their derivative is 0)."""
    return values if values.dtype == dtype else xp.astype(values, dtype)


def held_bytes(xp: Any, dtype: Any, count: int) -> int:
    """Bytes held for a result of ``count`` numbers while the engine runs, which the memory
    budget counts (``kept_bytes``): once on NumPy (units written into one array), twice
    elsewhere (the units' parts and their join)."""
    return (1 if _backend.is_numpy_namespace(xp) else 2) * count * itemsize(xp, dtype)


def work_budget(budget: int, kept: int) -> int:
    """What the selection's temporaries may take beside a kept result: the rest of the
    budget, but not under an eighth of it (a result that fills the budget still runs)."""
    return max(budget - kept, budget // 8, 1)


def select_within(
    xp: Any,
    values: Any,
    f0: Any,
    ladder_arrays: Any,
    divisor: Any,
    eps: Any,
    budget: Any,
    keep: Any = 4,
) -> Any:
    """:func:`_select` in blocks of outputs whose temporaries fit the memory budget.

    Returns the first ``keep`` of (value, error, order, step).
    """
    values, f0 = _in_dtype(xp, values, divisor.dtype), _in_dtype(xp, f0, divisor.dtype)
    m, g, _, b = values.shape
    candidates = ladder_arrays[0].shape[-2]
    per_row = g * candidates * b * SELECTION_TEMPORARIES * itemsize(xp, values.dtype)

    def select(v: Any, f: Any, d: Any, *arrays: Any) -> Any:
        long = _rows_long(v, arrays)
        if long:
            v, f, d = (xp.permute_dims(a, ROWS_LAST) for a in (v, f, d))
        per_column = v.shape[0] * v.shape[1] * candidates
        chosen = _in_column_blocks(
            xp, lambda v, f, d: _select(xp, v, f, arrays, d, eps, keep)[:keep], per_column, v, f, d
        )
        return tuple(xp.permute_dims(a, ROWS_FIRST) for a in chosen) if long else chosen

    arrays = _per_output(xp, ladder_arrays)
    return _in_row_chunks(xp, select, budget, m, per_row, 3, values, f0, divisor, *arrays)


def scales_within(
    xp: Any, values: Any, f0: Any, weights: Any, used: Any, T: Any, eps: Any, budget: Any
) -> Any:
    """:func:`_scales` in blocks of outputs whose temporaries fit the memory budget."""
    values, f0 = _in_dtype(xp, values, T.dtype), _in_dtype(xp, f0, T.dtype)
    m, g, _, b = values.shape
    per_row = g * weights.shape[-2] * b * SELECTION_TEMPORARIES * itemsize(xp, values.dtype)

    def scales(v: Any, f: Any, t: Any, w: Any, u: Any) -> Any:
        long = _rows_long(v, (w, u))
        if long:
            v, f, t = (
                xp.permute_dims(v, ROWS_LAST),
                xp.permute_dims(f, ROWS_LAST),
                xp.permute_dims(t, ROWS_FIRST),
            )
        per_column = v.shape[0] * v.shape[1] * w.shape[-2]
        (lam,) = _in_column_blocks(
            xp, lambda v, f, t: (_scales(xp, v, f, w, u, t, eps),), per_column, v, f, t
        )
        return (xp.permute_dims(lam, ROWS_FIRST),) if long else (lam,)

    w, u = _per_output(xp, (weights, used))
    (lam,) = _in_row_chunks(xp, scales, budget, m, per_row, 3, values, f0, T, w, u)
    return lam


#: ``(m, g, L, 1)`` -> ``(1, g, L, m)``: the outputs' axis where the base points' was
ROWS_LAST = (3, 1, 2, 0)
#: ``(1, g, m)`` -> ``(m, g, 1)``, and ``(m, g, 1)`` -> ``(1, g, m)``
ROWS_FIRST = (2, 1, 0)


def _rows_long(values: Any, shared: Any) -> bool:
    """Whether the selection runs faster with the outputs' axis last: many outputs, one
    base point (an elementwise function's coordinates), the ladder shared by all.

    The weighted sums are then one matrix product ``(C, L) @ (L, m)`` instead
    of m products of ``(C, L) @ (L, 1)`` (NumPy: 12 ms against 2 ms at m =
    1e5, C = 25, L = 12), and every elementwise step runs along a long
    axis: ``derivative(np.exp, x)`` at 1e5 points took about half the time.
    The same sums, which round alike up to the order of their terms.
    """
    return values.shape[0] > 1 and values.shape[3] == 1 and all(a.shape[0] == 1 for a in shared)


def _per_output(xp: Any, arrays: Any) -> Any:
    """Ladder arrays with a leading outputs' axis: ``(m, g, ...)`` per output (an
    elementwise function's per-coordinate rows) or ``(1, g, ...)`` shared, so that blocks
    of outputs slice them with the values."""
    return tuple(a if a.ndim == 4 else xp.reshape(a, (1, *a.shape)) for a in arrays)


_ITEMSIZE: dict[tuple[str, Any], int] = {}


def itemsize(xp: Any, dtype: Any) -> int:
    """Bytes of one number of a real floating ``dtype`` (cached per library and dtype)."""
    key = (type(dtype).__module__, dtype)
    size = _ITEMSIZE.get(key)
    if size is None:
        size = _ITEMSIZE[key] = xp.finfo(dtype).bits // 8
    return size


def device_ladder(xp: Any, ladder: Ladder, device: Any, dtype: Any) -> tuple[Any, ...]:
    """The ladder's arrays (:meth:`Ladder.arrays`) on the work's device, in its dtype."""
    return tuple(_backend.host_to_device(a, xp, device, dtype) for a in ladder.arrays())
