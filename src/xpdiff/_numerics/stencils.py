"""Finite-difference stencil weights, host-side: the numerics of array mode.

Fornberg's recursion gives the weights of any derivative on any points; exact
rational weights on integer offsets are cached; ``stencil_plan`` chooses the
windows of an axis, and ``check_edge_conditioning`` refuses accuracies whose
one-sided edges leave only rounding noise. Formulas use arithmetic operators
only (Python numbers, Fractions or NumPy float64 arrays on the host); nothing
here takes a namespace or imports an array library other than NumPy on the host.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

# --- Fornberg weights: any order, any points ----------------------------------


def fornberg(offsets: Any, n: int) -> Any:
    """Weights of the ``n``-th derivative at 0 from values at ``offsets``.

    Fornberg's recursion (Math. Comp. 51, 1988, 699-706), written with
    arithmetic operators only: each offset may be a Python number, a
    ``fractions.Fraction`` (exact weights), or an array of any library, in
    which case the weights of many evaluation points are computed at once,
    one array per stencil point. Returns a list of ``len(offsets)`` weights.
    """
    m = len(offsets)
    # c[j][k]: weight of point j for derivative k (up to n)
    c = [[0] * (n + 1) for _ in range(m)]
    c[0][0] = 1
    c1 = 1
    c4 = offsets[0]
    for i in range(1, m):
        mn = min(i, n)
        c2 = 1
        c5 = c4
        c4 = offsets[i]
        for j in range(i):
            c3 = offsets[i] - offsets[j]
            c2 = c2 * c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[i][k] = c1 * (k * c[i - 1][k - 1] - c5 * c[i - 1][k]) / c2
                c[i][0] = -c1 * c5 * c[i - 1][0] / c2
            for k in range(mn, 0, -1):
                c[j][k] = (c4 * c[j][k] - k * c[j][k - 1]) / c3
            c[j][0] = c4 * c[j][0] / c3
        c1 = c2
    return [c[j][n] for j in range(m)]


def first_derivative_weights(offsets: Any, centre: int) -> Any:
    """First-derivative weights at 0 on ``offsets``, of which ``offsets[centre]`` is 0.

    The derivative of the Lagrange polynomial through the points: for
    ``j != centre`` it is ``prod_{k != j, centre} (-d_k) / prod_{k != j} (d_j -
    d_k)``, and for the centre ``-sum_{k != centre} 1 / d_k``. It equals
    Fornberg's weights for ``n = 1`` in about a third of the operations, which
    matters when every point of a long non-uniform axis has its own stencil.
    Arithmetic operators only, like :func:`fornberg`.
    """
    m = len(offsets)
    others = [k for k in range(m) if k != centre]
    negated = {k: -offsets[k] for k in others}
    gaps = {}
    for a in others:
        for b in others:
            if a < b:
                gaps[a, b] = offsets[a] - offsets[b]
    weights: list[Any] = [None] * m
    total: Any = None
    for j in others:
        numerator = None
        denominator = offsets[j]
        for k in others:
            if k == j:
                continue
            numerator = negated[k] if numerator is None else numerator * negated[k]
            denominator = denominator * (gaps[j, k] if j < k else -gaps[k, j])
        weights[j] = (1 if numerator is None else numerator) / denominator
        reciprocal = 1 / offsets[j]
        total = reciprocal if total is None else total + reciprocal
    weights[centre] = -total
    return weights


def _ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``21st``: for messages."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fd_weights_host(points: Any, n: int, x0: float) -> np.ndarray:
    """Validated host float64 Fornberg weights (the engine of ``xpdiff.fd_weights``).

    The offsets ``points - x0`` are scaled by a power of two near their
    largest magnitude before the recursion, and the weights by its ``n``-th
    power after: the recursion multiplies offsets together, which overflows
    or underflows for points far from 1 in scale (1e-300, 1e300) otherwise;
    a power of two changes no rounding.
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an integer >= 0 (the derivative order), got {n!r}")
    if n < 0:
        raise ValueError(f"n must be an integer >= 0 (the derivative order), got {n!r}")
    if type(x0) is np.ndarray and x0.ndim == 0 and x0.dtype.kind in "iuf":
        x0 = x0.item()  # a 0-d array of a real number: the number
    if isinstance(x0, (bool, np.bool_)) or not isinstance(x0, numbers.Real):
        raise TypeError(f"x0 must be a real number, got {type(x0).__name__} {x0!r}")
    x0 = float(x0)
    pts = np.asarray(points)
    if pts.dtype.kind not in "iuf":
        raise TypeError(f"points must be real numbers, got dtype {pts.dtype}")
    if pts.ndim != 1:
        raise ValueError(f"points must be a 1-D sequence of real numbers, got shape {pts.shape}")
    pts = pts.astype(np.float64)
    if not np.all(np.isfinite(pts)) or not np.isfinite(x0):
        raise ValueError("points and x0 must be finite")
    if len(pts) <= n:
        raise ValueError(
            f"the {_ordinal(n)} derivative needs at least {n + 1} points, got {len(pts)}"
        )
    ordered = np.sort(pts)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size:
        raise ValueError(f"points must be distinct; repeated: {np.unique(repeated).tolist()}")
    offsets = pts - x0
    if not np.all(np.isfinite(offsets)):
        raise ValueError("points - x0 overflows: give points and x0 of comparable size")
    _, exponent = np.frexp(np.max(np.abs(offsets)))
    exponent = int(exponent)
    weights = np.array(fornberg(list(np.ldexp(offsets, -exponent)), int(n)), dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):  # weights beyond float64: inf or 0
        return np.ldexp(weights, -n * exponent)  # powers of two: exact


