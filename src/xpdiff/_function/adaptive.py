"""method="adaptive": steps chosen from the function, in three batched calls.

numDeriv's Richardson steps are a fixed fraction of ``|x|``: right for
functions that vary on the scale of x, wrong by orders of magnitude for
``exp(100 x)``, ``exp(-x / 1e6)``, ``log`` near 0 or a sum whose value
dwarfs each partial derivative. This method chooses each coordinate's steps
from the function itself, with a fixed number of calls and fixed shapes (no
loop that depends on the data, no transfer to the host), so it runs under
``jax.jit``, lazily on Dask and without synchronisation on a GPU:

1. **The call at x.**
2. **A pilot call**: three points per coordinate, ``x +- T/256`` and ``x +
   T`` with ``T = d max(|x|, 1)`` rounded down to a power of two (one-sided:
   ``x + s T {1/256, 1/128, 1}``): a near pair that resolves functions that
   vary on lengths down to ``T/256`` (sin at ``x = 1e4``) and a far point for
   those that vary slowly. The cubic through them and x gives estimates
   of the first three derivatives, and each of the ratios ``|d1/d2|``,
   ``|d2/d3|`` and ``sqrt|d1/d3|`` estimates the length ``lambda`` over which
   the function changes (exactly, for ``exp(x / lambda)``). Their median
   (ratios that are not finite or zero left out; where the far point is not
   finite, d1 and d2 from the near pair) sets the ladder's base step ``H = C
   lambda``, rounded down to a power of two so that every point of the
   ladder is exact in x's dtype. ``C`` balances truncation against rounding
   for the ladder's highest order and scales with the dtype's precision.
   Where no ratio survives, ``H`` is ``T / 256``, or ``C |x|`` if smaller
   (functions that stop being finite near 0, such as log, vary on ``|x|``).
3. **A ladder**: ``r`` levels of steps ``H, H/v, ..., H/v**(r-1)`` (central:
   a pair of points per level; one-sided: ``2r`` single points), whose
   Richardson table holds estimates of every order at every level. Each
   estimate's error is estimated as its difference from the estimate of the
   order below plus its rounding error (``eps max|f|`` times its weights'
   amplification, divided by its step); each component keeps the estimate
   with the smallest error among those whose points are all finite. The
   error estimate comes with it (``full_output``), as do its order and
   step.

Second derivatives (``hessian``) use the same pilot, a ladder of second
differences for the diagonal and a ladder of four-point mixed differences
``(f(++) - f(+-) - f(-+) + f(--)) / (4 h_i h_j)`` for each pair, all in the
third call.

Everything here is host-side weights (schemes, computed once and cached) and
a few array operations per call; the points go through the engine
(``_engine.run``) like every other method's, so the memory budget,
``max_batch`` and ``workers`` apply unchanged (a batch larger than the
budget allows is split into more calls, as for every method).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _backend
from .._numerics.stencils import fornberg
from . import engine as _engine
from . import schemes as _schemes

__all__ = ["first_derivatives", "hessian"]

#: the pilot's offsets in units of T: central (a near pair and one far point), and
#: one-sided (times the side); the near ones alone serve where the far one is not finite
#: the near points are T / ratio: 256 where the dtype resolves a second difference
#: that short (float64), 16 otherwise (float32: its rounding hides f'' at T / 256)
PILOT_RATIOS = {"high": 256.0, "low": 16.0}


def pilot_ratio(eps: float) -> float:
    """How much nearer than T the pilot's near points are, for a dtype of precision eps."""
    return PILOT_RATIOS["high" if eps < 1e-12 else "low"]


#: H = C lambda, C for float64 and the default ladders, tuned on the problems of
#: benchmarks/bench_adaptive.py (central, one-sided, second derivatives); other dtypes
#: scale it by (eps / eps64) ** (1 / (p + 1)), p the ladder's highest order, which keeps
#: truncation and rounding errors in the same balance
STEP_CONSTANT = {"central": 0.05, "one-sided": 0.4, "second": 0.5}
FLOAT64_EPS = 2.220446049250313e-16
#: the ladder's estimate keeps this share of its rounding estimate in its error
#: (rounding errors of a function's values are rarely all of one sign and size)
NOISE_WEIGHT = 1.0
#: an estimate whose truncation error exceeds this share of its value has no digit
#: to trust (a pole or a jump between the ladder's points): its error is inf
UNRESOLVED = 0.1
#: a pilot's derivative estimate counts when it exceeds its rounding noise this many times
RESOLVED = 8.0

# --- schemes: host-side weights ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Ladder:
    """A ladder's points and, per candidate estimate, its weights on their values.

    Candidate c of group g is ``weights[g, c] @ (F - f(x)) / divisor`` with F
    the group's values and the divisor ``H`` (first derivatives), ``H**2`` or
    ``H_i H_j`` (second); ``error[g, c]`` the same for its difference from
    the candidate of the order below; ``noise[g, c]`` the amplification of
    rounding errors of the values (the sum of ``|weights|`` and of the
    weights' sum, which f(x) carries); ``order`` its order of accuracy and
    ``step`` its largest step, in units of H. A first axis of 1 is the same
    for every group. Unused candidates (padding) have infinite noise.
    """

    family: _schemes.Family
    weights: np.ndarray
    error: np.ndarray
    noise: np.ndarray
    order: np.ndarray
    step: np.ndarray
    used: np.ndarray  # (g, C, L) 1.0 where a candidate's weight is not zero
    error2: np.ndarray


