"""Function mode, elementwise derivatives of any order: ``derivative``.

scipy.differentiate.derivative's contract — func is elementwise, the result
has x's shape — for derivatives of order 1 to 10. The first derivative is
grad's elementwise case (``first.first_derivatives``), to the bit. Higher
orders use the central stencils of ``derivative_schemes`` (Fornberg's
weights, Richardson's extrapolation folded into one host-side LinearScheme)
that the engine evaluates in one batched call (``engine.run_linear``). Method
"adaptive" (``derivative_ladder``) measures with a pilot how fast func varies
at each element (``derivative_pilot``), then evaluates a wider ladder of
steps in one call and keeps, per element, the entry of its Richardson table
with the smallest estimated error (truncation plus rounding), built with
array operations over all elements.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Literal, overload

import numpy as np

from .. import _backend, _budget, _validation
from .._numerics.richardson import richardson_table
from . import engine as _engine
from . import first as _first
from . import point_chunks as _point_chunks
from . import problem as _problem
from . import results as _results
from . import settings as _settings
from .adaptive import check_spread
from .derivative_ladder import check_noise as check_ladder_noise
from .derivative_ladder import ladder_derivative
from .derivative_schemes import (
    MAX_ORDER,
    LadderScheme,
    check_order,
    ladder_scheme,
    ladder_settings,
    richardson_defaults,
    richardson_scheme,
    stencil,
)
from .first_methods import first_derivative_numbers, print_table

__all__ = [
    "MAX_ORDER",
    "LadderScheme",
    "derivative",
    "ladder_scheme",
    "richardson_scheme",
    "stencil",
]

METHODS = ("Richardson", "adaptive")

# --- the two methods ---------------------------------------------------------------------


def _richardson(problem: _engine.Problem, f0: Any, head: tuple, order: int) -> dict:
    """n >= 2, Richardson: numDeriv's steps ``h = d |x| + eps (|x| < zero_tol)``."""
    xp, s = problem.xp, problem.settings
    # show_details: derivative asked for full_output, whose rows hold the table
    scheme = richardson_scheme(order, s.r, s.v, problem.full_output)
    x4, xg = problem.base_points()
    magnitude = xp.abs(x4)
    hg = xp.where(magnitude < s.zero_tol, magnitude * s.d + s.eps, magnitude * s.d)
    rows = _engine.run_linear(problem, scheme, f0, head, hg, x4=x4, xg=xg)
    with np.errstate(all="ignore"):
        rows = rows / hg**order  # (1, 1, Q', size) against (1, 1, 1, size)
    out = {"value": rows[:, :, 0, :], "error": None, "rows": rows, "scheme": scheme, "steps": hg}
    if problem.full_output:
        out["error"] = rows[:, :, 1, :]
    return out


def _grad_layout(
    x: Any, size: int, max_batch: object, workers: object, vectorized: object
) -> bool:
    """n = 1: lay the elements out as grad's coordinates, to grad's path and bits.

    x as ``(size,)``, an elementwise function of ``size`` coordinates: every
    point in the calls :func:`grad` makes (one, on NumPy arrays, by its
    executor). With ``max_batch`` or ``workers``, or points beyond the
    memory budget's share, the elements are the points of one coordinate
    instead, ``(1, size)``, so that calls can split between elements (the
    same sums, to rounding); with ``vectorized=False`` too, so that func gets
    one element at a time, as at every other order (it got all of x as one point).
    """
    columns = 16  # the most points per element any first-derivative method sends at once
    return (
        vectorized is True
        and max_batch is None
        and workers is None
        and 2 * columns * size * 16 <= _budget.get_memory_budget(x)  # points and values
    )


