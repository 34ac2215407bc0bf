"""The host-side schemes of ``derivative``: central stencils and their Richardson ladders.

The n-th derivative on the offsets ``-p .. p``, ``p = (n + 1) // 2``, has
Fornberg's weights (``_numerics.stencils``) and an error series in even
powers of the step, so numDeriv's Richardson extrapolation over steps ``h,
h/v, ...`` applies with the factors of ``_numerics.richardson``. Method
"Richardson" folds the whole extrapolation into one
:class:`~xpdiff._function.schemes.LinearScheme` (``richardson_scheme``);
method "adaptive" keeps every entry of a wider ladder's table as a
candidate (``ladder_scheme``). The centre point's weight is carried by
``f(x)``, so a scheme has ``2 p r`` points. Plain NumPy on the host, cached
per settings, and the checked settings (the order, Richardson's steps per order,
method "adaptive"'s ladder); no array library.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .. import _validation
from .._numerics.richardson import richardson_coefficients
from .._numerics.stencils import fornberg
from . import schemes as _schemes

__all__ = [
    "ADAPTIVE_DEFAULTS",
    "MAX_ORDER",
    "RICHARDSON_STEPS",
    "LadderScheme",
    "check_order",
    "ladder_scheme",
    "ladder_settings",
    "pilot_scheme",
    "richardson_defaults",
    "richardson_scheme",
    "stencil",
]

#: a scheme's host array, frozen (``schemes.frozen``) in float64
_float64 = functools.partial(_schemes.frozen, dtype=np.float64)

#: method "adaptive", n >= 2: the ladder's first step ``H = d max(|x|, 1)``, its
#: levels and their ratio
ADAPTIVE_DEFAULTS = {"d": 0.5, "r": 8, "v": 2.0}

#: the highest derivative order: beyond it float64 keeps too few digits to be useful
MAX_ORDER = 10

#: Richardson's default relative step ``d`` (and absolute ``eps``) per order: numDeriv's
#: 1e-4 for n = 1; for higher orders the step that balances the rounding error
#: ``eps |f| A / h**n`` against the truncation of r = 4 levels, measured on the smooth
#: functions of benchmarks/bench_beyond.py; n = 7 .. 10 by ``python
#: benchmarks/derivative_steps.py --high``: the step of smallest worst error over entire
#: functions (exp, sin, cosh, exp(-x**2)) and functions with poles at +-i (1/(1+x**2),
#: atan) from -3 to 3, 2e-4, 2e-3, 4e-2 and 7e-2 of the largest derivative (longer
#: steps suit the first, shorter the second); n = 9 and 10 at the shortest that
#: ``settings.check_noise`` allows, where the 0.3 all four took was noise (exp's 10th
#: derivative at 1 came out 53)
RICHARDSON_STEPS = {
    1: 1e-4,
    2: 0.02,
    3: 0.05,
    4: 0.1,
    5: 0.15,
    6: 0.2,
    7: 0.2,
    8: 0.3,
    9: 0.4,
    10: 0.5,
}
#: float32 (and other dtypes coarser than float64), n >= 2: the step per order over
#: three levels. Rounding error dominates (eps32 / h**n); on exp, sin, log1p and sqrt
#: at |x| from 0.01 to 30 the largest relative errors are 6e-4 and 2e-2 for n = 2, 3
#: (float64's steps grown as for first derivatives gave 7e-3 and 0.1), and 2, 90 and
#: 2e4 for n = 4 .. 6: float32 keeps no reliable digit there with fixed steps, and
#: "adaptive" (1e-3 to 2e-2) is the method (benchmarks/derivative_steps.py)
LOW_PRECISION_STEPS = {2: 0.1, 3: 0.1, 4: 0.2, 5: 0.2}
LOW_PRECISION_LARGE_ORDER_STEP = 0.3
LOW_PRECISION_LEVELS = 3
#: n >= 2: numDeriv's absolute step ``eps`` below this ``|x|``: a relative step ``d |x|``
#: shrinks with ``|x|`` while the rounding error grows as ``1 / h**n`` (exp's 4th
#: derivative at x = 0.01 came out 0.86 for 1.01 with the near-zero rule at 1.8e-5)
HIGH_ORDER_ZERO_TOL = 1.0


def check_order(n: object) -> int:
    """The derivative's order ``n``, checked: an integer from 1 to :data:`MAX_ORDER`."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(
            f"n must be an integer from 1 to {MAX_ORDER}, got {type(n).__name__} {n!r}"
        )
    if not 1 <= n <= MAX_ORDER:
        raise ValueError(f"n must be an integer from 1 to {MAX_ORDER}, got {_validation.given(n)}")
    return int(n)


def richardson_defaults(method: object, order: int) -> dict | None:
    """Richardson's settings for the order (None: numDeriv's, n = 1): the steps ``d`` and
    ``eps``, ``zero_tol``, and in a dtype coarser than float64 (``low_precision``) larger
    steps over fewer levels."""
    if order == 1 or not isinstance(method, str) or method.lower() != "richardson":
        return None
    d = RICHARDSON_STEPS[order]
    low = LOW_PRECISION_STEPS.get(order, LOW_PRECISION_LARGE_ORDER_STEP)
    return {
        "d": d,
        "eps": d,
        "zero_tol": HIGH_ORDER_ZERO_TOL,
        "low_precision": (("d", low), ("eps", low), ("r", LOW_PRECISION_LEVELS)),
    }


