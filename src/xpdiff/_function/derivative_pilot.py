"""Function mode, ``derivative`` of order n >= 2, method "adaptive": the pilot's lengths.

One call of four points per element, ``x +- T/ratio`` and ``x +- T``
(``derivative_schemes.pilot_scheme``), gives two estimates of the length
lambda over which func changes, by the rules of ``adaptive.selection``'s
scales (the median of ``|d1/d2|``, ``|d2/d3|``, ``sqrt|d1/d3|`` among the
derivatives that stand above their rounding noise): grad's, from the cubic
through x, the near pair and ``x + T``, and the symmetric one, from the
quartic through all five. Written out for one coordinate, where both share
the operations on the values and skip selection's masks: 6.2 ms at 1e5
points against 10.3 for two calls of ``selection.scales_within`` in the same
blocks (shared machine). Array operations only, on any library.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _host
from .adaptive.selection import RESOLVED, ratio_or_inf

__all__ = ["CONSISTENT", "pilot_lengths"]

#: the far pair's second difference must agree with the near pair's within this share
#: for the symmetric estimate to be used (else grad's one-sided one is)
CONSISTENT = 0.25


def _median3(xp: Any, e: tuple) -> Any:
    """The median of three positive values, inf ones left out (then: the geometric mean of
    the two left, or the one); NaN where all three are inf (``selection``'s rule)."""
    a, b = xp.minimum(e[0], e[1]), xp.maximum(e[0], e[1])
    u = xp.minimum(b, e[2])
    s0, s1, s2 = xp.minimum(a, u), xp.maximum(a, u), xp.maximum(b, e[2])
    two = xp.sqrt(s0) * xp.sqrt(s1)
    # where(...) written into this function's own arrays (s0, two, s1), under masks that
    # are mostly False (NumPy: where_into's copyto costs a fifth of a where)
    one = _host.where_into(xp, ~(s0 < math.inf), math.nan, s0)
    two = _host.where_into(xp, ~(s1 < math.inf), one, two)
    return _host.where_into(xp, ~(s2 < math.inf), two, s1)


def _lambda(
    xp: Any, clean: list, rows: Any, scale: Any, powers: tuple, eps: float, near: float
) -> Any:
    """lambda from the derivative rows (per ``T**k``) on the values minus f(x).

    A derivative within ``RESOLVED`` times its rounding noise (``eps`` times
    ``scale`` times its weights' amplification), or that is not finite, is
    left out as inf; with ``near`` (the symmetric estimate's call), so are the
    two lengths of d1 where ``|d1 / d2|`` is shorter than the near pair's offset
    ``T / near`` (an extremum within it; 0: grad's one-sided estimate, which
    keeps them: there func is not smooth over T, and an extremum within the
    near pair of cos at 1e4 is an alias of its fast turns).
    """
    d = []
    for row, power in zip(rows, powers, strict=True):
        total = clean[0] * float(row[0])
        for value, w in zip(clean[1:], row[1:], strict=True):
            total = total + value * float(w)
        noise = scale * (RESOLVED * eps * float(sum(abs(w) for w in row)))
        # (a value that is not finite: total or noise not finite, -inf at worst, which
        # every ratio below leaves out as it does inf)
        d.append(_host.where_into(xp, ~(xp.abs(total) > noise), math.inf, total / power))
    d1, d2, d3 = d
    # |d1 / d2| is the distance to an extremum where the third derivative is lost in
    # rounding (a quadratic): left out there
    first = ratio_or_inf(xp, d1, d2)
    third = xp.sqrt(ratio_or_inf(xp, d1, d3))
    left_out = d3 == math.inf
    if near:
        # the symmetric estimate (func smooth over T: the far pair agrees with the near
        # one), an extremum within the near pair (|d1 / d2| shorter than its offset T /
        # near): d1's lengths measure the distance to it, not a length over which func
        # changes, and the n-th derivatives' steps (n >= 2) need none of it
        stationary = first < powers[0] / near
        left_out = left_out | stationary
        third = _host.where_into(xp, stationary, math.inf, third)
    first = _host.where_into(xp, left_out, math.inf, first)
    return _median3(xp, (first, ratio_or_inf(xp, d2, d3), third))


def pilot_lengths(
    xp: Any, values: Any, f: Any, T: Any, weights: Any, one_sided: Any, eps: float, ratio: float
) -> Any:
    """lambda per element, ``(1, 1, 1, B)``, from the pilot's values ``(1, 1, 4, B)``.

    ``weights`` ``(5, 4)`` and ``one_sided`` ``(3, 3)``: the symmetric and
    grad's rows of the first three derivatives (host arrays), and the first
    two from x and the near pair alone (rows 3, 4). The symmetric
    lambda where the far pair's second difference agrees with the near
    pair's within :data:`CONSISTENT` (func smooth over T: sin near pi/2,
    where grad's one-sided cubic is off by ``f'''' T / 4`` and lambda came
    out 30 times too short), else grad's (a pole or a faster oscillation
    within T, which one far point meets less often: 1/x near 0, cos near
    1e4). inf where every value is finite and no estimate survives (no
    curvature up to T). Where a far value is not finite and the near pair's
    are, ``|d1 / d2|`` from x and the near pair (exp at 650, whose far point
    overflows: its length 1, not the edge's distance), inf where d1 or d2 is
    lost in rounding; NaN where values are not finite and none does.
    """
    points = [values[:, :, j : j + 1, :] for j in range(4)]
    # every row of an estimate weighs all its points: a value that is not finite makes
    # its sums, or its scale and so its noise, not finite, and every derivative of the
    # estimate is left out (inf), as selection's mask does
    clean = [v - f for v in points]
    size = [xp.abs(v) for v in points]
    scale3 = xp.maximum(xp.maximum(xp.abs(f), size[0]), xp.maximum(size[1], size[2]))
    scale4 = xp.maximum(scale3, size[3])
    finite = [xp.isfinite(v) for v in points]
    near_pair = finite[0] & finite[1]
    all3 = near_pair & finite[2]
    all4 = all3 & finite[3]
    powers = (T, T * T, T * T * T)
    lam4 = _lambda(xp, clean, weights[:3], scale4, powers, eps, ratio)
    lam4 = _host.where_into(xp, xp.isnan(lam4) & all4, math.inf, lam4)
    near = (clean[0] + clean[1]) * ratio**2
    far = clean[2] + clean[3]
    agree = all4 & (xp.abs(far - near) <= CONSISTENT * xp.abs(near))

    def one_sided_lengths(c0: Any, c1: Any, c2: Any, scale: Any, *rest: Any) -> Any:
        lam3 = _lambda(xp, [c0, c1, c2], one_sided, scale, rest[:3], eps, 0.0)
        return _host.where_into(xp, xp.isnan(lam3) & rest[3], math.inf, lam3)

    # grad's lambda where the two disagree alone (on NumPy: few elements of a smooth func)
    arrays = (*clean[:3], scale3, *powers, all3)
    lam = _host.where_computed(xp, ~agree, one_sided_lengths, arrays, lam4)

    def near_lengths(c0: Any, c1: Any, scale: Any, t: Any) -> Any:
        d = []
        for row, power in zip(weights[3:], (t, t * t), strict=True):
            total = c0 * float(row[0]) + c1 * float(row[1])
            noise = scale * (RESOLVED * eps * float(abs(row[0]) + abs(row[1])))
            d.append(_host.where_into(xp, ~(xp.abs(total) > noise), math.inf, total / power))
        return ratio_or_inf(xp, d[0], d[1])

    scale2 = xp.maximum(xp.abs(f), xp.maximum(size[0], size[1]))
    near_only = xp.isnan(lam) & near_pair
    return _host.where_computed(xp, near_only, near_lengths, (*clean[:2], scale2, T), lam)