def _result(
    problem: _engine.Problem, out: dict, value: Any, shape: tuple
) -> _results.DerivativeResult:
    """The :class:`~xpdiff.DerivativeResult` of ``derivative`` (any order, either method)."""
    xp = problem.xp
    if "order" in out:  # adaptive
        return _results.result(
            _results.DerivativeResult,
            problem,
            value,
            xp.reshape(out["error"], shape),
            steps=xp.reshape(out["steps"], shape),
            order=xp.reshape(out["order"], shape),
            step=xp.reshape(out["step"], shape),
        )
    s, scheme, rows = problem.settings, out["scheme"], out["rows"]
    first = scheme.level_row(True)  # full_output: the errors were computed
    levels = [xp.reshape(rows[:, :, first + k, :], shape) for k in range(s.r)]
    factors = [float(s.v) ** (2 * m) for m in range(1, s.r)]
    scale = _backend.host_to_device(
        s.v ** -np.arange(s.r, dtype=np.float64), xp, problem.device, problem.dtype
    )
    steps = xp.reshape(
        xp.reshape(scale, (s.r, 1)) * xp.reshape(out["steps"], (1, math.prod(shape))),
        (s.r, *shape),
    )
    return _results.result(
        _results.DerivativeResult,
        problem,
        value,
        xp.reshape(out["error"], shape),
        steps=steps,
        table=richardson_table(levels, factors),
    )


def _full_result(
    problem: _engine.Problem, out: dict, value: Any, elementwise: bool, ladder: Any, show: bool
) -> _results.DerivativeResult:
    """:func:`_result`, its table printed where ``show`` (numDeriv's show.details)."""
    size = math.prod(value.shape)
    res = _result(problem, out, value, value.shape)
    if show and res.table is not None:  # Richardson's: always a table
        print_table(res.table, size)
    if elementwise:  # grad's layout counts points of `size` elements: count elements
        res.nfev *= size
    if ladder is not None:
        res.method_args = dict(ladder)
    return res


def _numbers(
    problem: _engine.Problem, order: int, elementwise: bool, ladder: Any
) -> tuple[int, int]:
    """Numbers per element that the method holds beside the engine's count, and that its
    result keeps (``point_chunks``); none where nothing can be split. n >= 2 assembles
    its rows (the value, or full_output's table: "adaptive"'s ``r`` is the ladder's)
    and keeps the value; with full_output also the error, the steps, and Richardson's
    rows (value, error, levels) or adaptive's order and step, each joined on its own.
    """
    if problem.size <= 1:  # grad's layout, or one element
        return 0, 0
    if order == 1:
        return first_derivative_numbers(problem, (1,), elementwise)
    r, full = ladder["r"] if ladder else problem.settings.r, problem.full_output
    kept = 5 + r * (problem.method == "Richardson") if full else 1
    return 8 + 3 * (4 + 2 * r if full else 1), kept


def _at_points(
    problem: _engine.Problem, order: int, elementwise: bool, ladder: dict | None
) -> dict:
    """func at the problem's elements, then their n-th derivatives (see :func:`derivative`)."""
    f0, head = _engine.value_at_x(problem)
    size = problem.size if not elementwise else problem.n
    # one element at a time (vectorized=False): its value (1,) or a scalar, () here
    one_element = not elementwise and not problem.evaluator.vectorized and head == ()
    if head != ((size,) if elementwise else (1,)) and not one_element:
        raise ValueError(
            f"derivative assumes an elementwise function: func must return an array of "
            f"its argument's shape {problem.shape}, got shape {tuple(f0.shape)}"
        )
    if order == 1:
        return _first.first_derivatives(problem, f0, head, elementwise)
    run = (lambda p, f, h, o: ladder_derivative(p, f, h, o, ladder)) if ladder else _richardson

    def compute(part: _engine.Problem, f: Any) -> dict:
        out = run(part, f, head, order)
        if not part.full_output:  # the value alone is read: nothing else kept per element
            out = {"value": out["value"]}
        return out

    held, kept = _numbers(problem, order, False, ladder)
    return _point_chunks.over_points(problem, f0, compute, held, kept)


# --- derivative ----------------------------------------------------------------------------


@overload
def derivative(
    func: Callable[..., Any],
    x: Any,
    /,
    *,
    n: int = 1,
    method: str = "adaptive",
    method_args: dict | None = None,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[False] = False,
) -> Any: ...


