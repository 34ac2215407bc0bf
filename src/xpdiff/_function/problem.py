"""The checked arguments of one function-mode derivative: :class:`Problem` and :func:`setup`.

Every public function of function mode starts here: func, x, the method and its
settings, the side of each coordinate, the evaluator that the arguments ask for
and the memory budget, checked once and held in a :class:`Problem` that the
engine (``engine``) and the methods read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import _backend, _budget, _validation
from .._typing import Array, ArrayLike, Device, Namespace
from . import evaluators as _evaluators
from . import settings as _settings

__all__ = [
    "CallOptions",
    "Problem",
    "at_x",
    "defaults_only",
    "machine_eps",
    "parse_sides",
    "points_per_call",
    "setup",
]

#: the functions whose methods build no Richardson table: ``show_details`` is refused
TABLELESS = ("jvp", "hvp")


@dataclass(slots=True)
class Problem:
    """The checked arguments of one derivative."""

    xp: Namespace
    device: Device
    method: str
    settings: Any  # _settings.Settings, or _settings.AdaptiveSettings for method="adaptive"
    sides: tuple
    one_sided: bool  # some coordinate has a side
    evaluator: _evaluators.Evaluator
    x: Array  # the point(s), (n, *B), real floating; never given to func
    shape: tuple  # the caller's x shape
    n: int
    batch_shape: tuple
    size: int
    max_batch: int | None
    full_output: bool
    budget: int

    @property
    def dtype(self) -> Any:
        """x's (real floating) dtype: the work's."""
        return self.x.dtype

    @property
    def compact_sides(self) -> tuple[float, ...]:
        """The sides, or one NaN for all when none is one-sided: a key of cached schemes
        whose cost is not n's (hashing n NaNs took 55 ms of grad's first adaptive call of
        an elementwise func at 1e6 points)."""
        return self.sides if self.one_sided else (math.nan,)

    def with_budget(self, budget: int) -> Problem:
        """The same problem under another memory budget (nothing is checked again).

        What ``dataclasses.replace(self, budget=budget)`` gives, at a sixth of
        its cost: every derivative takes it once (``point_chunks``).
        """
        return Problem(
            self.xp,
            self.device,
            self.method,
            self.settings,
            self.sides,
            self.one_sided,
            self.evaluator,
            self.x,
            self.shape,
            self.n,
            self.batch_shape,
            self.size,
            self.max_batch,
            self.full_output,
            budget,
        )

    def base_points(self) -> tuple[Array, Array]:
        """``x`` as ``(n, 1, 1, size)`` and as ``(1, n, 1, size)`` (see ``_points``)."""
        xp = self.xp
        x4 = xp.reshape(self.x, (self.n, 1, 1, self.size))
        xg = xp.reshape(self.x, (1, self.n, 1, self.size))
        return x4, xg


# --- arguments ---------------------------------------------------------------------------


def _real_point(xp: Namespace, x: Array) -> Array:
    """``x`` as a real floating array: integers and bools to float64, float16 to float32,
    a float wider than float64 (NumPy's longdouble) to float64, the widest the work has."""
    dtype = x.dtype
    if dtype == xp.float64 or dtype == xp.float32:
        return x
    if xp.isdtype(dtype, "complex floating"):
        raise TypeError(f"x must be real, got dtype {dtype}")
    if xp.isdtype(dtype, ("integral", "bool")):
        return xp.astype(x, _backend.widest_float(xp))
    if not xp.isdtype(dtype, "real floating"):
        raise TypeError(f"x must be a real array, got dtype {dtype}")
    if xp.finfo(dtype).eps < xp.finfo(xp.float64).eps:  # longdouble: was made float32
        return xp.astype(x, _backend.widest_float(xp))
    return xp.astype(x, xp.float32)  # float16 and other short floats


_MACHINE_EPS: dict[tuple[str, Any], float] = {}


def machine_eps(xp: Namespace, dtype: Any) -> float:
    """The machine epsilon of a real floating ``dtype`` (cached per library and dtype)."""
    key = (type(dtype).__module__, dtype)
    eps = _MACHINE_EPS.get(key)
    if eps is None:
        eps = _MACHINE_EPS[key] = float(xp.finfo(dtype).eps)
    return eps


#: numDeriv's side per coordinate (kept here for callers of the engine)
parse_sides = _validation.sides


class CallOptions(NamedTuple):
    """The keywords that every public function of function mode shares.

    Built once per public call (``CallOptions(args, kwargs, vectorized,
    max_batch, workers, full_output)``, as the caller gave them: the
    annotations say what is allowed, not what was checked) and handed to
    :func:`setup`, which checks them and keeps the checked values in the
    :class:`Problem` and its evaluator. A named tuple: a few hundred
    nanoseconds to build, which a call of a few tens of microseconds feels.
    """

    args: tuple = ()
    kwargs: dict | None = None
    vectorized: bool = True
    max_batch: int | None = None
    workers: int | Callable | None = None
    full_output: bool = False


#: the public functions' defaults
DEFAULT_OPTIONS = CallOptions()


def defaults_only(
    method_args: object,
    args: object,
    kwargs: object,
    vectorized: object,
    max_batch: object,
    workers: object,
    full_output: object,
) -> bool:
    """Whether a call gave none of these keywords (each its default): the everyday
    call that grad's and jvp's quick paths serve (``quick``, ``quick_jvp``)."""
    return (
        method_args is None
        and type(args) is tuple
        and not args
        and kwargs is None
        and vectorized is True
        and max_batch is None
        and workers is None
        and full_output is False
    )


def _checked_point(x: ArrayLike) -> tuple[Namespace, Device, Array]:
    """x's namespace, device and x itself as a real floating array (masked arrays refused)."""
    if type(x) is not np.ndarray and isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            "x is a masked array: function mode cannot honour a mask (every coordinate "
            "is perturbed); pass x.filled(...) or the unmasked coordinates as a plain array"
        )
    xp, x = _backend.array_namespace(x)
    if type(x) is not np.ndarray:
        x = _backend.without_empty_chunks(x)
    return xp, _backend.device_of(x), _real_point(xp, x)


