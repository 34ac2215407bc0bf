"""Function mode, ``derivative`` of order n >= 2 with method "adaptive": pilot and ladder.

Two calls after the one at x: the pilot (``derivative_schemes.pilot_scheme``:
four points per element, whose lengths ``derivative_pilot`` measures by
``adaptive.selection``'s rules) sets each element's first step H; the
ladder (``derivative_schemes.ladder_scheme``: the central stencil at steps
``H / v**k``, each distinct point once) gives Richardson's table, from
which each element keeps the candidate of smallest estimated error. Array
operations over the elements (on NumPy in blocks that stay in cache), no
loop over elements and no transfer to the host: it runs lazily on Dask and
under ``jax.jit``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _host
from .._host import pow2_floor
from .._validation import shown_limit
from . import engine as _engine
from .adaptive.derivatives import SHORTEST_STEP_ULPS
from .adaptive.ladders import pilot_ratio
from .adaptive.ladders import pilot_scheme as grad_pilot_scheme
from .adaptive.selection import UNRESOLVED
from .derivative_pilot import pilot_lengths
from .derivative_schemes import ADAPTIVE_DEFAULTS, LadderScheme, ladder_scheme, pilot_scheme
from .layout import unit_slice
from .settings import NOISE_LIMIT, relative_noise

__all__ = [
    "ADAPTIVE_COLUMNS",
    "NOISE_WEIGHT",
    "check_noise",
    "choose",
    "element_steps",
    "ladder_derivative",
]

#: the highest Richardson column kept as a candidate
ADAPTIVE_COLUMNS = 3
#: the share of the rounding estimate counted in a candidate's error
NOISE_WEIGHT = 0.5
#: elements per block of the pilot's and the ladder's work on the host (NumPy): their few
#: dozen temporaries of a block stay in cache, and the allocator reuses their memory
HOST_BLOCK = 2**14
#: numbers per element that the ladder's choice holds at once (levels, differences,
#: entries, best so far): a block's share of the memory budget
TEMPORARIES = 48


def check_noise(ladder: dict, order: int, eps: float) -> None:
    """Refuse a caller's ``d`` whose ladder keeps only rounding noise (``ladder``: d, r, v).

    The least noisy candidate's rounding, ``eps A / d**order`` relative to
    the derivative of a function that varies on the scale of x (``A`` its
    weights' amplification per ``H**order``, H at most ``d max(|x|, 1)``), may
    exceed neither :data:`settings.NOISE_LIMIT` nor the default d's (float32's
    high orders keep less than 3 digits at the default): Richardson's rule
    (``settings.check_noise``). A ValueError names d and the smallest d allowed.
    """
    d = ladder["d"]
    least = float(np.min(ladder_scheme(order, ladder["r"], ladder["v"], ADAPTIVE_COLUMNS).noise))

    def noise(d: float) -> float:
        return relative_noise(eps * least, d, order)

    limit = max(NOISE_LIMIT, noise(ADAPTIVE_DEFAULTS["d"]))
    if noise(d) <= limit:
        return
    d_min = (eps * least / limit) ** (1.0 / order)
    raise ValueError(
        f"method_args d={d:g} leaves only rounding noise (derivative of order {order}, method "
        f"'adaptive', r={ladder['r']}, v={ladder['v']:g}, for a dtype of machine epsilon "
        f"{eps:.3g}): the estimate would keep fewer than 3 correct digits (noise "
        f"{noise(d):.2g} > {limit:.2g} of the derivative). The smallest d allowed here is "
        f"{shown_limit(d_min, up=True)}."
    )


def _first_steps(
    xp: Any, lam: Any, x: Any, t: Any, seen: tuple, p: int, ladder: dict, eps: float
) -> Any:
    """H from lambda and x (any shape alike): ``d max(|x|, 1)``, no longer than lambda,
    ``|x| / 2p`` where lambda is unknown near 0; where a pilot value was not finite
    (``seen``: the near pair finite, all four), the ladder's second shortest level
    reaches no farther than the near pair ``T / ratio`` (func is finite there: two
    levels at least, a candidate), its longest no farther than ``T / 1024`` where the
    near pair was not finite; not shorter than the shortest step that still moves x; a
    power of two."""
    near_pair, all_four = seen
    ratio = pilot_ratio(eps)
    magnitude = xp.abs(x)
    step = ladder["d"] * xp.where(magnitude > 1.0, magnitude, 1.0)
    near = xp.isnan(lam) & (magnitude > 0) & (magnitude < 2 * p * step)
    step = xp.where(lam < step, lam, xp.where(near, magnitude / (2 * p), step))
    # an edge of func's domain or of its range away from 0 (arcsin at 0.9999, exp at
    # +-700): the longest steps d |x| or |x| / 2p met it at every level, NaN
    # (the shortest level alone within it: NaN where the edge lies within twice the near
    # pair's offset; the third shortest: n = 5, 6 lost 1.5 digits more where the edge is
    # farther, a NaN cutoff 0.1 from x; tests/test_derivative.py)
    second_shortest = ladder["v"] ** (ladder["r"] - 2)

    def capped(step: Any, t: Any, near_pair: Any) -> Any:
        reach = xp.where(near_pair, (t / ratio) * second_shortest, t / 1024) / p
        return xp.where(reach < step, reach, step)

    # on NumPy where a pilot value was not finite alone (few elements, if any)
    step = _host.where_computed(xp, ~all_four, capped, (step, t, near_pair), step)
    shortest = magnitude * (eps * SHORTEST_STEP_ULPS * ladder["v"] ** (ladder["r"] - 1))
    step = xp.where(step > shortest, step, shortest)
    step = xp.where(xp.isfinite(step) & (step > 0), step, ladder["d"])
    return pow2_floor(xp, step)  # every point exact in x's dtype


def element_steps(problem: Any, f0: Any, head: tuple, p: int, ladder: dict) -> tuple[Any, Any]:
    """Each element's first step H, ``(1, 1, 1, size)``: a power of two; and whether
    the pilot's values were all finite (bool, the same shape).

    ``d max(|x|, 1)`` (``ladder``'s d, r, v; the stencil reaches ``p`` steps
    from x), but no longer than the length lambda over which func changes,
    from one pilot call of four points (``derivative_pilot.pilot_lengths``;
    ``T = d max(|x|, 1)`` a power of two, grad's "adaptive" d): a ladder of
    fixed multiples of ``max(|x|, 1)`` aliases a function that varies faster
    (``sin(100 x)``) or crosses a pole near x, and its candidates then agree
    with each other on a wrong value. Where the pilot met values that are not
    finite (log, sqrt, 1/x near 0) the farthest points stay within ``|x| /
    2`` of x; the shortest step must still move x.
    """
    xp, size = problem.xp, problem.size
    eps = _engine.machine_eps(xp, problem.dtype)
    ratio = pilot_ratio(eps)
    family, weights, _ = pilot_scheme(ratio)
    _, one_sided, _ = grad_pilot_scheme(1, (math.nan,), False, ratio)
    rows, rows1 = weights[0, :5, :].tolist(), one_sided[0, :3, :].tolist()
    x4, xg = problem.base_points()
    width = block_width(problem.budget)
    size_x = xp.abs(xg)
    T = pow2_floor(xp, problem.settings.d * xp.where(size_x > 1.0, size_x, 1.0))

    def combine(index: int, groups: tuple, blocks: tuple, values: Any) -> Any:
        t, f, x = (
            unit_slice(xp.reshape(a, (1, 1, 1, size)), blocks, size, -1) for a in (T, f0, x4)
        )
        return _host.in_host_blocks(xp, block, width, values, f, t, x)[0]

    def block(values: Any, f: Any, t: Any, x: Any) -> tuple[Any]:
        scale = _host.huge_scale(xp, f)  # as choose's: the derivatives' sums overflowed
        if scale is not None:
            values, f = values / scale, f / scale
        lam = pilot_lengths(xp, values, f, t, rows, rows1, eps, ratio)
        finite = xp.isfinite(values)  # (1, 1, 4, B)
        near_pair = finite[:, :, 0:1, :] & finite[:, :, 1:2, :]
        seen = (near_pair, xp.all(finite, axis=2, keepdims=True))
        step = _first_steps(xp, lam, x, t, seen, p, ladder, eps)
        return (xp.concat([step, xp.astype(seen[1], step.dtype)], axis=2),)

    with np.errstate(all="ignore"):
        (rows,) = _engine.run(problem, [family], head, combine, x4=x4, xg=xg, hg=T)
    rows = xp.reshape(rows, (1, 1, 2, size))
    return rows[:, :, 0:1, :], rows[:, :, 1:2, :] > 0.0


def _levels(xp: Any, values: Any, f: Any, scheme: LadderScheme) -> list:
    """The ladder's level estimates (per ``H**order``), ``(1, 1, 1, B)`` each.

    Level k is ``sum_i w_ki S_i`` over its pairs of points (``LadderScheme``):
    a value that is not finite makes its level not finite, and with it every
    candidate that uses it.
    """

    def pair(a: int, b: int) -> Any:
        plus, minus = values[:, :, a : a + 1, :], values[:, :, b : b + 1, :]
        return plus - minus if scheme.odd else (plus - f) + (minus - f)

    sums = [pair(a, b) for a, b in scheme.pairs]
    levels = []
    for numbers, weights in zip(scheme.level_pairs, scheme.level_weights, strict=True):
        level = sums[numbers[0]] * weights[0]
        for i, w in zip(numbers[1:], weights[1:], strict=True):
            level = level + sums[i] * w
        levels.append(level)
    return levels


def _magnitude(xp: Any, values: Any, f: Any, scheme: LadderScheme) -> Any:
    """``max |F|`` over f and the finite values of the longest level, for the rounding
    estimate (shorter levels' values lie between those and f for smooth functions)."""
    magnitude = xp.abs(f)
    for c in (c for i in scheme.level_pairs[0] for c in scheme.pairs[i]):
        size = xp.abs(values[:, :, c : c + 1, :])  # its own: NaN and inf written over
        magnitude = xp.maximum(magnitude, _host.where_into(xp, ~(size < math.inf), 0.0, size))
    return magnitude


def _choose_block(
    xp: Any, values: Any, f: Any, scheme: LadderScheme, v: float, eps: float, full: bool
) -> tuple[Any, ...]:
    """:func:`choose` on one block of elements: ``(value, rank[, error, order, step,
    unresolved])``, the error per ``H**order`` as the value is.

    The candidates come column by column of Richardson's table: entry (j, k)
    is ``T[j-1, k] + u`` with ``u = (T[j-1, k] - T[j-1, k-1]) / (v**(2j) - 1)``,
    ranked by ``|u|`` plus its rounding estimate (for j = 0, level k's
    difference from level k - 1). A candidate that uses a value that is not
    finite, in its estimate, its rank or (j = 0) the level k - 2 its error is
    checked against, has a NaN or infinite rank and is never kept (a
    comparison with NaN is false; its error would be NaN). With ``full``, the kept
    candidate's error is estimated as :func:`grad`'s "adaptive" does
    (``adaptive.selection``): the larger of that difference and the one from
    the estimate of the order below one level longer (``T[j-1, k-1]``; for j
    = 0, level k - 2), two differences that rarely vanish together by chance,
    plus the rounding estimate. ``unresolved`` where that truncation exceeds
    ``UNRESOLVED`` of the value and the rounding estimate (a pole or a jump
    within the steps: no digit to trust; also a derivative near 0 beside an
    estimate above rounding; not an exact zero whose candidates differ by
    rounding alone): :func:`choose` makes that error inf. (The first
    difference alone is small by chance where the steps straddle a
    singularity: log|x| near 0 kept an error of 0.7 times a value wrong by
    1e9 times.)
    """
    column = _levels(xp, values, f, scheme)
    # every value enters a level: a sum of them that is not finite (NaN, inf, or an
    # overflow) marks the elements whose ladder met a value that is not finite
    total = column[0]
    for level in column[1:]:
        total = total + level
    finite = xp.isfinite(total)
    noise = _magnitude(xp, values, f, scheme) * (NOISE_WEIGHT * eps)
    amplification = scheme.noise[:, 0].tolist()
    orders, steps = scheme.order_of[:, 0].tolist(), scheme.step[:, 0].tolist()
    best = xp.full_like(f, math.inf)
    value = xp.full_like(f, math.nan)
    kept: list[Any] = [xp.full_like(f, math.nan) for _ in range(4)] if full else []
    count = 0

    def keep(estimate: Any, first: Any, below: Any) -> None:
        """Candidate ``count``: its estimate, ``|u|`` and the order below one level longer."""
        nonlocal best, value, count
        rounding = noise * amplification[count]
        rank = first + rounding
        better = rank < best
        # into this block's own arrays where the library allows (NumPy): twice as fast
        value = _host.where_into(xp, better, estimate, value)
        best = _host.minimum_into(xp, best, rank)  # ranks are never -0.0 nor kept NaN
        if full:
            truncation = xp.maximum(first, xp.abs(estimate - below))
            for i, a in enumerate((truncation, rounding, orders[count], steps[count])):
                kept[i] = _host.where_into(xp, better, a, kept[i])
        count += 1

    change = [column[k] - column[k - 1] for k in range(1, len(column))]
    for k in range(1, len(column)):
        first = xp.abs(change[k - 1])
        if k >= 2:  # a level checked against a level not finite is left out (NaN), as grad's
            first = first + column[k - 2] * 0.0  # "adaptive" leaves out its candidates
        keep(column[k], first, column[k - 2] if k >= 2 else column[0])
    for j in range(1, min(ADAPTIVE_COLUMNS, len(column) - 1) + 1):
        share = 1.0 / (v ** (2 * j) - 1.0)
        entries = []
        for k in range(j, len(column)):
            step_up = change[k - 1] * share  # the entry's difference from T[j-1, k]
            entry = column[k] + step_up
            keep(entry, xp.abs(step_up), column[k - 1])
            entries.append(entry)
        if j < ADAPTIVE_COLUMNS:  # the next column's differences
            change = [None] * j + [entries[i] - entries[i - 1] for i in range(1, len(entries))]
            column = [None] * j + entries
    if not full:
        return value, best, finite
    truncation, rounding, order, step = kept
    with np.errstate(invalid="ignore"):
        # no digit: the truncation beyond a tenth of the value and beyond rounding (an
        # exact zero whose candidates differ by rounding alone keeps its error bar)
        unresolved = (truncation > UNRESOLVED * xp.abs(value)) & (truncation > rounding)
    return value, best, finite, truncation + rounding, order, step, unresolved


def block_width(budget: int) -> int:
    """Elements per host block: :data:`HOST_BLOCK`, or fewer whose :data:`TEMPORARIES`
    take at most a quarter of the memory ``budget`` (at least 256)."""
    return max(256, min(HOST_BLOCK, budget // (4 * 8 * TEMPORARIES)))


def choose(
    xp: Any,
    values: Any,
    f: Any,
    h: Any,
    order: int,
    scheme: LadderScheme,
    v: float,
    eps: float,
    full: bool,
    width: int = HOST_BLOCK,
    near: tuple = (),
) -> Any:
    """Each element's best candidate of the ladder: rows ``(1, 1, 2 or 4, B)``.

    ``values`` ``(1, 1, L, B)``: func at the scheme's points, ``f`` and the
    first steps ``h`` ``(1, 1, 1, B)``. Rows: the value and its error
    estimate, and with ``full`` the candidate's order of accuracy and largest
    step. An element keeps the first candidate of smallest rank (in
    ``ladder_scheme``'s order), NaN in all four where none has a finite one;
    and where its ladder met a value that is not finite, or its pilot did
    (``near``: ``seen``, whether the pilot's values were all finite, and
    ``reach``, ``(H / max(|x|, 1))**order``, each ``(1, 1, 1, B)``), where
    that rank exceeds ``UNRESOLVED`` of the larger of the value and func's
    variation times ``reach`` (a derivative of func's variation over the
    scale ``max(|x|, 1)``). In blocks of ``width`` elements on NumPy
    (``_host.in_host_blocks``).
    """

    def variation(f: Any, *rows: Any) -> Any:
        """The largest ``|v - f|`` of the finite values v among ``rows``, else 0."""
        out = xp.zeros_like(f)
        for v in rows:
            size = xp.abs(v - f)
            out = xp.where(size < math.inf, xp.maximum(out, size), out)
        return out

    def block(values: Any, f: Any, h: Any, *near: Any) -> tuple[Any]:
        # values near float's largest (exp at 700: 1e304) over f's power of two, exactly:
        # the levels' weighted sums (up to 16**7 times a value for n = 4) overflowed
        scale = _host.huge_scale(xp, f)
        if scale is not None:
            values, f = values / scale, f / scale
        chosen = _choose_block(xp, values, f, scheme, v, eps, full)
        value, rank, finite = chosen[:3]
        # h**order in two divisions: h is a power of two, so each is exact, and h**order
        # may underflow where the result does not (sqrt's 2nd derivative at 1e-200 was -inf)
        first, second = h ** (order // 2), h ** (order - order // 2)
        # a candidate was kept; where the ladder met a value that is not finite (a hole or
        # an edge of func's domain among its points, or beside the pilot's: the steps then
        # shrink), only a resolved one, its rank at most UNRESOLVED of the larger of its
        # value and func's variation over max(|x|, 1) (``near``): the survivors
        # of short steps for n >= 3 were rounding noise (n = 5 next to a NaN 1e-3 away
        # gave 5504 for -0.14, its error 6e4), never a finite wrong number; a derivative
        # near 0 (arcsin's 6th at 0) is resolved against func's variation
        some = rank < math.inf
        if near:
            seen, reach = near
            clean = finite & seen
            # func's variation: its finite values on the ladder less f (the longest
            # level's may all have met the edge; a constant added to func, 1e8 + cos,
            # let noise through where its size was the yardstick), where something was
            # not finite alone
            rows = [values[:, :, j : j + 1, :] for j in range(values.shape[2])]
            size = _host.where_computed(xp, ~clean, variation, (f, *rows), xp.zeros_like(f))
            yard = xp.maximum(xp.abs(value), size * reach)
            some = some & (clean | (rank <= UNRESOLVED * yard))
        error = chosen[3] if full else rank
        error = xp.where(some, (error / first) / second, math.nan)
        if full:  # inf after the division: h**n may overflow (inf / inf is NaN)
            error = xp.where(chosen[6] & some, math.inf, error)
        # + 0.0: a zero derivative is +0
        parts = [xp.where(some, ((value + 0.0) / first) / second, math.nan), error]
        if scale is not None:
            parts = [parts[0] * scale, parts[1] * scale]
        if full:
            parts += [xp.where(some, chosen[4], math.nan), xp.where(some, chosen[5] * h, math.nan)]
        return (xp.concat(parts, axis=2),)

    return _host.in_host_blocks(xp, block, width, values, f, h, *near)[0]


def ladder_derivative(
    problem: _engine.Problem, f0: Any, head: tuple, order: int, ladder: dict
) -> dict:
    """n >= 2, "adaptive": the ladder's best entry per element, after the pilot.

    Returns the value, its error estimate and the first steps H, ``(1, 1,
    size)`` each, and with full_output the chosen candidate's order and step.
    """
    xp, n, size, dtype = problem.xp, problem.n, problem.size, problem.dtype
    scheme = ladder_scheme(order, ladder["r"], ladder["v"], ADAPTIVE_COLUMNS)
    eps = _engine.machine_eps(xp, dtype)
    x4, xg = problem.base_points()
    width = block_width(problem.budget)
    H, seen = element_steps(problem, f0, head, (order + 1) // 2, ladder)
    full = problem.full_output
    f0r = xp.reshape(f0, (n, 1, 1, size))
    # the first step over the scale on which func is taken to vary, max(|x|, 1), to the
    # order's power: func's variation times reach is a derivative over that scale
    size_x = xp.reshape(xp.abs(xg), (1, 1, 1, size))
    reach = (H / xp.where(size_x > 1.0, size_x, 1.0)) ** order

    def combine(index: int, groups: tuple, blocks: tuple, values: Any) -> Any:
        h, f, s, r = (unit_slice(a, blocks, size, -1) for a in (H, f0r, seen, reach))
        return choose(xp, values, f, h, order, scheme, ladder["v"], eps, full, width, (s, r))

    with np.errstate(all="ignore"):
        (rows,) = _engine.run(problem, [scheme.family], head, combine, x4=x4, xg=xg, hg=H)
    out = {"value": rows[:, :, 0, :], "error": rows[:, :, 1, :], "steps": H}
    if full:
        out["order"], out["step"] = rows[:, :, 2, :], rows[:, :, 3, :]
    return out
