"""method="adaptive": the three calls of first derivatives, Hessians and sparse Jacobians.

f at x, the pilot (:func:`pilot_lengths`), the ladder: each run through the
engine (``engine.run``) like every other method's points, so the memory
budget, ``max_batch`` and ``workers`` apply unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import _backend
from ..._host import pow2_floor
from ..._validation import shown_limit
from .. import engine as _engine
from .. import layout as _layout
from .. import schemes as _schemes
from .ladders import all_pairs, first_ladder, pilot_ratio, pilot_scheme, second_ladders
from .selection import (
    device_ladder,
    held_bytes,
    scales_within,
    select_within,
    shortest_scale,
    work_budget,
)

__all__ = [
    "adaptive_first_derivatives",
    "adaptive_hessian",
    "adaptive_hessian_values",
    "adaptive_sparse_first_derivatives",
    "check_spread",
]

#: benchmarks/bench_adaptive.py (central, one-sided, second derivatives); other dtypes
#: scale it by (eps / eps64) ** (1 / (p + 1)), p the ladder's highest order, which keeps
#: truncation and rounding errors in the same balance
STEP_CONSTANT = {"central": 0.05, "one-sided": 0.4, "second": 0.5}
FLOAT64_EPS = 2.220446049250313e-16
#: the ladder's estimate keeps this share of its rounding estimate in its error


#: the ladder's shortest step must move x by this many units in its last place
SHORTEST_STEP_ULPS = 2.0**10


def check_spread(settings: Any, eps: float) -> None:
    """Refuse a ladder whose steps ``H .. H / v**(r-1)`` spread too far to keep digits.

    H is at most ``T = d max(|x|, 1)``; the shortest step must still move x by
    :data:`SHORTEST_STEP_ULPS` units in its last place, so ``v**(r-1)`` may not
    exceed ``d / (1024 eps)``. A ValueError names the setting and its limit.
    """
    d, r, v = settings.d, settings.r, settings.v
    limit = d / (SHORTEST_STEP_ULPS * eps)
    exponent = (r - 1) * math.log(v)
    spread = math.exp(exponent) if exponent < 709.0 else math.inf  # v = 1e200: inf
    if spread <= limit:
        return
    v_max = limit ** (1.0 / (r - 1))
    r_max = 1 + int(math.log(limit) / math.log(v)) if limit > 1 else 1
    what = (
        f"method_args v={v:g} with r={r} spreads the adaptive ladder's steps over v**(r-1) = "
        f"{spread:.3g}, more than d / (1024 eps) = {limit:.3g} (d={d:g}, eps={eps:.3g}): its "
        f"shortest steps would not move x, and the estimate would keep no correct digit. "
    )
    if v_max >= 1.5:
        what += f"The largest v allowed with r={r} is {shown_limit(v_max, up=False, digits=4)}"
    else:  # no v allowed (1.5 at least) fits: a longer d
        d_min = 1.5 ** (r - 1) * SHORTEST_STEP_ULPS * eps
        smallest = shown_limit(d_min, up=True)
        what += f"No v >= 1.5 fits with r={r}: the smallest d allowed with v=1.5 is {smallest}"
    raise ValueError(what + (f"; the largest r with v={v:g} is {r_max}." if r_max >= 2 else "."))


def _step_constant(kind: str, eps: float, order: float) -> float:
    return STEP_CONSTANT[kind] * (eps / FLOAT64_EPS) ** (1.0 / (order + 1))


# --- first derivatives ---------------------------------------------------------------------


def pilot_lengths(
    problem: Any,
    f0: Any,
    head: Any,
    family: Any,
    weights: Any,
    used: Any,
    x: Any,
    elementwise: Any,
) -> Any:
    """Run the pilot; returns (lambda per coordinate ``hg``-shaped, T)."""
    xp, n, size = problem.xp, problem.n, problem.size
    d = problem.settings.d
    eps = _engine.machine_eps(xp, problem.dtype)
    size_x = xp.abs(x)
    T = pow2_floor(xp, d * xp.where(size_x > 1.0, size_x, 1.0))  # like hg
    x4, xg = problem.base_points()
    w = _backend.host_to_device(weights, xp, problem.device, problem.dtype)
    u = _backend.host_to_device(used, xp, problem.device, problem.dtype)
    m = math.prod(head)
    f0r = xp.reshape(f0, (m, 1, 1, size))
    t_groups = xp.reshape(T, (n, 1, size) if elementwise else (1, n, size))

    def combine(index: Any, groups: Any, blocks: Any, values: Any) -> Any:
        wg, ug = (_layout.unit_slice(a, groups, family.groups, 0) for a in (w, u))
        tg = _layout.unit_slice(
            _layout.unit_slice(t_groups, groups, family.groups, 1), blocks, size, -1
        )
        fg = _layout.unit_slice(f0r, blocks, size, -1)
        lam = scales_within(xp, values, fg, wg, ug, tg, eps, work)  # (m, g, B)
        if elementwise:
            return xp.reshape(lam, (m, groups[1] - groups[0], 1, -1))
        # the coordinate's steps serve every output: the shortest scale among them (a
        # unit holds every output of its groups, so only (1, g, B) is kept)
        return xp.reshape(shortest_scale(xp, lam, 0), (1, groups[1] - groups[0], 1, -1))

    # the scales kept (arrays of x's size, such as T, are outside the budget, like x's copy)
    kept = held_bytes(xp, problem.dtype, n * size)
    work = work_budget(problem.budget, kept)
    with np.errstate(all="ignore"):
        (lam,) = _engine.run(problem, [family], head, combine, x4=x4, xg=xg, hg=T, kept_bytes=kept)
    return xp.reshape(lam, (n, 1, 1, size) if elementwise else (1, n, 1, size)), T


def _ladder_steps(
    xp: Any, lam: Any, T: Any, x: Any, constant: Any, r: Any, v: Any, eps: Any
) -> Any:
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
    return pow2_floor(xp, step)


def adaptive_first_derivatives(problem: Any, f0: Any, head: tuple, elementwise: bool) -> dict:
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
        n, problem.compact_sides, elementwise, pilot_ratio(eps)
    )
    lam, T = pilot_lengths(problem, f0, head, family, pilot_weights, pilot_used, x, elementwise)
    ladder = first_ladder(n, problem.compact_sides, settings.r, settings.v, elementwise)
    kind = "one-sided" if problem.one_sided else "central"
    top = float(np.max(ladder.order))
    H = _ladder_steps(xp, lam, T, x, _step_constant(kind, eps, top), settings.r, settings.v, eps)
    del lam, T  # arrays of x's size: not held while the ladder runs
    arrays = device_ladder(xp, ladder, problem.device, problem.dtype)
    m = math.prod(head)
    f0r = xp.reshape(f0, (m, 1, 1, size))
    h_groups = xp.reshape(H, (n, 1, 1, size) if elementwise else (1, n, 1, size))
    total = ladder.family.groups

    def combine(index: Any, groups: Any, blocks: Any, values: Any) -> Any:
        a = tuple(_layout.unit_slice(t, groups, total, 0) for t in arrays)
        hgr = _layout.unit_slice(_layout.unit_slice(h_groups, groups, total, 1), blocks, size, -1)
        fg = _layout.unit_slice(f0r, blocks, size, -1)
        out = select_within(xp, values, fg, a, hgr, eps, work, keep)
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


def adaptive_hessian_values(
    problem: Any, f0: Any, head: Any, first: np.ndarray, second: np.ndarray
) -> dict:
    """The adaptive Hessian's values: the n diagonal entries, then one per pair.

    Returns ``{"rows": (n + pairs, 4, size)`` (value, error, order, step in
    units of H), ``"steps": H}``; the pairs are ``(first[p], second[p])``.
    """
    xp, settings = problem.xp, problem.settings
    n, size = problem.n, problem.size
    eps = _engine.machine_eps(xp, problem.dtype)
    check_spread(settings, eps)
    x4, xg = problem.base_points()
    family, pilot_weights, pilot_used = pilot_scheme(n, (math.nan,), False, pilot_ratio(eps))
    lam, T = pilot_lengths(problem, f0, head, family, pilot_weights, pilot_used, xg, False)
    diagonal, mixed = second_ladders(n, settings.r, settings.v, first, second)
    top = float(np.max(diagonal.order))
    H = _ladder_steps(
        xp, lam, T, xg, _step_constant("second", eps, top + 1), settings.r, settings.v, eps
    )  # a second derivative's rounding error grows like 1 / h**2: one order more
    h = xp.reshape(H, (1, n, 1, size))
    f0r = xp.reshape(f0, (1, 1, 1, size))
    families = [diagonal.family] + ([mixed.family] if mixed is not None else [])
    arrays = [device_ladder(xp, diagonal, problem.device, problem.dtype)]
    divisors = [h * h]
    if mixed is not None:
        i = _backend.host_to_device(first, xp, problem.device)
        j = _backend.host_to_device(second, xp, problem.device)
        arrays.append(device_ladder(xp, mixed, problem.device, problem.dtype))
        divisors.append(xp.take(h, i, axis=1) * xp.take(h, j, axis=1))

    def combine(index: Any, groups: Any, blocks: Any, values: Any) -> Any:
        total = families[index].groups
        a = tuple(_layout.unit_slice(t, groups, total, 0) for t in arrays[index])
        div = _layout.unit_slice(
            _layout.unit_slice(divisors[index], groups, total, 1), blocks, size, -1
        )
        fg = _layout.unit_slice(f0r, blocks, size, -1)
        return xp.stack(select_within(xp, values, fg, a, div, eps, problem.budget), axis=2)

    with np.errstate(all="ignore"):
        results = _engine.run(problem, families, head, combine, x4=x4, xg=xg, hg=H)
    rows = xp.concat([r[0, ...] for r in results], axis=0)  # (n + pairs, 4, size)
    return {"rows": rows, "steps": H}


def adaptive_hessian(problem: Any, f0: Any, head: Any) -> dict:
    """The adaptive Hessian ``{"H", "error", "order", "step", "steps"}``, ``(n*n, size)``."""
    xp, n, size = problem.xp, problem.n, problem.size
    first, second = all_pairs(n)
    out = adaptive_hessian_values(problem, f0, head, first, second)
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


def _per_group(pattern: Any, arrays: Any) -> Any:
    """Per-coordinate host rows ``(n, 1, ...)`` as those of each group's first column."""
    _, first = np.unique(pattern.groups, return_index=True)
    return tuple(np.ascontiguousarray(a[first, 0]) for a in arrays)


