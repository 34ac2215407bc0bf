"""The engine of function mode: checked arguments, evaluation under the budget, combination.

grad, jacobian, genD and hessian each build a host-side scheme
(``_schemes``), then call :func:`run`, which lays its point families out
in a flat order, splits them into calls of func (``max_batch``, the memory
budget, the workers) and into *units* of whole groups for the combination,
builds each call's points (``_points``), hands them to the evaluator that
the arguments chose (``_evaluators``), and combines each unit as soon as its
values are in. Units depend on the memory budget alone, never on how the
calls were split, so that results do not depend on ``max_batch`` or
``workers``. :func:`combine_linear` is the combination of numDeriv's
methods: one weighted reduction over the values of each group.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import _backend
from . import layout as _layout
from . import mixing as _mixing
from . import passes as _passes
from . import points as _points
from . import steps as _steps
from .problem import Problem, at_x, machine_eps, parse_sides, setup
from .schemes import Family, LinearScheme

__all__ = [
    "CombineUnit",
    "Problem",
    "check_real_valued",
    "combine_linear",
    "linear_plan",
    "machine_eps",
    "parse_sides",
    "run",
    "run_linear",
    "setup",
    "value_at_x",
]

#: ``combine_unit(family index, (g0, g1), (b0, b1), values)`` of :func:`run`
CombineUnit = Callable[[int, tuple[int, int], tuple[int, int], Any], Any]


def value_at_x(problem: Problem, f0: Any = None) -> tuple[Any, tuple]:
    """func at x, on a copy of x that xpdiff owns; returns (f0, head). ``f0``: the
    evaluator's value at x where it was taken already (``quick``), checked here.

    Where the check is due (``passes.must_check``), the evaluator keeps f0
    (``value_at_x``): the next :func:`run` checks with it that a vectorized
    func does not mix the points of a batch, and until one passes, every
    later one.
    """
    xp = problem.xp
    evaluator = problem.evaluator
    if problem.size == 0 and not _mixing.may_mix(evaluator):
        # func one point at a time, and no point: a scalar function's (empty) values
        return _empty(xp, problem, problem.batch_shape), ()
    if f0 is None:
        f0 = at_x(xp, problem)  # in calls of at most max_batch points
    if _passes.must_check(problem):
        evaluator.value_at_x, evaluator.x_of_value = f0, problem.x
        # the kind of call, not the problem: the problem holds the evaluator, a cycle that
        # would keep x (device memory on a GPU) until the garbage collector runs
        evaluator.checked = _passes.kind_of_call(problem)
    head = tuple(f0.shape[: f0.ndim - len(problem.batch_shape)])
    if problem.method == "complex":
        kind = getattr(f0.dtype, "kind", None)  # NumPy's dtypes say it cheaply
        if kind == "c" or (kind is None and xp.isdtype(f0.dtype, "complex floating")):
            check_real_valued(xp, f0)
    return f0, head


def check_real_valued(xp: Any, f0: Any) -> None:
    """The complex step differentiates real functions: refuse complex values at real x."""
    if _backend.is_traced(f0) or _backend.library_name(f0) == "dask":
        return  # no values to look at yet
    if bool(xp.any(xp.imag(f0) != 0)):
        raise ValueError(
            "func returns complex values at the real point x (a nonzero imaginary part): "
            "method 'complex' takes the imaginary part of func at x + ih as the derivative, "
            "so it needs a real-valued func; differentiate the real and imaginary parts as "
            "two outputs with method 'Richardson' or 'simple'."
        )


def run(
    problem: Problem,
    families: list[Family],
    head: tuple,
    combine_unit: CombineUnit,
    *,
    x4: Any,
    xg: Any,
    hg: Any,
    kept_bytes: int = 0,
) -> list:
    """Evaluate every point of ``families`` and combine them unit by unit.

    ``combine_unit(index, (g0, g1), (b0, b1), values)`` gets the family's
    index, the unit's groups and base points and its values, shaped
    ``(m, g1 - g0, sets, b1 - b0)``, and returns an array whose axis 1 is
    the groups and whose last axis the base points. Returns, per family, its
    units' results joined. ``x4``, ``xg`` are the base points shaped
    ``(n, 1, 1, size)`` and ``(1, n, 1, size)``, ``hg`` the steps like
    ``xg``; ``kept_bytes`` is what the caller holds meanwhile (the result),
    which the budget counts.

    Every evaluation where the check is due (``value_at_x`` kept f0: until a
    pass is remembered, ``passes.passed_before``) checks that a vectorized
    func does not mix the points of a batch: the last call ends with an
    unperturbed copy of x's first point and a sentinel
    (``layout.plan_layout`` places them), and the copy's value must be
    func's value at x (``value_at_x``), whatever the base points are. Where
    values are in host memory a func that mixes points is a ValueError;
    elsewhere its results are NaN, computed on the device
    (``mixing.check_not_mixing``).
    """
    xp = problem.xp
    size = x4.shape[3]
    m = math.prod(head)
    point_dtype = _points.points_dtype(xp, families[0], x4.dtype)
    if size == 0:  # an empty batch: no point to evaluate, results of the right shape
        return [
            combine_unit(
                i,
                (0, f.groups),
                (0, 0),
                _empty(xp, problem, (m, f.groups, f.sets, 0), point_dtype),
            )
            for i, f in enumerate(families)
        ]
    layout = _plan(problem, families, size, m, kept_bytes, point_dtype)
    if layout.one_call and problem.evaluator.min_calls == 1:
        values, mixed = _one_call_values(problem, layout, (x4, xg, hg), point_dtype, head)
        results = []
        for unit in layout.units:
            unit_values = values if len(layout.units) == 1 else values[..., unit.start : unit.end]
            shape = (m, unit.g1 - unit.g0, unit.family.sets, unit.b1 - unit.b0)
            g, b = (unit.g0, unit.g1), (unit.b0, unit.b1)
            results.append(combine_unit(unit.index, g, b, xp.reshape(unit_values, shape)))
    else:
        direction, x0 = _check_points(problem, layout)
        chunks = _chunks(xp, layout, (x4, xg, hg), point_dtype, direction, x0)
        results, mixed = _evaluate(problem, layout, chunks, head, m, combine_unit, size)
    return _mixing.poisoned(xp, mixed, results)


def _plan(
    problem: Problem, families: list[Family], size: int, m: int, kept_bytes: int, dtype: Any
) -> _layout.Layout:
    """The calls and units of ``families`` under the problem's budget (``layout.plan_layout``)."""
    evaluator = problem.evaluator
    itemsize = _layout.itemsize_of(problem.xp, dtype)
    layout = _layout.plan_layout(
        tuple(families),
        problem.n,
        size,
        m,
        problem.budget,
        kept_bytes,
        itemsize,
        itemsize,
        problem.max_batch,
        evaluator.min_calls,
        evaluator.value_at_x is not None,
    )
    evaluator.wave_points = layout.in_flight
    return layout


