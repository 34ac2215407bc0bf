"""Array mode's plans: which stencil, with which weights, for each axis.

An axis's :class:`~xpdiff._array.plans.AxisPlan` comes from its length, its
spacing (``arguments.Spacing``), the derivative order, the accuracy and
whether it wraps: numpy.gradient's own formulas (``numpy_plan``, the same
operations in the same order, hence its rounding) or Fornberg's stencils of
any order (``high_order_plan``). Weights are computed on the host
(``_numerics.stencils``) and moved once to the data's device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from .. import _backend
from .._numerics import stencils as _stencils
from . import plans as _plans
from .arguments import Spacing

__all__ = ["axis_plan", "high_order_plan", "numpy_plan", "work_dtypes"]

#: plans kept: of scalar spacings (a few weights), and of the last coordinates per key
#: (their weights for every row: about n + accuracy + 1 numbers per point)
MAX_PLANS = 256
#: at most this many plans of coordinates, each of at most this many weights (16 MiB
#: of float64): a plan of longer coordinates computes its weights block by block, anew
MAX_COORDINATE_PLANS = 4
MAX_KEPT_WEIGHTS = 1 << 21
_PLANS: dict[tuple, tuple[tuple | None, tuple[_plans.AxisPlan, Any]]] = {}


def axis_plan(
    xp: Any,
    device: Any,
    f: Any,
    axis: int,
    spacing: Spacing,
    n: int,
    accuracy: int | None,
    edge_order: int | None,
    periodic: bool,
) -> tuple[_plans.AxisPlan, Any]:
    """(plan of one axis, dtype to compute in or None for f's own), cached per key.

    The key holds everything the plan depends on: the namespace and device
    of its weights, the axis and its length, f's dtype, the options and, for
    coordinates, the dtype their differences are computed in. A
    scalar spacing's value (a Python float, immutable) is part of the key.
    Coordinates given on the host are not (a NumPy array may change between
    calls): the plan of the last coordinates seen for a key is kept with a
    copy of them, and taken again only when the coordinates given are equal
    to that copy to the bit (one O(N) comparison, against O(N p^2) weights);
    only plans of up to :data:`MAX_KEPT_WEIGHTS` weights are kept, at most
    :data:`MAX_COORDINATE_PLANS` of them.
    """
    options = (n, accuracy, edge_order, periodic)
    length = f.shape[axis]
    if type(spacing.value) is float and spacing.coords is None:
        # the sign too: 0.0 == -0.0, but they divide to infinities of opposite signs
        value = (spacing.value, math.copysign(1.0, spacing.value))
        key: tuple | None = (xp, device, axis, length, f.dtype, value, *options)
    elif spacing.on_host and not spacing.uniform and _keepable(length, n, accuracy):
        # the differences' dtype too: float32 coordinates and the same values given as a
        # list (float64 to numpy) are equal coordinates computed in other dtypes
        value_dtype = spacing.value.dtype
        key = (xp, device, axis, length, f.dtype, "coordinates", value_dtype, *options)
    else:
        key = None
    try:
        kept = _PLANS.get(key) if key is not None else None
    except TypeError:  # a device or dtype that does not hash: no cache
        key = kept = None
    if kept is not None and _same_coordinates(kept[0], spacing):
        return kept[1]
    built = _build_axis_plan(xp, device, f, axis, spacing, options)
    if key is not None:
        coordinate_plans = sum(kept is not None for kept, _ in _PLANS.values())
        if len(_PLANS) >= MAX_PLANS or coordinate_plans >= MAX_COORDINATE_PLANS:
            _PLANS.clear()
        if spacing.coords is None:
            _PLANS[key] = (None, built)
        else:  # weights computed once, for every row: the next call with these coordinates
            coords = (spacing.coords.copy(), spacing.period)
            built = (_materialized(built[0]), built[1])
            _PLANS[key] = (coords, built)
    return built


def _keepable(length: int, n: int, accuracy: int | None) -> bool:
    """Whether the weights of every row of an axis are small enough to keep."""
    return length * (n + (accuracy or 2) + 2) <= MAX_KEPT_WEIGHTS


def _same_coordinates(kept: tuple | None, spacing: Spacing) -> bool:
    """Whether a kept plan's coordinates (and period) are the spacing's, to the bit."""
    if kept is None:
        return spacing.coords is None
    coords, period = kept
    given = spacing.coords
    if not isinstance(given, np.ndarray) or given.shape != coords.shape:
        return False
    if given.dtype != coords.dtype or (period is None) != (spacing.period is None):
        return False
    same_period = period is None or bool(np.array_equal(period, spacing.period))
    return same_period and bool(np.array_equal(given, coords))


def _materialized(plan: _plans.AxisPlan) -> _plans.AxisPlan:
    """``plan`` with lazy per-row weights computed for all rows (1-d weights per term)."""
    regions = []
    for region in plan.regions:
        if region.lazy_weights is None:
            regions.append(region)
            continue
        weights = region.weights()
        terms = tuple(_plans.Term(w, t.start) for w, t in zip(weights, region.terms, strict=True))
        regions.append(replace(region, terms=terms, lazy_weights=None, weight_dtype=None))
    return replace(plan, regions=tuple(regions))


def _build_axis_plan(
    xp: Any, device: Any, f: Any, axis: int, spacing: Spacing, options: tuple
) -> tuple[_plans.AxisPlan, Any]:
    """:func:`axis_plan`'s plan, built; ``options`` are (n, accuracy, edge_order, periodic)."""
    n, accuracy, edge_order, periodic = options
    length = f.shape[axis]
    if n == 1 and not periodic and accuracy in (None, 2):
        # numpy.gradient's own formulas, to the bit
        numpy_edge_order = accuracy or edge_order or 1
        if length < numpy_edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        return numpy_plan(xp, axis, length, spacing, numpy_edge_order), None
    if spacing.complex:
        raise TypeError(
            "complex spacing is for numpy.gradient's formulas (n=1, accuracy None or 2, "
            f"not periodic), got n={n}, accuracy={accuracy}, periodic={periodic}"
        )
    real, data = work_dtypes(xp, f.dtype, spacing)
    plan = high_order_plan(xp, device, axis, length, spacing, n, accuracy or 2, periodic, real)
    return plan, data


def numpy_plan(
    xp: Any, axis: int, length: int, spacing: Spacing, edge_order: int
) -> _plans.AxisPlan:
    """numpy.gradient's formulas for one axis, operation for operation (its rounding)."""
    Region, Term = _plans.Region, _plans.Term
    if spacing.uniform:
        h = spacing.value
        interior = Region(
            1,
            length - 1,
            (Term(None, 2), Term(None, 0)),
            kind="difference",
            divisor=_plans.central_uniform_denominator(h),
        )
        h_first = h_last = h if spacing.edge is None else spacing.edge
    else:
        diffs = spacing.value
        # row 1 + r: dx1 = diffs[r], dx2 = diffs[r + 1]
        central = _plans.WindowWeights(diffs, 2, _plans.central_nonuniform_rule)
        terms = (Term(None, 0), Term(None, 1), Term(None, 2))
        interior = Region(1, length - 1, terms, lazy_weights=central, weight_dtype=diffs.dtype)
        h_first, h_last = diffs[0], diffs[-1]
    if edge_order == 1:
        first = Region(0, 1, (Term(None, 1), Term(None, 0)), kind="difference", divisor=h_first)
        last = Region(
            length - 1,
            length,
            (Term(None, length - 1), Term(None, length - 2)),
            kind="difference",
            divisor=h_last,
        )
    else:
        if spacing.uniform:
            h = spacing.value
            one = 1.0 if isinstance(h, (float, complex)) else xp.ones_like(h)
            w_first = _plans.first_edge2_uniform(h, one)
            w_last = _plans.last_edge2_uniform(h, one)
        else:
            w_first = _plans.first_edge2_nonuniform(diffs[0], diffs[1])
            w_last = _plans.last_edge2_nonuniform(diffs[-2], diffs[-1])
        first = Region(0, 1, tuple(Term(w, k) for k, w in enumerate(w_first)))
        last = Region(
            length - 1, length, tuple(Term(w, length - 3 + k) for k, w in enumerate(w_last))
        )
    return _plans.AxisPlan(axis, length, (first, interior, last), halo=edge_order, edges=(1, 1))


def work_dtypes(xp: Any, f_dtype: Any, spacing: Spacing) -> Any:
    """(real dtype of the weights, dtype of the data) for the high-order path.

    Weights follow the precision of ``f`` (float16 data is combined in
    float32, then rounded once), promoted with a typed spacing as NumPy 2
    would: float32 data with float64 coordinates is combined in float64.
    """
    bits = xp.finfo(f_dtype).bits
    real = xp.float64 if bits >= 64 else xp.float32
    typed = spacing.value if not isinstance(spacing.value, float) else None
    if typed is not None:
        real = xp.result_type(real, typed.dtype)
    complex_data = xp.isdtype(f_dtype, "complex floating")
    return real, (_backend.complex_dtype(xp, real) if complex_data else real)


def _uniform_weights(
    xp: Any, device: Any, offsets_rows: Any, n: Any, spacing: Any, real: Any
) -> Any:
    """Exact host weights for integer offsets, scaled by ``h**-n``: one list per row.

    A Python-float spacing gives Python floats (weak: they take the data's
    precision); a typed spacing gives 0-d arrays of ``real`` on the device.
    """
    host = [np.array(_stencils.exact_weights(tuple(row), n)) for row in offsets_rows]
    h = spacing.value
    if isinstance(h, float):
        return [[float(w) / h**n for w in row] for row in host]
    scale = xp.astype(h, real) ** n
    return [[_backend.host_to_device(w, xp, device, real) / scale for w in row] for row in host]


def _nonuniform_weights(
    xp: Any, device: Any, offsets: Any, n: Any, on_host: Any, real: Any, centre: Any = None
) -> Any:
    """Fornberg weights of many points at once; one transfer for host coordinates.

    With ``centre`` (the index of the offset that is 0) the first derivative's
    weights come from the shorter Lagrange formula.
    """
    if n == 1 and centre is not None:
        weights = _stencils.first_derivative_weights(offsets, centre)
    else:
        weights = _stencils.fornberg(offsets, n)
    if on_host and not _backend.is_numpy_namespace(xp):
        stacked = _backend.host_to_device(np.stack(weights), xp, device, real)  # one transfer
        return [stacked[j, ...] for j in range(len(weights))]
    if on_host:
        return [np.asarray(w, dtype=real) for w in weights]
    return [xp.astype(w, real) for w in weights]


def _fornberg_rows(columns: Any, n: Any, left: Any, real: Any, xp: Any, device: Any) -> Any:
    """A :class:`~xpdiff._array.plans.WindowWeights` rule: rows' weights from host coordinates.

    ``columns[j]`` holds the j-th coordinate of every row's window, the row's
    own point being ``columns[left]``; ``xp`` None means NumPy (what a Dask
    chunk's plan carries: no module to pickle).
    """
    points = columns[left]
    offsets = [column - points for column in columns]
    xp = _backend.numpy_namespace() if xp is None else xp
    return _nonuniform_weights(xp, device, offsets, n, True, real, left)


def _periodic_extension(cxp: Any, x: Any, left: int, right: int, period: Any) -> Any:
    """Coordinates ``x`` with ``left`` points wrapped in front and ``right`` after."""
    n = x.shape[0]
    return cxp.concat([x[n - left :] - period, x, x[:right] + period], axis=0)


def high_order_plan(
    xp: Any,
    device: Any,
    axis: int,
    length: int,
    spacing: Spacing,
    n: int,
    accuracy: int,
    periodic: bool,
    real: Any,
) -> _plans.AxisPlan:
    """Fornberg stencils of order ``accuracy`` for the ``n``-th derivative along one axis.

    The interior takes the centred stencil (a "pairs" region on uniform
    grids; on non-uniform host coordinates its per-row weights are computed
    block by block as the executor asks for them), the edges one-sided
    stencils row by row, and a periodic axis the centred stencil everywhere,
    wrapping around.
    """
    stencil = _stencils.stencil_plan(n, accuracy, spacing.uniform, length)
    need = stencil.size if periodic else stencil.min_points
    if length < need:
        kind = "periodic " if periodic else ""
        raise ValueError(
            f"axis {axis} has {length} points, but the {kind}stencil of n={n} with "
            f"accuracy={accuracy} needs at least {need} points along it"
        )
    if not periodic:
        _stencils.check_edge_conditioning(n, accuracy, float(xp.finfo(real).eps), axis)
    job = _AxisJob(xp, device, length, spacing, n, stencil, real)
    build = _uniform_interior if spacing.uniform else _nonuniform_interior
    interior, kept, wrap_weights = build(job, periodic)
    if periodic:
        return _periodic_plan(axis, length, stencil, interior, kept, wrap_weights)
    regions = [interior, *_edge_regions(job)]
    regions.sort(key=lambda region: region.start)
    halo = max(stencil.edge_size, stencil.size)
    return _plans.AxisPlan(
        axis, length, tuple(regions), halo=halo, edges=(stencil.left, stencil.right)
    )


_Interior = tuple[_plans.Region, list[int], Callable[[int], list]]


class _AxisJob(NamedTuple):
    """What the builders of one axis's regions share: where the weights go (``xp``,
    ``device``, dtype ``real``), the axis's length and spacing, ``n`` and the stencil."""

    xp: Any
    device: Any
    length: int
    spacing: Spacing
    n: int
    stencil: _stencils.StencilPlan
    real: Any


def _uniform_interior(job: _AxisJob, periodic: bool) -> _Interior:
    """(centred "pairs" region, terms kept on wrapped rows, weights of a wrapped row)."""
    xp, device, length, spacing, n, stencil, real = job
    size, left = stencil.size, stencil.left
    offsets = [[j - left for j in range(size)]]
    (centre,) = _uniform_weights(xp, device, offsets, n, spacing, real)
    interior = _plans.pairs_region(left, length - stencil.right, centre, left, n)
    exact = _stencils.exact_weights(tuple(range(-left, size - left)), n)
    kept = [j for j in range(size) if exact[j]]  # an odd derivative's centre weight is 0
    return interior, kept, lambda i: centre


def _nonuniform_interior(job: _AxisJob, periodic: bool) -> _Interior:
    """(per-row Fornberg region, all terms kept, a wrapped row's own stencil)."""
    xp, device, length, spacing, n, stencil, real = job
    size, left, right = stencil.size, stencil.left, stencil.right
    inner = length - left - right
    x = spacing.coords
    x = x.astype(np.float64) if spacing.on_host else xp.astype(x, real)
    Region, Term = _plans.Region, _plans.Term
    if spacing.on_host:
        target = None if _backend.is_numpy_namespace(xp) else xp
        lazy = _plans.WindowWeights(x, size, _fornberg_rows, (n, left, real, target, device))
        terms = tuple(Term(None, j) for j in range(size))
        interior = Region(left, left + inner, terms, lazy_weights=lazy, weight_dtype=real)
    else:
        points = x[left : left + inner]
        offsets = [x[j : j + inner] - points for j in range(size)]
        weights = _nonuniform_weights(xp, device, offsets, n, False, real, left)
        interior = Region(left, left + inner, tuple(Term(w, j) for j, w in enumerate(weights)))
    if not periodic:
        return interior, list(range(size)), lambda i: []
    period = spacing.period if spacing.on_host else xp.astype(spacing.period, real)
    xe = _periodic_extension(np if spacing.on_host else xp, x, left, right, period)

    def wrap_weights(i: int) -> list:  # a periodic row outside the interior: its own stencil
        row = [xe[i + j : i + j + 1] - x[i : i + 1] for j in range(size)]
        weights = _nonuniform_weights(xp, device, row, n, spacing.on_host, real)
        return [w[0, ...] for w in weights]

    return interior, list(range(size)), wrap_weights


def _periodic_plan(
    axis: int,
    length: int,
    stencil: _stencils.StencilPlan,
    interior: _plans.Region,
    kept: list[int],
    wrap_weights: Callable[[int], list],
) -> _plans.AxisPlan:
    """The interior, and each row near the ends with its stencil wrapped around."""
    left, right = stencil.left, stencil.right
    regions = [interior]
    for i in [*range(left), *range(length - right, length)]:
        weights = wrap_weights(i)
        terms = tuple(_plans.Term(weights[j], (i - left + j) % length) for j in kept)
        unwrapped = tuple(i - left + j for j in kept)
        regions.append(_plans.Region(i, i + 1, terms, unwrapped=unwrapped))
    regions.sort(key=lambda region: region.start)
    return _plans.AxisPlan(
        axis, length, tuple(regions), halo=max(left, right), edges=(0, 0), periodic=True
    )


def _edge_regions(job: _AxisJob) -> list[_plans.Region]:
    """One region per one-sided edge row, first rows then last rows."""
    xp, device, length, spacing, n, stencil, real = job
    left, right, edge = stencil.left, stencil.right, stencil.edge_size
    if spacing.uniform:
        first = [[k - i for k in range(edge)] for i in range(left)]
        last = [[k - (edge - right + i) for k in range(edge)] for i in range(right)]
        first_weights = _uniform_weights(xp, device, first, n, spacing, real)
        last_weights = _uniform_weights(xp, device, last, n, spacing, real)
    else:
        x = spacing.coords
        x = x.astype(np.float64) if spacing.on_host else xp.astype(x, real)
        starts = [x[k] - x[0:left] for k in range(edge)]
        ends = [x[length - edge + k] - x[length - right :] for k in range(edge)]
        first_weights = _edge_rows(xp, device, starts, n, spacing, real)
        last_weights = _edge_rows(xp, device, ends, n, spacing, real)
    Region, Term = _plans.Region, _plans.Term
    regions = []
    for i, weights in enumerate(first_weights):
        regions.append(Region(i, i + 1, tuple(Term(w, k) for k, w in enumerate(weights))))
    for i, weights in enumerate(last_weights):
        row = length - right + i
        terms = tuple(Term(w, length - edge + k) for k, w in enumerate(weights))
        regions.append(Region(row, row + 1, terms))
    return regions


def _edge_rows(xp: Any, device: Any, offsets: Any, n: Any, spacing: Any, real: Any) -> Any:
    """Weights of each one-sided edge row (rows of the offsets' arrays), as per-row lists."""
    weights = _nonuniform_weights(xp, device, offsets, n, spacing.on_host, real)
    rows = weights[0].shape[0]
    return [[w[i, ...] for w in weights] for i in range(rows)]