def adaptive_sparse_first_derivatives(problem: Any, f0: Any, head: tuple, pattern: Any) -> Any:
    """The adaptive method on a sparse pattern's column groups: ``(value, error)``, ``(m, G)``.

    The pilot and the ladder move each group's columns together (their
    points are those of an elementwise function, masked per group). Row i
    sees group g through one column j only, so the pilot's lambda of row i
    and group g is column j's; each group takes the shortest lambda among
    its rows, relative to ``max(|x_j|, 1)``, and each column its own step
    from it. Every compressed value is divided by its column's step.
    """
    from .. import sparse as _sparse

    xp, settings, device = problem.xp, problem.settings, problem.device
    n, m = problem.n, math.prod(head)
    eps = _engine.machine_eps(xp, problem.dtype)
    check_spread(settings, eps)
    x4, xg = problem.base_points()
    f0r = xp.reshape(f0, (m, 1, 1, 1))
    x = xp.reshape(problem.x, (n,))
    size_x = xp.abs(x)
    scale = xp.where(size_x > 1.0, size_x, 1.0)  # (n,)
    T = pow2_floor(xp, settings.d * scale)

    per_column = _sparse_pilot_lengths(problem, f0r, head, pattern, T, scale, eps)

    # the ladder
    ladder = first_ladder(n, problem.compact_sides, settings.r, settings.v, True)
    arrays = ladder.arrays()
    if ladder.weights.ndim == 4:
        arrays = _per_group(pattern, arrays)
    kind = "one-sided" if problem.one_sided else "central"
    constant = _step_constant(kind, eps, float(np.max(ladder.order)))
    H = _ladder_steps(xp, per_column, T, x, constant, settings.r, settings.v, eps)  # (n,)
    family = _schemes.masked_family(ladder.family, pattern.masks)
    device_arrays = tuple(_backend.host_to_device(a, xp, device, problem.dtype) for a in arrays)
    h_entries = _sparse.entries_steps(xp, device, pattern, H)  # (m, G)

    def combine(index: Any, grp: Any, blocks: Any, values: Any) -> Any:
        a = tuple(_layout.unit_slice(t, grp, family.groups, 0) for t in device_arrays)
        divisor = _layout.unit_slice(h_entries, grp, family.groups, 1)[:, :, None, None]
        return xp.stack(select_within(xp, values, f0r, a, divisor, eps, problem.budget), axis=2)

    with np.errstate(all="ignore"):
        (rows,) = _engine.run(
            problem, [family], head, combine, x4=x4, xg=xg, hg=xp.reshape(H, (n, 1, 1, 1))
        )
    return rows[:, :, 0, 0], rows[:, :, 1, 0]