def _check_points(problem: Problem, layout: _layout.Layout) -> tuple[Any, Any]:
    """The sentinel's direction and x's first point where the last call checks mixing."""
    if not layout.calls[-1][4]:
        return None, None
    # the first point of x where func was evaluated alone: a sub-problem over some of x's
    # points has its own problem.x but the evaluator's f0
    x0 = problem.evaluator.x_of_value
    if type(x0) is not np.ndarray or x0.ndim != 1:  # NumPy: x itself, no operation
        x0 = problem.xp.reshape(x0, (problem.n, -1))[:, 0]
    return _mixing.sentinel_direction(problem), x0


def _one_call_values(
    problem: Problem, layout: _layout.Layout, base: tuple, dtype: Any, head: tuple
) -> tuple[Any, Any]:
    """The values of a layout of one call (the scheme's, checked), and the mixing flag.

    Everything in one call and one unit per family: the points, func's call
    and the check of :func:`_checked`, without the loop of :func:`_evaluate`.
    """
    xp = problem.xp
    _, count, rects, pad, copy = layout.calls[0]
    direction, x0 = _check_points(problem, layout)
    points = _points.build(xp, rects, base, dtype, pad, copy=direction, x0=x0)
    with problem.evaluator as evaluator:
        chunk = (points, count + _mixing.EXTRA if copy else count)
        values = evaluator.one_batch(xp, chunk, head, problem.device)
    if not copy:
        return values, None
    return _checked(problem, values, math.prod(head), count, True)