@functools.lru_cache(maxsize=32)
def stencil(order: int) -> tuple[np.ndarray, np.ndarray]:
    """The central stencil of the ``order``-th derivative without its centre.

    Returns ``(offsets, weights)``: offsets ``+1, -1, +2, -2, ..., +p, -p``
    and their exact Fornberg weights (rational, then float64); the centre's
    weight is minus their sum, which subtracting ``f(x)`` supplies.
    """
    p = (order + 1) // 2
    offsets = [Fraction(j) for j in range(-p, p + 1)]
    weights = fornberg(offsets, order)
    by_offset = dict(zip(range(-p, p + 1), weights, strict=True))
    moved = [s * j for j in range(1, p + 1) for s in (1, -1)]
    return _float64(np.array(moved, dtype=np.float64)), _float64(
        np.array([float(by_offset[j]) for j in moved])
    )


def _levels(order: int, r: int, v: float) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers of the ``2 p r`` sets, and the weights of each level's estimate.

    Level k's estimate, per ``h**order``, is ``sum_j w_j v**(k order) (F(x +
    o_j h / v**k) - f(x))``: row k of the returned ``(r, 2 p r)`` matrix.
    """
    offsets, weights = stencil(order)
    width = offsets.size
    moves = np.concatenate([offsets * float(v) ** -k for k in range(r)])
    levels = np.zeros((r, width * r))
    for k in range(r):
        levels[k, k * width : (k + 1) * width] = weights * float(v) ** (k * order)
    return moves, levels


@functools.lru_cache(maxsize=64)
def richardson_scheme(order: int, r: int, v: float, table: bool) -> _schemes.LinearScheme:
    """Richardson's n-th derivative of an elementwise function, folded into one scheme.

    One group; set l moves every coordinate by ``multipliers[l] h`` (the
    family's multipliers have one column, which broadcasts over the
    coordinates). Output 0 is the extrapolated value per ``h**order``, the
    error row its difference from the column before (numDeriv's estimate),
    and with ``table`` the levels, from which the caller rebuilds the table.
    """
    moves, levels = _levels(order, r, v)
    value, previous = richardson_coefficients(r, v, False)
    family = _schemes.Family(None, _float64(moves[None, :, None]), relative=True, groups=1)
    return _schemes.LinearScheme(
        family,
        _float64((value @ levels)[None, None, :]),
        error=_float64(((value - previous) @ levels)[None, None, :]),
        levels=_float64(levels[None]) if table else None,
    )


@dataclass(frozen=True, eq=False)
class LadderScheme:
    """Method "adaptive": the candidates of a wide ladder's Richardson table.

    ``family`` moves every coordinate by ``multipliers[l] H``, each distinct
    point once: with ``v`` = 2 the stencil's ``+-2 h`` of a level are the
    ``+-h`` of the level above, so the n-th derivative for n = 3, 4 needs 18
    points for 8 levels, not 32. Level k's estimate (per ``H**order``) is
    ``sum_i level_weights[k][i] S[level_pairs[k][i]]``, S of pair ``(a, b)``
    ``(F[a] - f(x)) + (F[b] - f(x))`` for an even order, ``F[a] - F[b]`` for an
    odd one (the stencil is symmetric, or antisymmetric). Candidate c is
    ``weights[c] @ (F - f(x)) / H**order`` with truncation estimate ``|error[c]
    @ (F - f(x))| / H**order`` (its difference from the entry it improves on)
    and rounding amplification ``noise[c]`` (per ``eps |f| / H**order``);
    ``error2[c]`` is its difference from the estimate of the order below one
    level longer (for column 0, level k - 2), which the reported error also
    takes (``derivative_ladder``); ``order_of[c]`` is its order of accuracy and
    ``step[c]`` its largest step in units of H.
    """

    family: _schemes.Family
    weights: np.ndarray  # (C, L)
    error: np.ndarray  # (C, L)
    error2: np.ndarray  # (C, L)
    noise: np.ndarray  # (C, 1)
    order_of: np.ndarray  # (C, 1)
    step: np.ndarray  # (C, 1)
    pairs: tuple[tuple[int, int], ...]  # the columns of the points x + o h and x - o h
    level_pairs: tuple[tuple[int, ...], ...]  # (r, p): level k's pairs
    level_weights: tuple[tuple[float, ...], ...]  # (r, p): their weights (of x + o h)
    odd: bool  # the order is odd


def _distinct_levels(order: int, r: int, v: float) -> tuple[np.ndarray, np.ndarray, list]:
    """The ladder's distinct multipliers, each level's estimate on them ``(r, L)``, and
    each level's pairs of columns ``(x + o h, x - o h)`` among them (a point shared by
    two levels is evaluated once: its multiplier is the same float)."""
    offsets, weights = stencil(order)
    index: dict[float, int] = {}
    pairs = []
    for k in range(r):
        columns = [index.setdefault(float(m), len(index)) for m in offsets * float(v) ** -k]
        pairs.append(list(zip(columns[::2], columns[1::2], strict=True)))
    levels = np.zeros((r, len(index)))
    for k, level in enumerate(pairs):
        columns = [c for pair in level for c in pair]
        levels[k, columns] = weights * float(v) ** (k * order)
    return np.array(list(index), dtype=np.float64), levels, pairs


@functools.lru_cache(maxsize=32)
def ladder_scheme(order: int, r: int, v: float, columns: int) -> LadderScheme:
    """Every entry (j, k), ``1 <= k``, ``j <= min(k, columns)``, of the ladder's table."""
    moves, levels, level_pairs = _distinct_levels(order, r, v)
    table = {(0, k): levels[k] for k in range(r)}
    for j in range(1, min(columns, r - 1) + 1):
        factor = float(v) ** (2 * j)
        for k in range(j, r):
            table[j, k] = (table[j - 1, k] * factor - table[j - 1, k - 1]) / (factor - 1)
    rows, errors, errors2, orders, steps = [], [], [], [], []
    for (j, k), row in sorted(table.items()):
        if k == 0:
            continue
        rows.append(row)
        errors.append(row - (table[j - 1, k] if j else table[0, k - 1]))
        errors2.append(row - (table[j - 1, k - 1] if j else table[0, max(k - 2, 0)]))
        orders.append(2.0 + 2.0 * j)
        steps.append(float(v) ** -(k - j))
    weights = np.array(rows)
    noise = np.sum(np.abs(weights), axis=1) + np.abs(np.sum(weights, axis=1))
    family = _schemes.Family(None, _float64(moves[None, :, None]), relative=True, groups=1)
    return LadderScheme(
        family,
        _float64(weights),
        _float64(np.array(errors)),
        _float64(np.array(errors2)),
        _float64(noise[:, None]),
        _float64(np.array(orders)[:, None]),
        _float64(np.array(steps)[:, None]),
        *_pairs_of(levels, level_pairs),
        order % 2 == 1,
    )