def _frozen(array, dtype=np.float64) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=dtype)
    array.flags.writeable = False
    return array


def _coords(n: int) -> np.ndarray:
    return _frozen(np.arange(n)[:, None], np.int64)


def _candidates(levels: np.ndarray, factors: list[float], base_order: int, order_step: int, v):
    """Every entry of the Richardson table of ``levels`` (rows of weights), as candidates.

    Entry (j, k), k >= j, extrapolates levels ``k - j .. k`` to order
    ``base_order + j * order_step``; its error estimate is its difference
    from the entry it improves on, (j - 1, k), or from the level before for
    j = 0 (entry (0, 0) has none and is left out). Returns the rows
    ``(weights, error, noise, order, step)`` with ``step`` the entry's
    largest step (that of level ``k - j``) in units of H.
    """
    table = {(0, k): row for k, row in enumerate(levels)}
    for j, factor in enumerate(factors, start=1):
        for k in range(j, len(levels)):
            table[j, k] = (table[j - 1, k] * factor - table[j - 1, k - 1]) / (factor - 1)
    weights: Any = []
    error: list = []
    error2: list = []
    order: list = []
    step: list = []
    for (j, k), row in sorted(table.items()):
        if k == 0:
            continue
        before = table[j - 1, k] if j else table[0, k - 1]
        weights.append(row)
        error.append(row - before)
        other = table[j - 1, k - 1] if j >= 1 else table[0, k - 2] if k >= 2 else before
        error2.append(row - other)
        order.append(base_order + j * order_step)
        step.append(float(v) ** -(k - j))
    weights = np.array(weights)
    noise = np.sum(np.abs(weights), axis=1) + np.abs(np.sum(weights, axis=1))
    return (
        weights,
        np.array(error),
        noise,
        np.array(order, dtype=np.float64),
        np.array(step),
        np.array(error2),
    )


def _ladder(family, rows: list[tuple], elementwise_per_coordinate=False, index=None) -> Ladder:
    """Candidate rows of one or more groups as a Ladder (padded to one count).

    Padding candidates have no weights and infinite noise: never chosen.
    ``index`` (per coordinate) picks each coordinate's rows among ``rows``.
    """
    count = max(r[0].shape[0] for r in rows)
    stacks: list[list[Any]] = [[], [], [], [], [], []]
    for weights, error, noise, order, step, error2 in rows:
        extra = count - weights.shape[0]
        stacks[0].append(np.pad(weights, ((0, extra), (0, 0))))
        stacks[1].append(np.pad(error, ((0, extra), (0, 0))))
        stacks[2].append(np.pad(noise, (0, extra), constant_values=np.inf)[:, None])
        stacks[3].append(np.pad(order, (0, extra))[:, None])
        stacks[4].append(np.pad(step, (0, extra))[:, None])
        stacks[5].append(np.pad(error2, ((0, extra), (0, 0))))
    arrays = [np.stack(a) for a in stacks]  # (g, C, L) and (g, C, 1)
    if index is not None:
        arrays = [a[index] for a in arrays]
    if elementwise_per_coordinate:  # output i takes coordinate i's rows: (n, 1, C, .)
        arrays = [a[:, None] for a in arrays]
    weights, error, noise, order, step, error2 = (_frozen(a) for a in arrays)
    return Ladder(family, weights, error, noise, order, step, _frozen(weights != 0), error2)


def _central_rows(r: int, v: float, power: int):
    """A central ladder of r levels (sets (k, +), (k, -)) of the first or second derivative."""
    levels = np.zeros((r, 2 * r))
    for k in range(r):
        if power == 1:
            levels[k, 2 * k], levels[k, 2 * k + 1] = v**k / 2, -(v**k) / 2
        else:
            levels[k, 2 * k] = levels[k, 2 * k + 1] = v ** (2 * k)
    return _candidates(levels, [v ** (2 * j) for j in range(1, r)], 2, 2, v)


def _one_sided_rows(r: int, v: float, side: float):
    """A one-sided ladder of 2r single points ``x + side H / v**k``: forward differences."""
    levels = np.zeros((2 * r, 2 * r))
    for k in range(2 * r):
        levels[k, k] = side * v**k
    return _candidates(levels, [v**j for j in range(1, 2 * r)], 1, 1, v)


def _moves(side: float, r: int, v: float) -> np.ndarray:
    scale = v ** -np.arange(r, dtype=np.float64)
    if side == 0.0:
        return np.stack([scale, -scale], axis=1).reshape(2 * r)
    return side * v ** -np.arange(2 * r, dtype=np.float64)