def setup(
    func: object,
    x: ArrayLike,
    method: object,
    side: object,
    method_args: object,
    options: CallOptions = DEFAULT_OPTIONS,
    *,
    methods: tuple[str, ...] = _settings.METHODS,
    function: str = "grad",
    defaults: dict | None = None,
    derivative_order: int = 1,
) -> Problem:
    """Check the arguments that every function-mode call shares.

    ``options`` holds the public call's shared keywords (:class:`CallOptions`).
    """
    method = _settings.canonical_method(method, methods, function)
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    args, kwargs = _validation.func_arguments(options.args, options.kwargs)
    vectorized = _validation.check_bool("vectorized", options.vectorized)
    full_output = _validation.check_bool("full_output", options.full_output)
    max_batch = _validation.check_max_batch(options.max_batch)
    xp, device, x = _checked_point(x)
    shape = _validation.known_shape("x", x.shape)
    n = shape[0] if shape else 1
    if n == 0:
        raise ValueError("x must have at least one coordinate")
    if not shape:
        x = xp.reshape(x, (1,))
    batch_shape = shape[1:]
    sides = _validation.sides(side, n)
    settings = _settings.method_settings(
        method,
        method_args,
        machine_eps(xp, x.dtype),
        defaults=defaults,
        derivative_order=derivative_order,
    )
    if function in TABLELESS and getattr(settings, "show_details", False):
        raise ValueError(
            f"method_args show_details=True prints the Richardson table (numDeriv's "
            f"show.details) of grad, jacobian and derivative; {function} builds none: leave "
            f"it out (full_output=True gives {function}'s error estimate)"
        )
    evaluator = _evaluators.evaluator_for(
        func,
        args,
        kwargs,
        vectorized=vectorized,
        workers=options.workers,
        complex_batch=method == "complex",
        dtype=x.dtype,
    )
    return Problem(
        xp,
        device,
        method,
        settings,
        sides,
        side is not None and any(not math.isnan(s) for s in sides),
        evaluator,
        x,
        shape,
        n,
        batch_shape,
        math.prod(batch_shape),
        max_batch,
        full_output,
        _budget.get_memory_budget(x),
    )


def points_per_call(max_batch: int | None, n: int) -> int | None:
    """The most points a call of func holds: ``max_batch``, but ``n - 1`` where it is n
    (> 1): a call of exactly n points gets a padding point (``evaluators.unpad``), and
    n + 1 would exceed it."""
    return max_batch - 1 if max_batch is not None and max_batch == n > 1 else max_batch


def at_x(xp: Any, problem: Problem, x: Any = None) -> Any:
    """func at x (``problem.x``, or points ``x`` of its shape: ``mixing``'s call once more),
    on copies that xpdiff owns: one call, or calls of at most ``max_batch`` points
    (``derivative``'s elements, a batch of base points; ``n - 1`` where ``max_batch``
    is n), joined."""
    x = problem.x if x is None else x
    evaluator, batch = problem.evaluator, tuple(x.shape[1:])
    # as the layout's calls: n = 2 calls one point at a time, as the derivative's calls
    # do, where no check could see a func mix the points of x (grad of x (2, 3) was 1e3 off)
    limit, count = points_per_call(problem.max_batch, x.shape[0]), math.prod(batch)
    if limit is None or count <= limit or not evaluator.vectorized:
        return evaluator.at(xp, _backend.copy(xp, x), problem.device)
    flat = xp.reshape(x, (x.shape[0], count))
    parts: list = []
    for b in range(0, count, limit):
        points = _backend.copy(xp, flat[:, b : min(b + limit, count)])
        part = evaluator.at(xp, points, problem.device)
        if parts:  # the first chunk's outputs at every point
            head = tuple(parts[0].shape[:-1])
            _evaluators.check_batch_shape(part, head, points.shape[1], tuple(points.shape))
        parts.append(part)
    values = xp.concat(parts, axis=-1)
    return xp.reshape(values, (*values.shape[:-1], *batch))