def _sparse_pilot_lengths(
    problem: Any, f0r: Any, head: tuple, pattern: Any, T: Any, scale: Any, eps: float
) -> Any:
    """The sparse pilot: each column's length scale ``(n,)``, the shortest among the rows
    of its group, relative to ``max(|x_j|, 1)`` and scaled back to the column's."""
    from .. import sparse as _sparse

    xp, device = problem.xp, problem.device
    n, m = problem.n, math.prod(head)
    x4, xg = problem.base_points()
    family, weights, used = pilot_scheme(n, problem.compact_sides, True, pilot_ratio(eps))
    if weights.ndim == 4:
        weights, used = _per_group(pattern, (weights, used))
    family = _schemes.masked_family(family, pattern.masks)
    w = _backend.host_to_device(weights, xp, device, problem.dtype)
    u = _backend.host_to_device(used, xp, device, problem.dtype)
    t_entries = _sparse.entries_steps(xp, device, pattern, T)  # (m, G)
    s_entries = _sparse.entries_steps(xp, device, pattern, scale, math.nan)

    def pilot(index: Any, grp: Any, blocks: Any, values: Any) -> Any:
        wg, ug = (_layout.unit_slice(a, grp, family.groups, 0) for a in (w, u))
        tg = _layout.unit_slice(t_entries, grp, family.groups, 1)[:, :, None]
        lam = scales_within(xp, values, f0r, wg, ug, tg, eps, problem.budget)  # (m, g, 1)
        return xp.reshape(lam, (m, grp[1] - grp[0], 1, 1))

    with np.errstate(all="ignore"):
        (lam,) = _engine.run(
            problem, [family], head, pilot, x4=x4, xg=xg, hg=xp.reshape(T, (n, 1, 1, 1))
        )
        relative = shortest_scale(xp, lam[:, :, 0, 0] / s_entries, 0)  # (G,)
    groups = _backend.host_to_device(pattern.groups, xp, device)
    return xp.take(relative, groups, axis=0) * scale