def _unique_sides(sides: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The distinct sides (NaN, central, as 0.0) and each coordinate's index among them."""
    side = np.nan_to_num(np.asarray(sides, dtype=np.float64), nan=0.0)
    distinct, index = np.unique(side, return_inverse=True)
    return distinct, index.reshape(-1)


def _family(moves: np.ndarray, elementwise: bool, shared: bool = False) -> _schemes.Family:
    """The family of per-coordinate moves ``(n, L)`` (in units of each coordinate's step).

    Group i moves coordinate i alone by ``moves[i]``; ``elementwise``, one
    group moves every coordinate at once. ``shared``: every row of moves is
    the same (one side for all), kept once.
    """
    n = moves.shape[0]
    if elementwise:
        return _schemes.Family(None, _frozen(moves.T[None, :, :]), relative=True, groups=1)
    multipliers = moves[:1, :, None] if shared else moves[:, :, None]
    return _schemes.Family(_coords(n), _frozen(multipliers), relative=True, groups=n)


@functools.lru_cache(maxsize=128)
def first_ladder(n: int, sides: tuple, r: int, v: float, elementwise: bool) -> Ladder:
    """The ladder of first derivatives: central, or one-sided where ``sides`` says.

    Built once per distinct side and indexed per coordinate: its Python cost
    does not grow with n.
    """
    distinct, index = _unique_sides(sides)
    moves = np.stack([_moves(float(s), r, v) for s in distinct])[index]  # (n, 2r)
    rows = [_central_rows(r, v, 1) if s == 0.0 else _one_sided_rows(r, v, s) for s in distinct]
    if distinct.size == 1:
        return _ladder(_family(moves, elementwise, shared=True), rows)
    return _ladder(_family(moves, elementwise), rows, elementwise, index)


def _pilot_offsets(side: float, ratio: float) -> list[float]:
    near = 1.0 / ratio
    return [side * near, side * 2 * near, side] if side else [near, -near, 1.0]


def _pilot_weights(side: float, ratio: float) -> np.ndarray:
    offsets = _pilot_offsets(side, ratio)
    rows = [fornberg([0.0, *offsets], k)[1:] for k in range(1, 4)]
    near = [0.0, *offsets[:2]]  # x and the two nearest points
    rows += [[*fornberg(near, k)[1:], 0.0] for k in (1, 2)]
    return np.array(rows, dtype=np.float64)


@functools.lru_cache(maxsize=128)
def pilot_scheme(n: int, sides: tuple, elementwise: bool, ratio: float = 256.0):
    """The pilot: its family, and weights ``(g, 5, 3)`` of derivative estimates per ``T**k``.

    Central coordinates move by ``+-T/ratio`` and ``+T``; one-sided ones by
    ``s T {1/ratio, 2/ratio, 1}`` (``ratio`` from :func:`pilot_ratio`). Rows
    0-2 are Fornberg's weights of derivatives 1 to 3 from the cubic through
    x and the three points, rows 3-4 those of derivatives 1 and 2 from x and
    the two nearest points alone (for where the farthest is not finite: log
    near 0). They apply to the values minus f(x). Built once per distinct
    side and indexed per coordinate.
    """
    distinct, index = _unique_sides(sides)
    moves = np.array([_pilot_offsets(float(s), ratio) for s in distinct])[index]  # (n, 3)
    w = np.stack([_pilot_weights(float(s), ratio) for s in distinct])
    if distinct.size == 1:
        family = _family(moves, elementwise, shared=True)
    else:
        family = _family(moves, elementwise)
        w = w[index][:, None] if elementwise else w[index]
    return family, _frozen(w), _frozen(w != 0)


def all_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)``, ``i < j``, of n coordinates (a dense Hessian's)."""
    first, second = np.triu_indices(n, 1)
    return first.astype(np.int64), second.astype(np.int64)


def second_ladders(n: int, r: int, v: float, first: np.ndarray, second: np.ndarray):
    """The Hessian's ladders: second differences per coordinate, mixed ones per pair.

    Returns ``(diagonal, mixed)``; the mixed ladder's groups are the pairs
    ``(first[p], second[p])`` (None without pairs). Level k of pair (i, j)
    moves both coordinates by ``+-h / v**k`` in the four sign combinations.
    """
    diagonal = _ladder(
        _schemes.Family(_coords(n), _frozen(_moves(0.0, r, v)[None, :, None]), True, n),
        [_central_rows(r, v, 2)],
    )
    if first.size == 0:
        return diagonal, None
    return diagonal, _ladder(
        _schemes.Family(
            _frozen(np.stack([first, second], axis=1), np.int64),
            _mixed_moves(r, v),
            True,
            int(first.size),
        ),
        [_mixed_rows(r, v)],
    )


@functools.lru_cache(maxsize=32)
def _mixed_moves(r: int, v: float) -> np.ndarray:
    signs = [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)]
    return _frozen(np.array([[[a * v**-k, b * v**-k] for k in range(r) for a, b in signs]]))


@functools.lru_cache(maxsize=32)
def _mixed_rows(r: int, v: float):
    levels = np.zeros((r, 4 * r))
    for k in range(r):
        levels[k, 4 * k : 4 * k + 4] = np.array([1.0, -1.0, -1.0, 1.0]) * v ** (2 * k) / 4
    return _candidates(levels, [v ** (2 * j) for j in range(1, r)], 2, 2, v)