def _empty(xp: Any, problem: Problem, shape: tuple, dtype: Any = None) -> Any:
    dtype = problem.dtype if dtype is None else dtype
    return xp.zeros(shape, dtype=dtype, device=problem.device)


def _chunks(
    xp: Any,
    layout: _layout.Layout,
    base: tuple[Any, Any, Any],
    dtype: Any,
    direction: np.ndarray | None,
    x0: Any,
) -> Iterator[tuple[Any, int]]:
    """Each call's points and how many of them the scheme's (with the copy and sentinel)."""
    for p0, p1, rects, pad, copy in layout.calls:
        points = _points.build(
            xp, rects, base, dtype, pad, copy=direction if copy else None, x0=x0
        )
        yield points, p1 - p0 + _mixing.EXTRA * copy


def _checked(problem: Problem, values: Any, m: int, count: int, whole: bool) -> tuple[Any, Any]:
    """A call's ``count`` values of the scheme, without the copy of x and the sentinel,
    and the flag of ``mixing.check_not_mixing`` (None where func does not mix points).

    A pass in host memory on a call that held all the run's points (``whole``)
    is remembered (``passes.remember``), and the derivative's later runs skip
    the check; after a pass on part of the points they check again.
    """
    if values.ndim != 2:
        values = problem.xp.reshape(values, (m, count + _mixing.EXTRA))
    evaluator = problem.evaluator
    evaluator.nfev -= _mixing.EXTRA  # nfev counts the derivative's points
    kept, mixed = _mixing.check_not_mixing(
        problem.xp, problem, values, count, evaluator.value_at_x
    )
    if mixed is None and whole:  # passed, in host memory: remembered, not checked again
        _passes.remember(evaluator.call.func, evaluator.checked, m)
        evaluator.value_at_x = evaluator.x_of_value = evaluator.checked = None
    return kept, mixed


def _evaluate(
    problem: Problem,
    layout: _layout.Layout,
    chunks: Iterator[tuple[Any, int]],
    head: tuple,
    m: int,
    combine_unit: CombineUnit,
    size: int,
) -> tuple[list, Any]:
    xp, device = problem.xp, problem.device
    units = layout.units
    done: list = []
    pending: list[tuple[int, Any]] = []
    next_unit = 0
    assembly = None
    mixed = None

    def finish(unit: _layout.Unit, values: Any) -> None:
        nonlocal assembly
        shape = (m, unit.g1 - unit.g0, unit.family.sets, unit.b1 - unit.b0)
        result = combine_unit(
            unit.index, (unit.g0, unit.g1), (unit.b0, unit.b1), xp.reshape(values, shape)
        )
        if assembly is None:
            assembly = _layout.Assembly(xp, unit.family.groups, size)
        assembly.add(unit, result)
        if unit.last:
            done.append(assembly.result())
            assembly = None

    with problem.evaluator as evaluator:
        values_iter = evaluator.batches(xp, chunks, head, device)
        calls = _layout.call_ranges(layout.calls)
        for (p0, p1, copy), values in zip(calls, values_iter, strict=True):
            if copy:
                values, mixed = _checked(problem, values, m, p1 - p0, len(layout.calls) == 1)
            if p0 == p1:
                continue  # the copy of x and the sentinel alone
            unit = units[next_unit]
            if not pending and unit.start == p0 and unit.end == p1:
                next_unit += 1  # the call is exactly one unit: no copy
                finish(unit, values)
                continue
            pending.append((p0, xp.reshape(values, (m, p1 - p0))))
            while next_unit < len(units) and units[next_unit].end <= p1:
                unit = units[next_unit]
                next_unit += 1
                unit_values = _layout.take_range(xp, pending, unit.start, unit.end)
                pending = [(s, v) for s, v in pending if s + v.shape[-1] > unit.end]
                finish(unit, unit_values)
    return done, mixed


# --- numDeriv's linear combination ---------------------------------------------------------


