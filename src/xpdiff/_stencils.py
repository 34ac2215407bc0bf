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
windows. An :class:`AxisPlan` says, for one axis, which output rows take
which linear combination of which input rows; the executors
(``_executors``) carry plans out on each library.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = [
    "AxisPlan",
    "Region",
    "StencilPlan",
    "Term",
    "WindowWeights",
    "central_nonuniform",
    "central_nonuniform_rule",
    "central_uniform_denominator",
    "exact_weights",
    "fd_weights_host",
    "first_derivative_weights",
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


def first_edge2_uniform(h, one=1.0):
    """Weights of the one-sided second-order difference at the first point.

    ``one`` is ``1.0``, or a one of ``h``'s array type when ``h`` is an array:
    PyTorch divides a Python number by a tensor as the number times the
    tensor's reciprocal, one rounding more than numpy.gradient's ``-1.5 / h``,
    so the numerators are made arrays too.
    """
    return (-1.5 * one) / h, (2.0 * one) / h, (-0.5 * one) / h


def last_edge2_uniform(h, one=1.0):
    """Weights of the one-sided second-order difference at the last point (see above)."""
    return (0.5 * one) / h, (-2.0 * one) / h, (1.5 * one) / h


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


def first_derivative_weights(offsets, centre: int):
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


def fd_weights_host(points, n: int, x0: float) -> np.ndarray:
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
        raise ValueError(f"the {n}-th derivative needs at least {n + 1} points, got {len(pts)}")
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


@dataclass(frozen=True)
class Term:
    """``weight * f[start : start + rows]`` along the axis, for a region of ``rows`` rows.

    ``weight`` is a Python float (a weak scalar, as NumPy treats Python
    numbers), a 0-d array or NumPy scalar with a dtype of its own, or a 1-d
    array with one weight per row of the region (non-uniform grids).
    """

    weight: Any
    start: int


@dataclass(frozen=True)
class WindowWeights:
    """Per-row weights computed on demand from a sliding window of a 1-d array.

    Row ``r`` of a region takes its weights from ``values[r : r + width]``:
    ``weights(r0, r1)`` calls ``rule(columns, *args)`` with ``columns[j] =
    values[j + r0 : j + r1]`` (column j holds entry j of every row's window)
    and returns its list of weights, one per term. Non-uniform grids use it
    with the coordinate differences (numpy.gradient's three-point formula) or
    the coordinates (Fornberg's weights). It is a plain object rather than a
    closure so that :meth:`restrict` can hand a Dask chunk just the
    coordinates its rows need, and the result pickles for a cluster.
    """

    values: Any
    width: int
    rule: Callable
    args: tuple = ()

    def __call__(self, r0: int, r1: int) -> list:
        columns = [self.values[j + r0 : j + r1] for j in range(self.width)]
        return list(self.rule(columns, *self.args))

    def restrict(self, r0: int, r1: int) -> WindowWeights:
        """The same weights for rows ``r0 .. r1 - 1`` only, as rows ``0 .. r1 - r0 - 1``."""
        return WindowWeights(
            self.values[r0 : r1 + self.width - 1], self.width, self.rule, self.args
        )


def central_nonuniform_rule(columns):
    """:func:`central_nonuniform` as a :class:`WindowWeights` rule on coordinate differences."""
    return central_nonuniform(columns[0], columns[1])


@dataclass(frozen=True)
class Region:
    """Output rows ``start .. stop - 1`` of an axis, as one formula of the input rows.

    ``kind`` "sum": ``terms[0].weight * src0 + terms[1].weight * src1 + ...``,
    left to right. ``kind`` "difference": ``(src0 - src1) / divisor`` with the
    terms' sources (their weights are unused): numpy.gradient's uniform
    central difference and first-order edges, whose rounding parity with
    numpy needs the difference before the division. ``kind`` "pairs": a
    centred uniform stencil, ``w_1 (src0 + sign src1) + w_2 (src2 + sign src3)
    + ...`` with the weights of the even-numbered terms (``sign`` -1 for odd
    derivatives, whose weights are antisymmetric, +1 for even ones) and, when
    the terms are odd in number, ``+ w_0 src_last`` for the centre: each
    difference is exact where neighbours are close, and it takes fewer
    operations than the plain sum.
    """

    start: int
    stop: int
    terms: tuple[Term, ...]
    kind: str = "sum"
    divisor: Any = None
    #: per-row weights computed on demand: ``lazy_weights(r0, r1)`` gives the terms'
    #: weights for the region's rows ``r0 .. r1 - 1`` (a block at a time, in cache);
    #: a :class:`WindowWeights`, or any callable where nothing restricts it
    lazy_weights: Callable | None = None
    weight_dtype: Any = None  # the dtype of the lazy weights
    sign: int = 1  # "pairs": the sign of a pair's second source
    #: on a periodic axis, the terms' sources before wrapping around (a start may
    #: be negative or beyond the axis): where the rows lie next to each other in
    #: a Dask chunk's halo; the terms' own starts are within the axis
    unwrapped: tuple[int, ...] | None = None

    @property
    def sources(self) -> tuple[int, ...]:
        """The terms' first source rows, unwrapped on a periodic axis."""
        return self.unwrapped if self.unwrapped is not None else tuple(t.start for t in self.terms)

    @property
    def rows(self) -> int:
        return self.stop - self.start

    def weights(self, r0: int = 0, r1: int | None = None) -> list:
        """The terms' weights for the region's rows ``r0 .. r1 - 1`` (all by default).

        Scalars as they are; per-row arrays sliced, or computed for just those
        rows where the region has ``lazy_weights``.
        """
        r1 = self.rows if r1 is None else r1
        if self.lazy_weights is not None:
            return list(self.lazy_weights(r0, r1))
        whole = (r0, r1) == (0, self.rows)
        return [
            t.weight if whole or getattr(t.weight, "ndim", 0) != 1 else t.weight[r0:r1]
            for t in self.terms
        ]


@dataclass(frozen=True)
class AxisPlan:
    """Every output row of one axis of length ``length``, region by region, in order.

    ``halo`` is how far the stencils reach beyond a row (for the Dask
    executor's overlap), ``edges`` how many rows at each end use one-sided
    formulas (none on a periodic axis), ``periodic`` whether sources wrap.
    """

    axis: int
    length: int
    regions: tuple[Region, ...]
    halo: int
    edges: tuple[int, int]
    periodic: bool = False


def pairs_region(start: int, stop: int, weights: list, left: int, n: int) -> Region:
    """A centred uniform stencil of ``2 left + 1`` weights as a "pairs" region.

    Row r (from ``start``) takes ``f[r + j]`` for ``j = 0 .. 2 left`` (the
    window starting ``left`` rows before it); the weights of ``j = left + k``
    and ``j = left - k`` are equal (even n) or opposite (odd n).
    """
    terms = []
    for k in range(1, left + 1):
        terms += [Term(weights[left + k], left + k), Term(None, left - k)]
    centre = weights[left]
    if n % 2 == 0:
        terms.append(Term(centre, left))
    return Region(start, stop, tuple(terms), kind="pairs", sign=-1 if n % 2 else 1)


def noise_amplification(offsets_rows, n: int) -> float:
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

    def amplifications(p):
        plan = stencil_plan(n, p, True)
        centre = noise_amplification([[j - plan.left for j in range(plan.size)]], n)
        edge = noise_amplification(
            [[k - i for k in range(plan.edge_size)] for i in range(plan.left + 1)], n
        )
        return edge, centre

    def acceptable(p):
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
