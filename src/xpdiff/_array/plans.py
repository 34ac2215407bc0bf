"""Stencil plans of array mode: which output rows take which combination of input rows.

The three-point formulas are numpy.gradient's, written with the same operations in
the same order so that results agree to the last bit; they use arithmetic operators
only, so they run on Python numbers, on NumPy float64 arrays and on arrays of any
library. An :class:`AxisPlan` says, for one axis, which output rows take which
linear combination of which input rows; the executors (``_array.executors``) carry
plans out on each library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def central_uniform_denominator(h: Any) -> Any:
    """Denominator ``2h`` of the central difference ``(f[i+1] - f[i-1]) / 2h``."""
    return 2.0 * h


def central_nonuniform(dx1: Any, dx2: Any) -> Any:
    """Weights (a, b, c) of ``a f[i-1] + b f[i] + c f[i+1]``, second-order accurate.

    ``dx1 = x[i] - x[i-1]`` and ``dx2 = x[i+1] - x[i]`` (Quarteroni et al.,
    as in numpy.gradient).
    """
    a = -(dx2) / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    return a, b, c


def first_edge2_uniform(h: Any, one: Any = 1.0) -> Any:
    """Weights of the one-sided second-order difference at the first point.

    ``one`` is ``1.0``, or a one of ``h``'s array type when ``h`` is an array:
    PyTorch divides a Python number by a tensor as the number times the
    tensor's reciprocal, one rounding more than numpy.gradient's ``-1.5 / h``,
    so the numerators are made arrays too.
    """
    return (-1.5 * one) / h, (2.0 * one) / h, (-0.5 * one) / h


def last_edge2_uniform(h: Any, one: Any = 1.0) -> Any:
    """Weights of the one-sided second-order difference at the last point (see above)."""
    return (0.5 * one) / h, (-2.0 * one) / h, (1.5 * one) / h


def first_edge2_nonuniform(dx1: Any, dx2: Any) -> Any:
    """Weights on ``f[0], f[1], f[2]`` at the first point; ``dx1, dx2`` the first two steps."""
    a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
    b = (dx1 + dx2) / (dx1 * dx2)
    c = -dx1 / (dx2 * (dx1 + dx2))
    return a, b, c


def last_edge2_nonuniform(dx1: Any, dx2: Any) -> Any:
    """Weights on ``f[-3], f[-2], f[-1]`` at the last point; ``dx1, dx2`` the last two steps."""
    a = (dx2) / (dx1 * (dx1 + dx2))
    b = -(dx2 + dx1) / (dx1 * dx2)
    c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
    return a, b, c


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


def central_nonuniform_rule(columns: Any) -> Any:
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
