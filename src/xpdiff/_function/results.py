"""The result objects that function mode returns with ``full_output=True``.

One result type in scipy.differentiate's style: the derivative (``value``), its
per-component error estimate (``error``), the counts of points and calls
(``nfev``, ``ncalls``) and what each method adds (the Richardson ``table``, the
adaptive ``order`` and ``step``). Each public function has its own subclass
named for what it computes (:class:`GradResult`, :class:`JacobianResult`,
:class:`HessianResult`, :class:`GenDResult`, ...), and every result still
unpacks as ``(value, info)`` — ``info`` being the result itself — so code
written for the earlier ``(value, GradInfo)`` tuples keeps working. Host-side
containers: nothing here touches an array library.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "DerivativeResult",
    "GenDResult",
    "GradResult",
    "HessianResult",
    "JacobianResult",
    "result",
]


@dataclass(eq=False, repr=False)
class DerivativeResult:
    """What ``full_output=True`` returns: the derivative with its diagnostics.

    It unpacks as ``(value, info)``, ``info`` being this object, so both
    ``res.value, res.error`` and ``value, info = ...; info.error`` work.

    Attributes
    ----------
    value : array
        The derivative (for genD: the :class:`~xpdiff.GenD` object).
    error : array
        Per-component error estimate, shaped like the derivative: the
        difference between the last two Richardson extrapolation levels plus
        the value's rounding error, ``eps max|F|`` times the sum of its weights'
        sizes over the step (NaN with ``r=1`` and for the methods "simple" and
        "complex", which have none; the complex step's has no rounding term;
        where every value equals f(x) the rounding term remains, since func
        may change below it, but not along a zero direction of jvp or hvp);
        an estimate, not a bound (exp's derivative at 1: 8.2e-11 for an
        error of 1.6e-11; the difference alone was 2.0e-13, and 50 to 500
        times below the error of higher derivatives); for "adaptive", the
        kept estimate's difference from the one of the order below plus its
        rounding error.
    nfev : int
        Number of points at which func was evaluated, ``x`` itself included
        (not the copy of x and the sentinel in a vectorized batch that check
        that func does not mix the points of a batch).
    ncalls : int
        Number of calls of func.
    method : str
        The method used.
    method_args : dict
        The settings used, defaults included.
    steps : array or float or None
        The steps: shape ``(r, n, *B)`` for Richardson (``h / v**k``),
        ``(n, *B)`` or a scalar for "simple" and "complex", the ladder's base
        step H per coordinate, ``(n, *B)``, for "adaptive"; None for sparse
        results.
    table : list of arrays or None
        Richardson's table for first derivatives: ``table[m][k]`` is the k-th
        approximation after m extrapolation steps (``table[0]`` holds the plain
        differences with steps ``steps[k]``), each shaped like the result.
        None for the other methods and for second derivatives.
    order : array or None
        Method "adaptive": per component, the order of accuracy of the estimate
        kept; NaN where none survived. None for the other methods.
    step : array or None
        Method "adaptive": per component, the largest step of the estimate kept.
        None for the other methods.
    """

    value: Any
    error: Any
    nfev: int
    ncalls: int
    method: str
    method_args: dict
    steps: Any = None
    table: list | None = None
    order: Any = None
    step: Any = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.value, self))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> Any:
        return (self.value, self)[index]

    def keys(self) -> list[str]:
        """The names of the attributes, as scipy's result objects list them."""
        return [f.name for f in fields(self)]

    def __repr__(self) -> str:
        shown = []
        for name in self.keys():
            item = getattr(self, name)
            if item is None:
                continue
            text = repr(item)
            if "\n" in text or len(text) > 60:
                shape = getattr(item, "shape", None)
                text = f"<{type(item).__name__} of shape {tuple(shape)}>" if shape else "<...>"
            shown.append(f"{name:>11}: {text}")
        return f"{type(self).__name__}(\n" + "\n".join(shown) + "\n)"


class GradResult(DerivativeResult):
    """:func:`~xpdiff.grad` with ``full_output=True``: the gradient and its diagnostics."""


class JacobianResult(DerivativeResult):
    """:func:`~xpdiff.jacobian` with ``full_output=True``."""


class HessianResult(DerivativeResult):
    """:func:`~xpdiff.hessian` with ``full_output=True``."""


class GenDResult(DerivativeResult):
    """:func:`~xpdiff.genD` with ``full_output=True``: ``value`` is the :class:`~xpdiff.GenD`."""


def result(
    cls: type[DerivativeResult],
    problem: Any,
    value: Any,
    error: Any,
    **extra: Any,
) -> DerivativeResult:
    """A result of class ``cls`` for ``problem`` (an ``engine.Problem``): counts and settings.

    ``extra`` sets the optional fields (``steps``, ``table``, ``order``, ``step``).
    """
    return cls(
        value=value,
        error=error,
        nfev=problem.evaluator.nfev,
        ncalls=problem.evaluator.ncalls,
        method=problem.method,
        method_args=problem.settings.as_dict(),
        **extra,
    )


class JVPResult(DerivativeResult):
    """:func:`~xpdiff.jvp` with ``full_output=True``: ``J(x) @ v`` and its diagnostics.

    ``steps`` is the step ``t`` along each direction (the points are ``x + c t
    v``); ``error`` the Richardson error estimate (NaN for "simple" and
    "complex").
    """


class HVPResult(DerivativeResult):
    """:func:`~xpdiff.hvp` with ``full_output=True``: ``H(x) @ v`` and its diagnostics.

    ``steps`` is ``(h, t)``: the step of each coordinate, ``(n,)``, and the
    step along each direction, ``(1, k)``, at the first Richardson level.
    """