# --- the combination on the device ---------------------------------------------------------


def _ratio(xp, a, b):
    """|a / b| where it is finite and positive, else +inf (left out of the median)."""
    q = xp.abs(a / b)
    return xp.where(xp.isfinite(q) & (q > 0), q, math.inf)


def _median3(xp, e):
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


def _scales(xp, values, f0, weights, used, T, eps):
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
    finite = xp.isfinite(values)
    clean = xp.where(finite, values - f0, 0.0)
    touched = used @ xp.astype(~finite, values.dtype)
    d = xp.where(touched == 0, weights @ clean, math.nan)  # (m, g, 5, B), times T**k
    scale = xp.max(xp.where(finite, xp.abs(values), 0.0), axis=2, keepdims=True)
    scale = xp.maximum(scale, xp.abs(f0))  # (m, g, 1, B)
    amplification = xp.sum(xp.abs(weights), axis=-1, keepdims=True)  # (g, 5, 1)
    noise = (RESOLVED * eps) * scale * amplification
    d = xp.where(xp.abs(d) > noise, d, math.inf)  # lost in rounding: inf, left out below
    d1, d2, d3 = (d[:, :, k, :] / T ** (k + 1) for k in range(3))
    d1 = xp.where(xp.isnan(d1), d[:, :, 3, :] / T, d1)
    d2 = xp.where(xp.isnan(d2), d[:, :, 4, :] / T**2, d2)
    # |d1 / d2| is the distance to an extremum, not a length of change, where the
    # third derivative is lost in rounding (a quadratic): left out there
    first = xp.where(d3 == math.inf, math.inf, _ratio(xp, d1, d2))
    estimates = (first, _ratio(xp, d2, d3), xp.sqrt(_ratio(xp, d1, d3)))
    lam = _median3(xp, estimates)
    # no estimate, every value finite: no curvature to see up to T (inf, "long");
    # no estimate and values that are not finite: unknown (NaN)
    smooth = xp.all(finite, axis=2)
    return xp.where(xp.isnan(lam) & smooth, math.inf, lam)


def _shortest(xp, lam, axis: int):
    """The shortest lambda along ``axis``: finite ones first; else NaN if any, else inf."""
    finite = xp.isfinite(lam)
    shortest = xp.min(xp.where(finite, lam, math.inf), axis=axis)
    unknown = xp.any(xp.isnan(lam), axis=axis)
    return xp.where(xp.isfinite(shortest) | ~unknown, shortest, math.nan)  # else inf


def _select(xp, values, f0, ladder_arrays, divisor, eps):
    """Each component's best candidate: (value, error, order, step) of shape ``(m, g, B)``.

    Values that are not finite are set aside before the weighted sums, and
    every candidate that uses one of them is left out.
    """
    weights, error_w, noise_w, order, step, used, error2_w = ladder_arrays
    finite = xp.isfinite(values) & xp.isfinite(f0)
    dtype = values.dtype
    clean = xp.where(finite, values - f0, 0.0)
    touched = used @ xp.astype(~finite, dtype)  # candidates using a bad value: > 0
    estimate = (weights @ clean) / divisor
    truncation = xp.abs(error_w @ clean) / divisor
    # and from the estimate of the order below one level longer: two differences that
    # rarely vanish together by chance
    truncation = xp.maximum(truncation, xp.abs(error2_w @ clean) / divisor)
    scale = xp.max(xp.where(finite, xp.abs(values), 0.0), axis=2, keepdims=True)
    scale = xp.maximum(scale, xp.where(xp.isfinite(f0), xp.abs(f0), 0.0))
    noise = (eps * scale) * noise_w / divisor
    error = truncation + NOISE_WEIGHT * noise
    ok = (touched == 0) & xp.isfinite(estimate) & xp.isfinite(error)
    error = xp.where(ok, error, math.inf)
    best = xp.min(error, axis=2, keepdims=True)
    chosen = (error == best) & ok
    count = xp.sum(xp.astype(chosen, dtype), axis=2)
    some = count > 0
    share = xp.where(some, count, 1.0)

    def pick(a):
        return xp.sum(xp.where(chosen, a, 0.0), axis=2) / share

    value = xp.where(some, pick(estimate), math.nan)
    error = xp.where(some, best[:, :, 0, :], math.nan)
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


