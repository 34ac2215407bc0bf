"""jvp's schemes, and its quick path: the everyday call, planned once.

The schemes (:func:`jvp_scheme`, :func:`host_weights`): the derivative of
``s -> f(x + s v)`` at 0 by numDeriv's method of one coordinate, every
coordinate moving (``products.jvp`` runs them on any library).

The quick path: ``xd.jvp(func, x, v)`` with NumPy float64 ``x`` and ``v`` of
shape ``(n,)``, method "Richardson" and none of the other arguments. The
checked settings, the scheme and its weights depend on (n, memory budget)
alone, so :func:`plan_for` plans them once (cached) from the general path's
own pieces (``problem.setup``, :func:`jvp_scheme`, :func:`host_weights`), and
a call runs only what depends on x, v and func (:meth:`Plan.jvp`): the step
along v, the ``2 r`` points beside x, func on them and the weighted sum. These
are the operations of products' one-call path (``direction_step``,
``_host.stack_moved``, ``engine.combine_linear``), element by element in the
same order, so the results are the same bits (tests/test_quick_jvp.py
compares them); what is left out is Python that decides what the plan
already knows: 36 and 47 µs beyond func at n = 1000 with 30 and 300 outputs,
where the general path takes 67 and 94 (``benchmarks/bench_beyond.py --only
jvp``: its times and ratios, one run).

A func goes this way only where products' one-call path would take it: it
passed the check that it does not mix points on this kind of call
(``passes.passed_on``: a pass on grad's, jacobian's or hessian's call of the
same x, budget and method counts, as it does for the general path), and its
points and values fit the memory budget. A func never checked takes the
general path, which checks it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _budget
from . import engine as _engine
from . import evaluators as _evaluators
from . import passes as _passes
from . import problem as _problem
from . import schemes as _schemes
from .quick import planning_only

__all__ = ["JVP_METHODS", "Plan", "host_weights", "jvp_scheme", "plan_for"]

JVP_METHODS = ("Richardson", "simple", "complex")

_FLOAT64 = np.dtype(np.float64)
#: the smallest normal float64: a shorter step is the general path's (``products.along``)
_TINY = float(np.finfo(np.float64).tiny)


@functools.lru_cache(maxsize=64)
def jvp_scheme(method: str, r: int, v: float, h: float) -> _schemes.LinearScheme:
    """The method's scheme of one coordinate, moving every coordinate (steps ``t v``).

    Host arrays only, cached per settings (``h``: the complex step's, else
    unused).
    """
    if method == "Richardson":
        base = _schemes.richardson_scheme(1, (math.nan,), r, v, True, False)
        weights, error = base.weights, base.error
        moves = base.family.multipliers  # (1, 2r, 1)
        part = "real"
    elif method == "simple":
        moves, weights, error, part = np.ones((1, 1, 1)), np.ones((1, 1, 1)), None, "real"
    else:
        moves = np.full((1, 1, 1), complex(0.0, h))
        weights, error, part = np.array([[[1.0 / h]]]), None, "imag"
    family = _schemes.Family(None, _schemes.frozen(moves), relative=True, groups=1)
    return _schemes.LinearScheme(family, _schemes.frozen(weights), part=part, error=error)


@functools.lru_cache(maxsize=64)
def host_weights(scheme: _schemes.LinearScheme, single: bool) -> tuple:
    """The scheme's moves, weights and error weights (or None) in x's precision."""
    real = np.float32 if single else np.float64
    moves = scheme.family.multipliers[0, :, 0]
    if np.iscomplexobj(moves):
        moves = moves.astype(np.complex64 if single else np.complex128)
    error = None if scheme.error is None else _schemes.frozen(scheme.error.astype(real))
    return (
        _schemes.frozen(moves.astype(moves.dtype if np.iscomplexobj(moves) else real)),
        _schemes.frozen(scheme.weights.astype(real)),
        error,
    )


class Plan:
    """What jvp's general path decides for one (n, budget), decided once."""

    __slots__ = ("budget", "columns", "kind", "moves", "n", "scheme", "settings", "weights")

    def __init__(self, n: int, budget: int) -> None:
        with _budget.memory_budget(budget):  # the key's, whatever another thread sets
            problem = _problem.setup(
                planning_only,
                np.zeros(n),
                "Richardson",
                None,
                None,
                methods=JVP_METHODS,
                function="jvp",
            )
        s = problem.settings
        self.n, self.budget, self.settings = n, budget, s
        self.scheme = jvp_scheme("Richardson", s.r, s.v, 0.0)
        moves, self.weights, _ = host_weights(self.scheme, False)
        self.moves = moves.reshape(-1, 1)  # (2 r, 1): set l moves x by moves[l] t v
        self.columns = 1 + moves.shape[0]  # x, then the sets
        kind = _passes.kind_of_call(problem)
        self.kind = () if kind is None else kind[0]

    def fits(self, outputs: int) -> bool:
        """products' one-call rule: the points and func's values within the budget."""
        return 4 * self.columns * (self.n + outputs) * 8 <= self.budget

    def evaluator(self, func: Any) -> _evaluators.Evaluator:
        """The evaluator the general path would make: its checks."""
        return _evaluators.evaluator_for(
            func, (), {}, vectorized=True, workers=None, complex_batch=False, dtype=_FLOAT64
        )

    def jvp(self, func: Any, x: np.ndarray, v: np.ndarray) -> Any:
        """``J(x) @ v``, shaped as func's values less their last axis; None (nothing done,
        func not called) for a direction v without a finite, nonzero largest coordinate,
        which the general path takes."""
        s, n = self.settings, self.n
        # products.direction_step's numbers, as Python decides them: |v|_inf as an array
        # of one
        norm = np.abs(v).max(keepdims=True)
        if not (norm[0] > 0 and norm[0] < math.inf):
            return None
        size = np.abs(x).max()
        h = size * s.d
        if size < s.zero_tol:
            h = h + s.eps
        with np.errstate(all="ignore"):  # one context (each costs about 3 us)
            t = h / norm
            if not (t[0] >= _TINY and t[0] < math.inf):
                return None  # a step out of float's normal range: the general path scales v
            rows = np.empty((self.columns, n))  # as _host.stack_moved writes them
            rows[0] = x
            np.multiply(self.moves, v * t, out=rows[1:])
            rows[1:] += x
        points = np.ascontiguousarray(rows.T)  # _backend.row_major_transpose's copy
        values = func(points)
        if not (
            type(values) is np.ndarray
            and values.dtype is _FLOAT64
            and values.ndim
            and values.shape[-1] == self.columns
        ):  # anything else as the general path's evaluator takes it, or its error
            values = self.evaluator(func).checked_at(np, points, None, values)
        head = values.shape[:-1]
        m = math.prod(head)
        values = values.reshape(m, self.columns)
        rows = _engine.combine_linear(
            np,
            self.scheme,
            values[:, 1:].reshape(m, 1, self.columns - 1, 1),
            values[:, 0].reshape(m, 1, 1, 1),
            self.weights,
            t,
            None,
            None,
            True,
        )
        return rows.reshape(head)


#: (n, budget) -> its plan
_PLANS: dict[tuple[int, int], Plan] = {}

#: the most plans kept (then all are forgotten and made again as needed)
PLANS = 64


def plan_for(func: Any, x: np.ndarray, v: np.ndarray) -> Plan | None:
    """The plan of ``jvp(func, x, v)`` with NumPy ``x`` and ``v`` and no other argument,
    where the quick path serves it; else None (the general path)."""
    if x.ndim != 1 or x.dtype is not _FLOAT64 or v.dtype is not _FLOAT64 or x.shape[0] == 0:
        return None
    if v.shape != x.shape or not callable(func) or not _passes.passed_any(func):
        return None
    key = (x.shape[0], _budget.get_memory_budget(x))
    plan = _PLANS.get(key)
    if plan is None:
        plan = Plan(*key)
        if len(_PLANS) >= PLANS:
            _PLANS.clear()
        _PLANS[key] = plan
    outputs = _passes.passed_on(func, plan.kind) if plan.kind else None
    return plan if outputs is not None and plan.fits(outputs) else None