def _pairs_of(levels: np.ndarray, level_pairs: list) -> tuple[tuple, tuple, tuple]:
    """The distinct pairs, each level's pairs among them and their weights (of x + o h:
    x - o h has the same for an even order, its opposite for an odd one)."""
    distinct: dict[tuple[int, int], int] = {}
    numbers = tuple(
        tuple(distinct.setdefault(pair, len(distinct)) for pair in level) for level in level_pairs
    )
    weights = tuple(
        tuple(float(levels[k, plus]) for plus, _ in level) for k, level in enumerate(level_pairs)
    )
    return tuple(distinct), numbers, weights


@functools.lru_cache(maxsize=8)
def pilot_scheme(ratio: float) -> tuple[_schemes.Family, np.ndarray, np.ndarray]:
    """Method "adaptive"'s pilot for n >= 2: ``x +- T/ratio`` and ``x +- T``.

    The family (one coordinate, the elements laid out as points) and the
    weights ``(1, 5, 4)`` that ``adaptive.selection``'s scales take: rows 0-2
    the first three derivatives (per ``T**k``) from the quartic through x and
    the four points, rows 3-4 the first two from x and the near pair alone
    (where a far point is not finite). grad's pilot has one far point, and the
    third derivative from its cubic is off by about ``f'''' T / 4``: where f'
    and f''' vanish together (sin near pi/2) lambda came out 30 times too
    short, and the n-th derivative's steps with it (sin, n = 4: 1.8e-7 there
    instead of 1e-10). Symmetric far points cancel that term.
    """
    near = 1.0 / ratio
    offsets = [near, -near, 1.0, -1.0]
    rows = [fornberg([0.0, *offsets], k)[1:] for k in range(1, 4)]
    rows += [[*fornberg([0.0, near, -near], k)[1:], 0.0, 0.0] for k in (1, 2)]
    weights = np.array([[float(w) for w in row] for row in rows])[None]
    family = _schemes.coordinate_family(np.array([offsets]), 1, elementwise=False)
    return family, _float64(weights), _float64(weights != 0)


def ladder_settings(method_args: Any) -> dict:
    """method "adaptive" for n >= 2: ``d``, ``r`` (3 to 12) and ``v`` (>= 1.5), checked."""
    if method_args is not None and not isinstance(method_args, dict):
        raise TypeError(f"method_args must be a dict (or None), got {type(method_args).__name__}")
    values = dict(ADAPTIVE_DEFAULTS)
    for key, value in (method_args or {}).items():
        if key not in values:
            raise ValueError(
                f"unknown method_args key {key!r} for method 'adaptive'; allowed keys: "
                f"{', '.join(values)}"
            )
        values[key] = value
    d, r, v = values["d"], values["r"], values["v"]
    d = _validation.check_positive_real("method_args d", d)  # 10**400: a ValueError too
    v = _validation.check_positive_real("method_args v", v, at_least=1.5)
    r = _validation.check_integer("method_args r", r, 3, 12)  # a whole float: Richardson's too
    return {"d": d, "r": r, "v": v}