def _in_row_chunks(xp, fn, budget: int, rows: int, per_row: int, *arrays):
    """``fn(*arrays)`` over blocks of the outputs' axis 0, each block's work within budget/4.

    ``arrays`` whose axis 0 has length ``rows`` are sliced; others (length
    1, shared) are passed whole. Results (tuples of arrays) are joined along
    axis 0. Small problems take one block: the same operations as without.
    """
    step = max(1, budget // 4 // max(1, per_row))
    if step >= rows:
        return fn(*arrays)
    parts = []
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        parts.append(fn(*(a[r0:r1] if a.shape[0] == rows else a for a in arrays)))
    return tuple(xp.concat([p[k] for p in parts], axis=0) for k in range(len(parts[0])))


def _in_dtype(xp, values, dtype):
    """Values of x's floating dtype (a func may return integers: their derivative is 0)."""
    return values if values.dtype == dtype else xp.astype(values, dtype)


def held_bytes(xp, dtype, count: int) -> int:
    """Bytes held for a result of ``count`` numbers while the engine runs, which the memory
    budget counts (``kept_bytes``): once on NumPy (units written into one array), twice
    elsewhere (the units' parts and their join)."""
    return (1 if _backend.is_numpy_namespace(xp) else 2) * count * _itemsize(xp, dtype)


def work_budget(budget: int, kept: int) -> int:
    """What the selection's temporaries may take beside a kept result: the rest of the
    budget, but not under an eighth of it (a result that fills the budget still runs)."""
    return max(budget - kept, budget // 8, 1)


def _select_within(xp, values, f0, ladder_arrays, divisor, eps, budget, keep=4):
    """:func:`_select` in blocks of outputs whose temporaries fit the memory budget.

    Returns the first ``keep`` of (value, error, order, step).
    """
    values, f0 = _in_dtype(xp, values, divisor.dtype), _in_dtype(xp, f0, divisor.dtype)
    m, g, _, b = values.shape
    candidates = ladder_arrays[0].shape[-2]
    per_row = g * candidates * b * SELECTION_TEMPORARIES * _itemsize(xp, values.dtype)

    def select(v, f, d, *arrays):
        return _select(xp, v, f, arrays, d, eps)[:keep]

    arrays = _per_output(xp, ladder_arrays)
    return _in_row_chunks(xp, select, budget, m, per_row, values, f0, divisor, *arrays)


def _scales_within(xp, values, f0, weights, used, T, eps, budget):
    """:func:`_scales` in blocks of outputs whose temporaries fit the memory budget."""
    values, f0 = _in_dtype(xp, values, T.dtype), _in_dtype(xp, f0, T.dtype)
    m, g, _, b = values.shape
    per_row = g * weights.shape[-2] * b * SELECTION_TEMPORARIES * _itemsize(xp, values.dtype)

    def scales(v, f, t, w, u):
        return (_scales(xp, v, f, w, u, t, eps),)

    w, u = _per_output(xp, (weights, used))
    (lam,) = _in_row_chunks(xp, scales, budget, m, per_row, values, f0, T, w, u)
    return lam


def _per_output(xp, arrays):
    """Ladder arrays with a leading outputs' axis: ``(m, g, ...)`` per output (an
    elementwise function's per-coordinate rows) or ``(1, g, ...)`` shared, so that blocks
    of outputs slice them with the values."""
    return tuple(a if a.ndim == 4 else xp.expand_dims(a, axis=0) for a in arrays)


def _itemsize(xp, dtype) -> int:
    return xp.finfo(dtype).bits // 8


def _device_ladder(xp, ladder: Ladder, device, dtype):
    arrays = (
        ladder.weights,
        ladder.error,
        ladder.noise,
        ladder.order,
        ladder.step,
        ladder.used,
        ladder.error2,
    )
    return tuple(_backend.host_to_device(a, xp, device, dtype) for a in arrays)


def _slice_groups(arrays, groups, total, per_group_axis):
    """Per-group host arrays restricted to a unit's groups."""
    if groups == (0, total):
        return arrays
    return tuple(
        a if a.shape[per_group_axis] == 1 else _take_groups(a, groups, per_group_axis)
        for a in arrays
    )


def _take_groups(a, groups, axis):
    index = [slice(None)] * a.ndim
    index[axis] = slice(groups[0], groups[1])
    return a[tuple(index)]


def _pow2_floor(xp, h):
    """The largest power of two <= h: steps whose multiples are exact in x's dtype."""
    return 2.0 ** xp.floor(xp.log2(h))


#: the ladder's shortest step must move x by this many units in its last place
SHORTEST_STEP_ULPS = 2.0**10


def check_spread(settings, eps: float) -> None:
    """Refuse a ladder whose steps ``H .. H / v**(r-1)`` spread too far to keep digits.

    H is at most ``T = d max(|x|, 1)``; the shortest step must still move x by
    :data:`SHORTEST_STEP_ULPS` units in its last place, so ``v**(r-1)`` may not
    exceed ``d / (1024 eps)``. A ValueError names the setting and its limit.
    """
    d, r, v = settings.d, settings.r, settings.v
    limit = d / (SHORTEST_STEP_ULPS * eps)
    spread = math.exp((r - 1) * math.log(v))
    if spread <= limit:
        return
    v_max = limit ** (1.0 / (r - 1))
    r_max = 1 + int(math.log(limit) / math.log(v)) if limit > 1 else 1
    raise ValueError(
        f"method_args v={v:g} with r={r} spreads the adaptive ladder's steps over v**(r-1) = "
        f"{spread:.3g}, more than d / (1024 eps) = {limit:.3g} (d={d:g}, eps={eps:.3g}): its "
        f"shortest steps would not move x, and the estimate would keep no correct digit. "
        f"The largest v allowed with r={r} is {v_max:.4g}"
        + (f"; the largest r with v={v:g} is {r_max}." if r_max >= 2 else ".")
    )


def _step_constant(kind: str, eps: float, order: float) -> float:
    return STEP_CONSTANT[kind] * (eps / FLOAT64_EPS) ** (1.0 / (order + 1))


# --- first derivatives ---------------------------------------------------------------------


def _pilot(problem, f0, head, family, weights, used, x, elementwise):
    """Run the pilot; returns (lambda per coordinate ``hg``-shaped, T)."""
    xp, n, size = problem.xp, problem.n, problem.size
    d = problem.settings.d
    eps = _engine.machine_eps(xp, problem.dtype)
    size_x = xp.abs(x)
    T = _pow2_floor(xp, d * xp.where(size_x > 1.0, size_x, 1.0))  # like hg
    x4, xg = problem.base_points()
    w = _backend.host_to_device(weights, xp, problem.device, problem.dtype)
    u = _backend.host_to_device(used, xp, problem.device, problem.dtype)
    m = math.prod(head)
    f0r = xp.reshape(f0, (m, 1, 1, size))
    t_groups = xp.reshape(T, (n, 1, size) if elementwise else (1, n, size))

    def combine(index, groups, blocks, values):
        wg, ug, tg, fg = w, u, t_groups, f0r
        if groups != (0, family.groups) and not elementwise:
            wg = w if w.shape[0] == 1 else w[groups[0] : groups[1]]
            ug = u if u.shape[0] == 1 else u[groups[0] : groups[1]]
            tg = tg[:, groups[0] : groups[1], :]
        if blocks != (0, size):
            tg, fg = tg[..., blocks[0] : blocks[1]], fg[..., blocks[0] : blocks[1]]
        lam = _scales_within(xp, values, fg, wg, ug, tg, eps, work)  # (m, g, B)
        if elementwise:
            return xp.reshape(lam, (m, groups[1] - groups[0], 1, -1))
        # the coordinate's steps serve every output: the shortest scale among them (a
        # unit holds every output of its groups, so only (1, g, B) is kept)
        return xp.reshape(_shortest(xp, lam, 0), (1, groups[1] - groups[0], 1, -1))

    # the scales kept (arrays of x's size, such as T, are outside the budget, like x's copy)
    kept = held_bytes(xp, problem.dtype, n * size)
    work = work_budget(problem.budget, kept)
    with np.errstate(all="ignore"):
        (lam,) = _engine.run(problem, [family], head, combine, x4=x4, xg=xg, hg=T, kept_bytes=kept)
    return xp.reshape(lam, (n, 1, 1, size) if elementwise else (1, n, 1, size)), T


def _ladder_steps(xp, lam, T, x, constant, r, v, eps):
    """H from lambda: ``C lambda``, a power of two, in range.

    lambda inf (no curvature the pilot could see up to T, every value
    finite): T. NaN (values that are not finite): ``T / ratio``, or ``C |x|``
    if shorter, for functions that stop being finite near 0 (log, sqrt, 1/x)
    vary on the scale of ``|x|``.
    """
    fallback = xp.where(
        (xp.abs(x) > 0) & (constant * xp.abs(x) < T / pilot_ratio(eps)),
        constant * xp.abs(x),
        T / pilot_ratio(eps),
    )
    step = xp.where(xp.isfinite(lam), constant * lam, xp.where(xp.isnan(lam), fallback, T))
    # the pilot saw the function up to T and no farther: a longer step would trust a scale
    # it never observed (sin(x**2) near 0 looks like x**2 there)
    step = xp.where(step > T, T, step)
    # the shortest step must still move x: at least 2**10 units in its last place
    shortest = xp.abs(x) * (eps * SHORTEST_STEP_ULPS * v ** (r - 1))
    step = xp.where(step > shortest, step, shortest)
    huge = 2.0 ** (math.log2(float(xp.finfo(x.dtype).max)) // 1 - 8)
    step = xp.where(step > huge, huge, step)
    step = xp.where(xp.isfinite(step) & (step > 0), step, T)
    return _pow2_floor(xp, step)


def first_derivatives(problem, f0, head: tuple, elementwise: bool) -> dict:
    """The adaptive first derivatives: ``{"value", "error", "order", "step", "steps"}``.

    Shapes ``(m, g, size)`` as in ``_function.first_derivatives``; "steps"
    is the ladder's base step H, shaped like x's layout for the points.
    """
    xp, settings = problem.xp, problem.settings
    n, size = problem.n, problem.size
    eps = _engine.machine_eps(xp, problem.dtype)
    check_spread(settings, eps)
    x4, xg = problem.base_points()
    x = x4 if elementwise else xg
    family, pilot_weights, pilot_used = pilot_scheme(
        n, problem.sides, elementwise, pilot_ratio(eps)
    )
    lam, T = _pilot(problem, f0, head, family, pilot_weights, pilot_used, x, elementwise)
    ladder = first_ladder(n, problem.sides, settings.r, settings.v, elementwise)
    kind = "one-sided" if problem.one_sided else "central"
    top = float(np.max(ladder.order))
    H = _ladder_steps(xp, lam, T, x, _step_constant(kind, eps, top), settings.r, settings.v, eps)
    del lam, T  # arrays of x's size: not held while the ladder runs
    arrays = _device_ladder(xp, ladder, problem.device, problem.dtype)
    m = math.prod(head)
    f0r = xp.reshape(f0, (m, 1, 1, size))
    h_groups = xp.reshape(H, (n, 1, 1, size) if elementwise else (1, n, 1, size))
    total = ladder.family.groups

    def combine(index, groups, blocks, values):
        a, hgr, fg = arrays, h_groups, f0r
        if not elementwise:
            a = _slice_groups(a, groups, total, 0)
            if groups != (0, total):
                hgr = hgr[:, groups[0] : groups[1], ...]
        if blocks != (0, size):
            hgr, fg = hgr[..., blocks[0] : blocks[1]], fg[..., blocks[0] : blocks[1]]
        out = _select_within(xp, values, fg, a, hgr, eps, work, keep)
        return xp.stack(out, axis=2)  # (m, g, keep, B)

    # value, error, order, step per component, or the value alone
    keep = 4 if problem.full_output else 1
    kept = held_bytes(xp, problem.dtype, keep * m * total * size)
    work = work_budget(problem.budget, kept)
    with np.errstate(all="ignore"):
        (rows,) = _engine.run(
            problem, [ladder.family], head, combine, x4=x4, xg=xg, hg=H, kept_bytes=kept
        )
    out = {"value": rows[:, :, 0, :], "error": None, "order": None, "step": None, "steps": H}
    if keep == 4:
        hs = xp.reshape(H, (n, 1, size) if elementwise else (1, n, size))
        out.update(error=rows[:, :, 1, :], order=rows[:, :, 2, :], step=rows[:, :, 3, :] * hs)
    return out


# --- the Hessian ---------------------------------------------------------------------------


def hessian_values(problem, f0, head, first: np.ndarray, second: np.ndarray) -> dict:
    """The adaptive Hessian's values: the n diagonal entries, then one per pair.

    Returns ``{"rows": (n + pairs, 4, size)`` (value, error, order, step in
    units of H), ``"steps": H}``; the pairs are ``(first[p], second[p])``.
    """
    xp, settings = problem.xp, problem.settings
    n, size = problem.n, problem.size
    eps = _engine.machine_eps(xp, problem.dtype)
    check_spread(settings, eps)
    x4, xg = problem.base_points()
    sides = (math.nan,) * n
    family, pilot_weights, pilot_used = pilot_scheme(n, sides, False, pilot_ratio(eps))
    lam, T = _pilot(problem, f0, head, family, pilot_weights, pilot_used, xg, False)
    diagonal, mixed = second_ladders(n, settings.r, settings.v, first, second)
    top = float(np.max(diagonal.order))
    H = _ladder_steps(
        xp, lam, T, xg, _step_constant("second", eps, top + 1), settings.r, settings.v, eps
    )  # a second derivative's rounding error grows like 1 / h**2: one order more
    h = xp.reshape(H, (1, n, 1, size))
    f0r = xp.reshape(f0, (1, 1, 1, size))
    families = [diagonal.family] + ([mixed.family] if mixed is not None else [])
    arrays = [_device_ladder(xp, diagonal, problem.device, problem.dtype)]
    divisors = [h * h]
    if mixed is not None:
        i = _backend.host_to_device(first, xp, problem.device)
        j = _backend.host_to_device(second, xp, problem.device)
        arrays.append(_device_ladder(xp, mixed, problem.device, problem.dtype))
        divisors.append(xp.take(h, i, axis=1) * xp.take(h, j, axis=1))

    def combine(index, groups, blocks, values):
        a, div, fg = arrays[index], divisors[index], f0r
        total = families[index].groups
        a = _slice_groups(a, groups, total, 0)
        if groups != (0, total):
            div = div[:, groups[0] : groups[1], ...]
        if blocks != (0, size):
            div, fg = div[..., blocks[0] : blocks[1]], fg[..., blocks[0] : blocks[1]]
        return xp.stack(_select_within(xp, values, fg, a, div, eps, problem.budget), axis=2)

    with np.errstate(all="ignore"):
        results = _engine.run(problem, families, head, combine, x4=x4, xg=xg, hg=H)
    rows = xp.concat([r[0, ...] for r in results], axis=0)  # (n + pairs, 4, size)
    return {"rows": rows, "steps": H}


def hessian(problem, f0, head) -> dict:
    """The adaptive Hessian ``{"H", "error", "order", "step", "steps"}``, ``(n*n, size)``."""
    xp, n, size = problem.xp, problem.n, problem.size
    first, second = all_pairs(n)
    out = hessian_values(problem, f0, head, first, second)
    # the full matrix from the diagonal (n) and the pairs (i < j), by index
    index = np.zeros((n, n), dtype=np.int64)
    index[np.arange(n), np.arange(n)] = np.arange(n)
    index[first, second] = index[second, first] = n + np.arange(first.size)
    flat = _backend.host_to_device(index.reshape(-1), xp, problem.device)
    matrix = xp.take(out["rows"], flat, axis=0)  # (n*n, 4, size)
    H = out["steps"]
    scale = xp.take(
        xp.reshape(H, (n, size)),
        _backend.host_to_device(np.repeat(np.arange(n), n), xp, problem.device),
        axis=0,
    )
    return {
        "H": matrix[:, 0, :],
        "error": matrix[:, 1, :],
        "order": matrix[:, 2, :],
        "step": matrix[:, 3, :] * scale,
        "steps": H,
    }


# --- sparse Jacobians ----------------------------------------------------------------------


def _per_group(pattern, arrays):
    """Per-coordinate host rows ``(n, 1, ...)`` as those of each group's first column."""
    _, first = np.unique(pattern.groups, return_index=True)
    return tuple(np.ascontiguousarray(a[first, 0]) for a in arrays)


def sparse_first_derivatives(problem, f0, head: tuple, pattern):
    """The adaptive method on a sparse pattern's column groups: ``(value, error)``, ``(m, G)``.

    The pilot and the ladder move each group's columns together (their
    points are those of an elementwise function, masked per group). Row i
    sees group g through one column j only, so the pilot's lambda of row i
    and group g is column j's; each group takes the shortest lambda among
    its rows, relative to ``max(|x_j|, 1)``, and each column its own step
    from it. Every compressed value is divided by its column's step.
    """
    from . import sparse as _sparse

    xp, settings, device = problem.xp, problem.settings, problem.device
    n, m = problem.n, math.prod(head)
    eps = _engine.machine_eps(xp, problem.dtype)
    check_spread(settings, eps)
    x4, xg = problem.base_points()
    groups, count = pattern.groups, pattern.count
    f0r = xp.reshape(f0, (m, 1, 1, 1))
    x = xp.reshape(problem.x, (n,))
    size_x = xp.abs(x)
    scale = xp.where(size_x > 1.0, size_x, 1.0)  # (n,)
    T = _pow2_floor(xp, settings.d * scale)

    # the pilot
    family, weights, used = pilot_scheme(n, problem.sides, True, pilot_ratio(eps))
    if weights.ndim == 4:
        weights, used = _per_group(pattern, (weights, used))
    family = _schemes.Family(None, family.multipliers, True, count, masks=pattern.masks)
    w = _backend.host_to_device(weights, xp, device, problem.dtype)
    u = _backend.host_to_device(used, xp, device, problem.dtype)
    t_entries = _sparse.entries_steps(xp, device, pattern, T)  # (m, G)
    s_entries = _sparse.entries_steps(xp, device, pattern, scale, math.nan)

    def pilot(index, grp, blocks, values):
        wg = w if w.shape[0] == 1 else w[grp[0] : grp[1]]
        ug = u if u.shape[0] == 1 else u[grp[0] : grp[1]]
        tg = t_entries[:, grp[0] : grp[1], None]
        lam = _scales_within(xp, values, f0r, wg, ug, tg, eps, problem.budget)  # (m, g, 1)
        return xp.reshape(lam, (m, grp[1] - grp[0], 1, 1))

    with np.errstate(all="ignore"):
        (lam,) = _engine.run(
            problem, [family], head, pilot, x4=x4, xg=xg, hg=xp.reshape(T, (n, 1, 1, 1))
        )
        relative = _shortest(xp, lam[:, :, 0, 0] / s_entries, 0)  # (G,)
    per_column = xp.take(relative, _backend.host_to_device(groups, xp, device), axis=0) * scale

    # the ladder
    ladder = first_ladder(n, problem.sides, settings.r, settings.v, True)
    arrays = (
        ladder.weights,
        ladder.error,
        ladder.noise,
        ladder.order,
        ladder.step,
        ladder.used,
        ladder.error2,
    )
    if ladder.weights.ndim == 4:
        arrays = _per_group(pattern, arrays)
    kind = "one-sided" if problem.one_sided else "central"
    constant = _step_constant(kind, eps, float(np.max(ladder.order)))
    H = _ladder_steps(xp, per_column, T, x, constant, settings.r, settings.v, eps)  # (n,)
    family = _schemes.Family(None, ladder.family.multipliers, True, count, masks=pattern.masks)
    device_arrays = tuple(_backend.host_to_device(a, xp, device, problem.dtype) for a in arrays)
    h_entries = _sparse.entries_steps(xp, device, pattern, H)  # (m, G)

    def combine(index, grp, blocks, values):
        a = tuple(t if t.shape[0] == 1 else t[grp[0] : grp[1]] for t in device_arrays)
        divisor = h_entries[:, grp[0] : grp[1], None, None]
        return xp.stack(_select_within(xp, values, f0r, a, divisor, eps, problem.budget), axis=2)

    with np.errstate(all="ignore"):
        (rows,) = _engine.run(
            problem, [family], head, combine, x4=x4, xg=xg, hg=xp.reshape(H, (n, 1, 1, 1))
        )
    return rows[:, :, 0, 0], rows[:, :, 1, 0]
