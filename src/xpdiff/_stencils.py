"""Finite-difference stencils: the numerics of array mode, free of any backend.

Formulas here only use arithmetic operators, so the same formula runs on
Python numbers and Fractions (uniform grids: exact weights, computed once on
the host and cached), on NumPy float64 arrays (coordinates given on the host),
and on arrays of any library (coordinates already on the work's device). They
never import or call an array namespace; ``_gradient`` decides where the
numbers live and combines them with the data.

The three-point formulas are numpy.gradient's, written with the same
operations in the same order so that results agree to the last bit; Fornberg's
recursion gives every other order and stencil; ``stencil_plan`` chooses the
windows.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = [
    "StencilPlan",
    "central_nonuniform",
    "central_uniform_denominator",
    "exact_weights",
    "fd_weights_host",
    "first_edge2_nonuniform",
    "first_edge2_uniform",
    "fornberg",
    "last_edge2_nonuniform",
    "last_edge2_uniform",
    "stencil_plan",
]


def central_uniform_denominator(h):
    """Denominator ``2h`` of the central difference ``(f[i+1] - f[i-1]) / 2h``."""
    return 2.0 * h


def central_nonuniform(dx1, dx2):
    """Weights (a, b, c) of ``a f[i-1] + b f[i] + c f[i+1]``, second-order accurate.

    ``dx1 = x[i] - x[i-1]`` and ``dx2 = x[i+1] - x[i]`` (Quarteroni et al.,
    as in numpy.gradient).
    """
    a = -(dx2) / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    return a, b, c


def first_edge2_uniform(h):
    """Weights of the one-sided second-order difference at the first point."""
    return -1.5 / h, 2.0 / h, -0.5 / h


def last_edge2_uniform(h):
    """Weights of the one-sided second-order difference at the last point."""
    return 0.5 / h, -2.0 / h, 1.5 / h


def first_edge2_nonuniform(dx1, dx2):
    """Weights on ``f[0], f[1], f[2]`` at the first point; ``dx1, dx2`` the first two steps."""
    a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
    b = (dx1 + dx2) / (dx1 * dx2)
    c = -dx1 / (dx2 * (dx1 + dx2))
    return a, b, c


def last_edge2_nonuniform(dx1, dx2):
    """Weights on ``f[-3], f[-2], f[-1]`` at the last point; ``dx1, dx2`` the last two steps."""
    a = (dx2) / (dx1 * (dx1 + dx2))
    b = -(dx2 + dx1) / (dx1 * dx2)
    c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
    return a, b, c


# --- Fornberg weights: any order, any points ----------------------------------


def fornberg(offsets, n: int):
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


def fd_weights_host(points, n: int, x0: float) -> np.ndarray:
    """Validated host float64 Fornberg weights (the engine of ``xpdiff.fd_weights``)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be an integer >= 0 (the derivative order), got {n!r}")
    pts = np.asarray(points)
    if pts.ndim != 1 or pts.dtype.kind not in "iuf":
        raise ValueError(
            f"points must be a 1-D sequence of real numbers, got shape {pts.shape} "
            f"and dtype {pts.dtype}"
        )
    pts = pts.astype(np.float64)
    if not np.all(np.isfinite(pts)) or not np.isfinite(x0):
        raise ValueError("points and x0 must be finite")
    if len(pts) <= n:
        raise ValueError(f"the {n}-th derivative needs at least {n + 1} points, got {len(pts)}")
    ordered = np.sort(pts)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size:
        raise ValueError(f"points must be distinct; repeated: {np.unique(repeated).tolist()}")
    return np.array(fornberg(list(pts - float(x0)), int(n)), dtype=np.float64)


@functools.lru_cache(maxsize=512)
def exact_weights(offsets: tuple[int, ...], n: int) -> tuple[float, ...]:
    """Weights on integer ``offsets`` (in units of h), exact rationals rounded once."""
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