def run_linear(
    problem: Problem,
    scheme: LinearScheme,
    f0: Any,
    head: tuple,
    hg: Any,
    *,
    x4: Any,
    xg: Any,
    finish: bool = True,
) -> Any:
    """Evaluate a :class:`_schemes.LinearScheme`: its outputs ``(m, G, Q', size)``.

    ``f0`` is func at the base points, ``(m, size)`` (the complex step reads
    only where it is not finite; None where unknown); ``hg`` the steps ``(1,
    n, 1, size)``, or ``(n, 1, 1, size)`` for an elementwise function (None
    for absolute families). The outputs are
    the scheme's weighted sums (Q of them), then with ``full_output`` their
    error estimates (Q), then, when the scheme has level weights, the
    table's levels. First derivatives are divided by their step; with
    ``finish`` a non-finite output is NaN. ``x4``, ``xg`` are the base
    points (``Problem.base_points``, or others around x). :func:`run`
    evaluates the points, one call or many, and checks that func does not
    mix them against func's value at x whatever the base points.
    """
    xp = problem.xp
    size = x4.shape[3]
    m = math.prod(head)
    evaluator, family = problem.evaluator, scheme.family
    with_error = problem.full_output or scheme.select
    key = (
        scheme,
        xp,
        problem.device,
        problem.dtype,
        with_error,
        m,
        size,
        problem.n,
        problem.budget,
        problem.max_batch,
        evaluator.min_calls,
        evaluator.value_at_x is not None,
    )
    try:
        # a sparse pattern's scheme is made per call: cached, it would never be found
        # again and would keep its masks and plan (0.5 MB per call at n = 2e4)
        plan = linear_plan.__wrapped__(*key) if family.masks is not None else linear_plan(*key)
    except TypeError:  # a device that is not hashable: planned anew
        plan = linear_plan.__wrapped__(*key)
    weights, error, levels, kept, point_dtype, layout = plan
    if weights is None:
        weights, error, levels = _weight_arrays(
            scheme, xp, problem.device, problem.dtype, with_error
        )
    if f0 is not None:
        f0 = xp.reshape(f0, (m, 1, 1, size))
    step = hg if scheme.divide_by_step else None  # (1, n, 1, size), elementwise (n, 1, 1, size)
    if layout is not None:  # run's steps for one call and one unit, without the closure
        evaluator.wave_points = layout.in_flight
        values, mixed = _one_call_values(problem, layout, (x4, xg, hg), point_dtype, head)
        values = xp.reshape(values, (m, family.groups, family.sets, size))
        rows = combine_linear(xp, scheme, values, f0, weights, step, error, levels, finish)
        return rows if mixed is None else _mixing.poisoned(xp, mixed, [rows])[0]
    total = family.groups  # one group when elementwise: its units split base points alone

    def combine(index: int, groups: tuple[int, int], blocks: tuple[int, int], values: Any) -> Any:
        if groups == (0, total) and blocks == (0, size):  # the whole: nothing to slice
            return combine_linear(xp, scheme, values, f0, weights, step, error, levels, finish)
        w = _layout.unit_slice(weights, groups, total, 0)
        e = _layout.unit_slice(error, groups, total, 0)
        s = _layout.unit_slice(_layout.unit_slice(step, groups, total, 1), blocks, size, -1)
        f = _layout.unit_slice(f0, blocks, size, -1)
        return combine_linear(xp, scheme, values, f, w, s, e, levels, finish)

    (rows,) = run(problem, [family], head, combine, x4=x4, xg=xg, hg=hg, kept_bytes=kept)
    return rows