@functools.lru_cache(maxsize=512)
def exact_weights(offsets: tuple[int, ...], n: int) -> tuple[float, ...]:
    """Weights on integer ``offsets`` (in units of h), exact rationals rounded once."""
    from fractions import Fraction  # only exact weights need it: not at import time

    weights = fornberg([Fraction(o) for o in offsets], n)
    return tuple(float(w) for w in weights)


# --- stencil choice -------------------------------------------------------------


@dataclass(frozen=True)
class StencilPlan:
    """Which points serve which output point along one axis.

    Interior points use a window of ``size`` points starting ``left`` points
    before them; the first ``left`` and last ``size - 1 - left`` points, where
    that window would leave the axis, use one-sided windows of ``edge_size``
    points at the ends (a periodic axis wraps instead and has no edges).
    """

    size: int
    left: int
    edge_size: int

    @property
    def right(self) -> int:
        return self.size - 1 - self.left

    @property
    def min_points(self) -> int:
        return max(self.size, self.edge_size)


def stencil_plan(n: int, accuracy: int, uniform: bool, length: int | None = None) -> StencilPlan:
    """The windows for an O(h**accuracy) ``n``-th derivative along an axis of ``length``.

    On a uniform grid a centred window of ``2*((n+1)//2) - 1 + accuracy``
    points reaches O(h**accuracy) (symmetry cancels one more error term for
    even n); one-sided windows need ``n + accuracy`` points. On a non-uniform
    grid symmetry saves nothing, so windows have ``n + accuracy`` points; where
    that number is even and the axis is long enough, interior windows take one
    point more, which centres them and gains one order.
    """
    edge = n + accuracy
    if uniform:
        size = 2 * ((n + 1) // 2) - 1 + accuracy
        return StencilPlan(size=size, left=(size - 1) // 2, edge_size=edge)
    size = edge + 1 if edge % 2 == 0 and (length is None or length > edge) else edge
    return StencilPlan(size=size, left=(size - 1) // 2, edge_size=edge)


# --- plans: what each output row of an axis is made of ------------------------------------


def weight_amplification(offsets_rows: Any, n: int) -> float:
    """The largest sum of |weights| over stencils on integer ``offsets_rows`` (unit step)."""
    return max(float(sum(abs(w) for w in exact_weights(tuple(row), n))) for row in offsets_rows)


#: edge stencils may amplify rounding errors at most this many times the interior's
EDGE_AMPLIFICATION_LIMIT = 1e6
#: nor so much that rounding alone takes more than this share of a unit-step derivative
EDGE_NOISE_LIMIT = 1e-2


def check_edge_conditioning(n: int, accuracy: int, machine_eps: float, axis: int) -> None:
    """Refuse accuracies whose one-sided edge stencils leave only rounding noise.

    One-sided stencils of many points on a uniform grid have weights that
    grow like 2**points: for ``accuracy=40`` the edge weights sum to 6e10
    (the interior's to 3.6), so the edges of a float64 result carry errors of
    1e-5 where ``accuracy=4`` gives 1e-7. A stencil whose weights amplify
    rounding more than :data:`EDGE_AMPLIFICATION_LIMIT` times the interior's,
    or by more than ``EDGE_NOISE_LIMIT / machine_eps``, is a ValueError that
    names the largest accuracy allowed. Non-uniform grids are judged by the
    uniform grid's stencils of the same size.
    """

    def amplifications(p: Any) -> Any:
        plan = stencil_plan(n, p, True)
        centre = weight_amplification([[j - plan.left for j in range(plan.size)]], n)
        edge = weight_amplification(
            [[k - i for k in range(plan.edge_size)] for i in range(plan.left + 1)], n
        )
        return edge, centre

    def acceptable(p: Any) -> Any:
        edge, centre = amplifications(p)
        return edge <= EDGE_AMPLIFICATION_LIMIT * centre and edge * machine_eps <= EDGE_NOISE_LIMIT

    if acceptable(accuracy):
        return
    edge, centre = amplifications(accuracy)
    best = max((p for p in range(2, accuracy, 2) if acceptable(p)), default=None)
    limit = f"use accuracy <= {best}" if best else "no accuracy is safe here"
    raise ValueError(
        f"accuracy={accuracy} with n={n}: the one-sided stencils at the edges of axis {axis} "
        f"amplify rounding errors {edge:.1e} times (the interior's {centre:.2g} times), which "
        f"leaves the edges mostly rounding noise; {limit}, or periodic=True where the data "
        f"wraps around"
    )
