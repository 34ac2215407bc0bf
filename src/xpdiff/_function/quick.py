"""grad's quick path: the everyday call, planned once, run with little Python.

``xd.grad(func, x)`` with a NumPy float64 ``x`` of shape ``(n,)``, method
"Richardson" or "complex", and none of the other arguments (numDeriv's
defaults): everything but func's values depends on (method, n, memory budget)
alone — the checked settings, the scheme, its weights, the layout of its one
call — so :func:`plan_for` plans it once (cached) from the general path's own
pieces (``problem.setup``, ``first_methods``, ``engine.linear_plan``), and a
call runs only what depends on x and func: func at x (``Plan.value_at_x``),
the steps, the points, func on them and the weighted sum
(``Plan.gradient``). These are the general path's functions, called in the
same order on arrays of the same shapes, so the results are the same bits
(tests/test_quick.py compares them); what is left out is Python that
decides what the plan already knows.

A func goes this way only where it passed the check that it does not mix
points on this kind of call (``passes.passed_on``): its first call takes the
general path, which checks it. grad takes the general path again from func's
value at x where that value is not a scalar function's (``first.grad``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _budget
from . import engine as _engine
from . import evaluators as _evaluators
from . import passes as _passes
from . import point_chunks as _point_chunks
from . import steps as _steps
from .first_methods import FIRST_DERIVATIVE_SCHEMES

__all__ = ["Plan", "plan_for", "planning_only"]

_FLOAT64 = np.dtype(np.float64)

#: bytes of a scalar func's points per n**2: 8 n float64 points (Richardson), n complex128
_POINT_BYTES = {"Richardson": 64, "complex": 16}


class Plan:
    """What grad's general path decides for one (method, n, budget), decided once."""

    __slots__ = (
        "complex",
        "count",
        "device",
        "divide",
        "flat",
        "heads",
        "kind",
        "multiplier",
        "n",
        "point_dtype",
        "points_shape",
        "relative",
        "scheme",
        "settings",
        "shift",
        "values_shape",
        "weights",
        "xp",
    )

    def __init__(self, method: str, n: int, budget: int) -> None:
        with _budget.memory_budget(budget):  # the key's, whatever another thread sets
            problem = _engine.setup(planning_only, np.zeros(n), method, None, None)
        layouts = []
        for f0 in (np.zeros(()), np.zeros(1)):  # f(x) of shape () and (1,): the budget less
            # what the general path's one_point counts of it (nothing for a 0-d array)
            part = _point_chunks.one_point(problem, f0)
            scheme = FIRST_DERIVATIVE_SCHEMES[method](part, False, False)
            key = (scheme, part.xp, part.device, part.dtype, False, 1, 1, n, part.budget, None)
            weights, _, _, _, point_dtype, layout = _engine.linear_plan(
                *key, part.evaluator.min_calls, False
            )
            layouts.append(layout)
        layout = layouts[0]
        #: f(x)'s shapes whose general path makes this one call (at a budget's edge, the 8
        #: bytes of a (1,) f(x) can split it: that one goes the general way from f(x))
        heads = ((),) if layouts[1] is None else ((), (1,))
        kind = _passes.kind_of_call(problem)
        self.xp, self.device, self.settings = problem.xp, problem.device, problem.settings
        self.n, self.complex, self.scheme, self.weights = n, method == "complex", scheme, weights
        # the kind of call of the mixing check (passes.passed_on); () where not quick
        self.kind = () if kind is None or layout is None else kind[0]
        count, rects, pad = layout.calls[0][1:4] if layout else (0, [], False)
        if len(rects) != 1 or rects[0].kind != "diagonal" or rects[0].points != count:
            self.kind = ()  # not one diagonal rectangle: not this module's points
        sets = scheme.family.sets
        self.count, self.point_dtype, self.relative = count, point_dtype, scheme.family.relative
        self.multiplier = rects[0].numpy_multiplier(point_dtype) if rects else None
        # the complex step's one multiplier, i h, as a NumPy scalar of the points' dtype
        self.shift = self.multiplier.reshape(-1)[0] if self.multiplier is not None else None
        self.divide = scheme.divide_by_step
        self.values_shape = (1, scheme.family.groups, sets, 1)
        self.points_shape = (n, count + pad)
        #: f(x)'s shape -> the shape of func's values on the points
        self.heads = {head: (*head, count + pad) for head in heads}
        # coordinate g moved in set l of group g: points[g, g * sets + l] (rows of count + pad)
        width = count + pad
        self.flat = (np.arange(n)[:, None] * (width + sets) + np.arange(sets)).reshape(-1)

    def evaluator(self, func: Any) -> _evaluators.Evaluator:
        """The evaluator the general path would make: its checks and notes."""
        return _evaluators.evaluator_for(
            func, (), {}, vectorized=True, workers=None, complex_batch=self.complex, dtype=_FLOAT64
        )

    def value_at_x(self, func: Any, x: np.ndarray) -> Any:
        """func at a copy of x, checked as the evaluator's ``at`` checks it."""
        xc = x.copy()
        f0 = func(xc)  # NumPy x: no note for an exception (evaluators.Evaluator.at)
        if type(f0) is np.float64:  # a scalar function's value, as NumPy's sum gives it
            return f0  # what follows reads it as the evaluator's 0-d array
        return self.evaluator(func).checked_at(self.xp, xc, self.device, f0)

    def gradient(self, func: Any, x: np.ndarray, f0: Any) -> Any:
        """The gradient of a scalar func (``f0`` of shape ``()`` or ``(1,)``) at x."""
        xp, n = self.xp, self.n
        if self.complex and f0.dtype.kind == "c":
            _engine.check_real_valued(xp, f0)
        # the points as points.build writes a diagonal rectangle and its padding column: x in
        # every column, then x + m h (x + m for the complex step) on the diagonal
        points = np.empty(self.points_shape, self.point_dtype)
        points[...] = x.reshape(n, 1)
        if self.relative:
            xg = x.reshape(1, n, 1, 1)
            hg = _steps.numderiv_steps(xp, xg, self.settings)
            with np.errstate(all="ignore"):  # an infinite step: NaN points, not NumPy warnings
                moved = (xg + self.multiplier * hg).reshape(-1)
        else:
            hg, moved = None, x + self.shift  # one set: (n,) is the diagonal's order
        points.reshape(-1)[self.flat] = moved
        try:
            values = func(points)
        except Exception as exc:
            self.evaluator(func).explain(xp, exc, points)
            raise
        if (
            type(values) is np.ndarray
            and values.dtype == self.point_dtype
            and values.shape == self.heads[f0.shape]
        ):  # as the evaluator's batch_values keeps them (the padding column dropped)
            values = values[..., : self.count]
        else:
            values = self.evaluator(func).batch_values(
                xp, values, points, self.count, f0.shape, self.device
            )
        step = hg if self.divide else None
        rows = _engine.combine_linear(
            xp,
            self.scheme,
            values.reshape(self.values_shape),
            f0.reshape(1, 1, 1, 1),
            self.weights,
            step,
            None,
            None,
            True,
        )
        return rows.reshape(n)  # (1, n, 1, 1): one output row, the gradient