@functools.lru_cache(maxsize=256)
def linear_plan(
    scheme: LinearScheme,
    xp: Any,
    device: Any,
    dtype: Any,
    with_error: bool,
    m: int,
    size: int,
    n: int,
    budget: int,
    max_batch: int | None,
    min_calls: int,
    check: bool,
) -> tuple:
    """What :func:`run_linear` needs beside the points, planned once per key (cached).

    The scheme's weights, error weights (``with_error``) and levels in
    ``dtype`` (:func:`_weight_arrays`; NumPy's only: None for other
    libraries, whose arrays are made per call), the bytes of the outputs that
    the caller keeps, the points' dtype, and the layout where it is one call
    and one unit (``layout.plan_layout``; else None: :func:`run` plans the
    calls). ``check``: the last call checks that func does not mix points.
    """
    outputs = (1 + (with_error and scheme.error is not None)) * scheme.weights.shape[1]
    outputs += 0 if scheme.levels is None else scheme.levels.shape[1]
    rows_bytes = outputs * m * scheme.family.groups * size * _layout.itemsize_of(xp, dtype)
    numpy = _backend.is_numpy_namespace(xp)
    kept = rows_bytes * (1 if numpy else 2)
    point_dtype = _points.points_dtype(xp, scheme.family, dtype)
    layout = None
    if size and min_calls == 1:
        itemsize = _layout.itemsize_of(xp, point_dtype)
        planned = _layout.plan_layout(
            (scheme.family,), n, size, m, budget, kept, itemsize, itemsize, max_batch, 1, check
        )
        layout = planned if planned.one_call else None
    weights = error = levels = None  # a device's arrays are made per call (jax.jit: traced)
    if numpy:
        weights, error, levels = _weight_arrays(scheme, xp, device, dtype, with_error)
    return weights, error, levels, kept, point_dtype, layout


def _weight_arrays(
    scheme: LinearScheme, xp: Any, device: Any, dtype: Any, with_error: bool
) -> tuple[Any, Any, Any]:
    """A linear scheme's weights, error weights (``with_error``) and levels on the device,
    in ``dtype`` (the last two None where not used)."""
    weights = _backend.host_to_device(scheme.weights, xp, device, dtype)
    error = levels = None
    if with_error and scheme.error is not None:
        error = _backend.host_to_device(scheme.error, xp, device, dtype)
    if scheme.levels is not None:
        levels = _backend.host_to_device(scheme.levels, xp, device, dtype)
    return weights, error, levels


def combine_linear(
    xp: Any,
    scheme: LinearScheme,
    values: Any,
    f0: Any,
    weights: Any,
    step: Any,
    error: Any,
    levels: Any,
    finish: bool,
) -> Any:
    """The outputs of one unit of a :class:`_schemes.LinearScheme`: ``(m, G, Q', B)``.

    ``values`` is ``(m, G, L, B)``; ``f0`` the function at the base points,
    ``(m, 1, 1, B)``, or None; ``weights``, ``error`` and ``levels`` the
    scheme's weights on the device (the last two may be None); ``step`` the
    divisor, broadcasting against ``(m, G, 1, B)``, or None. For the complex
    step a value that is not finite, real or imaginary part, becomes NaN
    before its imaginary part is taken, and so does every value of an
    output whose f0 is not finite (``log(0 + ih)`` is finite).
    """
    with np.errstate(all="ignore"):  # NaN and inf are answers here, not NumPy warnings
        if scheme.part == "imag":
            finite = xp.isfinite(values)
            # func not finite at x: its complex values can still be (one NumPy value at x:
            # read as a Python float, which is sooner)
            if f0 is not None and not (type(f0) is np.ndarray and f0.size == 1):
                finite = finite & xp.isfinite(f0)
            elif f0 is not None and not abs(f0.item(0)) < math.inf:  # real or complex
                finite = xp.zeros_like(finite)
            values = xp.where(finite, xp.imag(values), math.nan)
        else:
            values = values - f0
        rows = weights @ values
        if step is not None:
            rows = rows / step
        if finish and scheme.part == "real":  # the complex step's values are checked above
            # inf becomes NaN (0 inf), every other value stays as it is, -0.0 included: what
            # where(isfinite(rows), rows, nan) gives, in two operations for its three
            rows = rows + 0.0 * rows
        if error is None and levels is None:
            return rows
        parts = [rows]
        # the complex step's imaginary parts cancel nothing; select_ladder adds its own
        rounded = scheme.part == "real" and f0 is not None and not scheme.select
        for extra in (error, levels):
            if extra is not None:
                part = extra @ values
                if extra is error and rounded:  # plus the value's rounding
                    spread = xp.max(xp.abs(values), axis=2, keepdims=True)
                    amplification = xp.sum(xp.abs(weights), axis=-1, keepdims=True)
                    part = xp.abs(part) + _steps.value_rounding(xp, f0, spread, amplification)
                part = part / step if step is not None else part
                parts.append(xp.abs(part) if extra is error else part)
        return xp.concat(parts, axis=2)