@overload
def derivative(
    func: Callable[..., Any],
    x: Any,
    /,
    *,
    n: int = 1,
    method: str = "adaptive",
    method_args: dict | None = None,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: Literal[True],
) -> _results.DerivativeResult: ...


def derivative(
    func: Callable[..., Any],
    x: Any,
    /,
    *,
    n: int = 1,
    method: str = "adaptive",
    method_args: dict | None = None,
    args: tuple = (),
    kwargs: dict | None = None,
    vectorized: bool = True,
    max_batch: int | None = None,
    workers: int | Callable | None = None,
    full_output: bool = False,
) -> Any | _results.DerivativeResult:
    """The n-th derivative of an elementwise function at every element of x.

    scipy.differentiate.derivative's contract: ``func`` is elementwise (its
    value at an array is the array of its values at each element) and the
    result has x's shape, for derivatives of order ``n`` from 1 to 10. Every
    perturbed point of every element goes to func in one call (the memory
    budget and ``max_batch`` may split it), after one call at x ("adaptive":
    and one of its pilot).

    Parameters
    ----------
    func : callable
        ``func(x, *args, **kwargs)``, elementwise: it returns an array of
        the shape of its argument. It receives arrays of xpdiff's own (never
        the caller's ``x``), not of x's shape: for n = 1 those of
        :func:`grad` with x flattened to ``(N,)`` coordinates (``(N,)`` at x,
        ``(N, points)`` for the perturbed points), for n >= 2 (and with
        ``max_batch``, ``workers`` or points beyond the memory budget) ``(1,
        points)``, every element and perturbed point along the last axis;
        with ``vectorized=False`` one element, ``(1,)``, at a time, whose
        value may be ``(1,)`` or a scalar.
    x : array_like
        The points, any shape; a scalar is one point. An empty x gives an
        empty result (func is not called), as scipy.differentiate.derivative.
        Integers become float64; float32 is kept; float16 and bfloat16
        become float32, the result's dtype too.
    n : int, optional
        The order of the derivative, 1 to 10. Default 1.
    method : {"adaptive", "Richardson"}, optional
        "adaptive" (the default): steps chosen per element from the function
        (see Notes). "Richardson": numDeriv's central differences with
        steps ``h, h/v, ..., h/v**(r-1)``, extrapolated (``r`` = 4 levels,
        ``v`` = 2), ``2 r ceil(n/2)`` points per element: fewer points, fixed
        relative steps.
    method_args : dict, optional
        "adaptive": for n = 1 those of :func:`grad`'s "adaptive"; for n >= 2
        ``d`` (0.5: the first step is ``d max(|x|, 1)``), ``r`` (8 levels, 3
        to 12) and ``v`` (2, their ratio). Richardson: numDeriv's ``eps``,
        ``d``, ``zero_tol``, ``r``, ``v`` (the step is ``h = d |x| + eps (|x| <
        zero_tol)``; ``d`` and ``eps`` default to 1e-4 for n = 1 and grow
        with n, see Notes) and ``show_details`` (True: the Richardson table,
        an element per column, printed as :func:`grad` prints it).
    args, kwargs, vectorized, max_batch, workers
        As in :func:`grad`: ``args`` and ``kwargs`` reach every call of func
        unchanged. Unlike scipy.differentiate.derivative's, arrays among them
        are not laid out like the points (func's arrays are not of x's shape,
        above), so a parameter per element of x does not broadcast with them.
    full_output : bool, optional
        Return a :class:`~xpdiff.DerivativeResult` (``value``, ``error``,
        ``nfev``, ``ncalls``, ``steps``; the Richardson ``table``; the
        adaptive ``order`` and ``step``), which unpacks as ``(value, info)``.

    Returns
    -------
    d : array
        The n-th derivative, x's shape, namespace, device and floating dtype.
    res : DerivativeResult
        Instead of ``d``, with ``full_output=True``.

    Notes
    -----
    "adaptive", n = 1, is :func:`grad`'s "adaptive" (three calls: x, a pilot
    of 3 points per element that measures how fast func varies, a ladder of
    8); its median relative error on smooth functions is about 1e-14. For
    n >= 2 it runs a pilot of its own (4 points per element, ``x +- T/256``
    and ``x +- T``, a call of their own), then evaluates, in one call, a
    ladder of ``r`` levels of the central stencil of the n-th derivative
    (offsets ``-p .. p``, ``p = ceil(n/2)``, Fornberg's weights) with steps
    ``H / v**k``: ``H = d max(|x|, 1)`` capped by the pilot's lambda (the
    length over which func changes; where func is not finite near x, ``|x| /
    2p``, lambda from x and the pilot's near pair where a far value is not
    finite; there the ladder's second shortest level reaches no farther than
    the near pair, its longest no farther than ``T / 1024`` where the near
    pair was not finite either), a power of two. Each distinct point is
    evaluated once: with ``v`` = 2 a level's ``+-2h`` are the ``+-h`` of the
    level above, so the ladder has 16 points per element for n = 2, 18 for n
    = 3, 4, 34 for n = 5, 6.
    Every extrapolation of up to three Richardson columns of the ladder is a
    candidate, ranked by its difference from the one it improves on plus its
    rounding error; each element keeps the candidate of smallest rank among
    those whose points, and those of the candidate it improves on (and of the
    estimate its error is checked against), are all finite (so a domain edge,
    as of log near 0, costs accuracy, not a NaN, where the estimate is
    resolved; on an exact tie, the first in the order of increasing column,
    then decreasing step). Where the ladder or the pilot met a value that is
    not finite, the candidate is kept only where its rank is at most a tenth
    of the larger of its value and func's variation over ``max(|x|, 1)``
    (the largest difference of its finite values on the ladder from f(x),
    over ``max(|x|, 1)**n``: a derivative near 0 is kept), else NaN: the
    short steps left beside a hole or an edge near x gave rounding noise for
    n >= 3 (5504 for cos's 5th derivative at 2.999 with NaN beyond 3, its
    error 6e4). Its error (``full_output``) is estimated as
    :func:`grad`'s "adaptive" estimates it: the larger of that difference and
    its difference from the estimate of the order below one level longer
    (two differences rarely vanish together by chance: the first alone
    understated the error up to 360 times on atan, n = 5), plus the rounding
    error; inf where that exceeds a tenth of the value and the rounding error
    (a singularity within the steps, as of 1/x at 1e-5: no digit to trust;
    not an exact zero, whose candidates differ by rounding alone).
    The table is built
    with array operations over all elements at once (the levels, then each
    Richardson column from the one before; on NumPy in blocks that stay in
    cache); no loop over elements, no transfer to the host: it runs lazily
    on Dask and under ``jax.jit``.

    For n = 1 both methods are :func:`grad`'s elementwise case on x
    flattened, with its calls and results to the bit (and its one-call path
    for NumPy arrays); ``nfev`` counts elements times points. With
    ``max_batch`` or ``workers`` the elements are laid out as points instead,
    so that calls can split between them (the same sums, to rounding).

    "Richardson", n = 1, is :func:`grad`'s elementwise derivative. For
    n >= 2 the stencil is the same, its error has only even powers of h,
    which the extrapolation removes two at a time. Rounding errors grow as
    ``eps / h**n``, so the default relative step grows with n: ``d`` = 0.02,
    0.05, 0.1, 0.15, 0.2, 0.2, 0.3, 0.4, 0.5 for n = 2 .. 10 (``eps`` the same;
    n = 7 .. 10 keep about 3, 2, 1 and 1 digits of the largest derivative near
    x on functions that vary on the scale of 1, entire or with poles at +-i,
    but none for n = 8 .. 10 on one of scale 3 (``exp(x / 3)``): a fixed step
    suits one scale at these orders; their farthest points lie 0.8 to 2.5
    times ``|x|`` from x (``|x| + 1`` where ``|x| < 1``), across 0 for a
    function of x's scale, as log: use "adaptive"),
    and the absolute step ``eps`` serves every ``|x| < 1`` (``zero_tol`` 1):
    a step ``d |x|`` that shrank with x took exp's 4th derivative at 0.01 to
    0.86. float32 takes ``d`` = 0.1, 0.1, 0.2, 0.2 for n = 2 .. 5 and 0.3
    beyond over ``r`` = 3 levels: n = 2, 3 keep about 3 and 2 digits, n >= 4
    none reliably (use "adaptive"). Settings given in ``method_args`` that
    leave only rounding noise for the order are a ValueError, as for
    :func:`hessian`. Functions that vary much faster than x over that step
    need a smaller ``d``, or "adaptive".

    A function value that is not finite gives NaN in that element, never a
    finite wrong number.

    Examples
    --------
    >>> import numpy as np
    >>> import xpdiff as xd
    >>> x = np.linspace(0.5, 2.0, 4)
    >>> d3 = xd.derivative(np.exp, x, n=3)
    >>> bool(np.allclose(d3, np.exp(x), rtol=1e-9, atol=0))
    True
    >>> d4 = xd.derivative(np.sin, np.array([[0.3], [1.2]]), n=4)  # any shape
    >>> d4.shape, bool(np.allclose(d4, np.sin([[0.3], [1.2]]), rtol=1e-7))
    ((2, 1), True)
    >>> res = xd.derivative(np.log, x, n=2, method="adaptive", full_output=True)
    >>> bool(np.all(np.abs(res.value + 1 / x**2) <= 10 * res.error + 1e-12))
    True
    """
    order = check_order(n)
    if type(x) is not np.ndarray and isinstance(x, np.ma.MaskedArray):
        raise TypeError("x is a masked array: pass x.filled(...) or a plain array")
    xp, x = _backend.array_namespace(x)
    shape = _validation.known_shape("x", x.shape)
    size = math.prod(shape)
    method = _settings.canonical_method(method, METHODS, "derivative")
    elementwise = size > 0 and order == 1 and _grad_layout(x, size, max_batch, workers, vectorized)
    ladder = ladder_settings(method_args) if method == "adaptive" and order > 1 else None
    if size:
        points = xp.reshape(x, (size,) if elementwise else (1, size))
    else:  # no element (Dask cannot reshape (0, 3) to (1, 0)): its dtype and device
        points = xp.zeros((1, 0), dtype=x.dtype, device=_backend.device_of(x))
    problem = _problem.setup(
        func,
        points,
        method,
        None,
        None if ladder is not None else method_args,
        _problem.CallOptions(args, kwargs, vectorized, max_batch, workers, full_output),
        methods=METHODS,
        function="derivative",
        defaults=richardson_defaults(method, order),
        derivative_order=order if method == "Richardson" else 1,
    )
    # numDeriv's show.details: the Richardson table printed, as grad prints it (the rows
    # that full_output keeps)
    show = method == "Richardson" and problem.settings.show_details
    if show and not full_output:
        problem = dataclasses.replace(problem, full_output=True)
    if ladder is not None:  # steps that would not move x: refused as grad's "adaptive" is
        eps = _engine.machine_eps(xp, problem.dtype)
        if "d" in (method_args or {}):  # and a d of nothing but noise, as Richardson's
            check_ladder_noise(ladder, order, eps)
        check_spread(SimpleNamespace(**ladder), eps)
    if size == 0:  # scipy.differentiate.derivative's empty result; func is not called
        empty = xp.zeros(shape, dtype=problem.dtype, device=problem.device)
        if not full_output:
            return empty
        res = _results.result(_results.DerivativeResult, problem, empty, empty)
        res.method_args = dict(ladder) if ladder is not None else res.method_args
        return res
    held, kept = _numbers(problem, order, elementwise, ladder)

    def compute(part: _engine.Problem, _: None) -> dict:
        return _at_points(part, order, elementwise, ladder)

    # x's copy for func at x, f(x) and each element's arrays: chunks of elements if need be
    out = _point_chunks.over_points(problem, None, compute, held + 2, kept)
    value = xp.reshape(out["value"], shape)
    if not problem.full_output:
        return value
    res = _full_result(problem, out, value, elementwise, ladder, show)
    return res if full_output else value