def planning_only(x: Any) -> Any:
    """The func a plan's problem holds: never called."""
    raise AssertionError("a quick plan never calls func")


#: (method, n, budget) -> its plan, or None where the quick path cannot serve it
_PLANS: dict[tuple[str, int, int], Plan | None] = {}

#: the most plans kept (then all are forgotten and made again as needed)
PLANS = 64


def plan_for(func: Any, x: np.ndarray, method: Any) -> Plan | None:
    """The plan of ``grad(func, x, method)`` with a NumPy ``x`` and no other argument,
    where the quick path serves it; else None (the general path)."""
    if x.ndim != 1 or x.dtype is not _FLOAT64 or x.shape[0] == 0:
        return None
    if type(method) is not str or method not in _POINT_BYTES or not callable(func):
        return None
    key = (method, x.shape[0], _budget.get_memory_budget(x))
    plan = _PLANS.get(key)
    if plan is None and key not in _PLANS:
        # planned only for a func that passed the check on some call, and where the points
        # alone fit the budget (one call can hold them): never for a large elementwise n
        if not _passes.passed_any(func) or key[1] ** 2 * _POINT_BYTES[method] > key[2]:
            return None
        made = Plan(*key)
        plan = made if made.kind else None
        if len(_PLANS) >= PLANS:
            _PLANS.clear()
        _PLANS[key] = plan
    if plan is None or _passes.passed_on(func, plan.kind) != 1:
        return None
    return plan
