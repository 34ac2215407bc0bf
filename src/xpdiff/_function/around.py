"""Function mode, the engine's rows around base points of xpdiff's own, and jvp's
Richardson level by level.

``run_around`` runs a linear scheme of the engine (``engine.run_linear``)
around base points that are not x: x once per direction (``products``'
jvp), ``x +- t v / v**k`` (``hessvec``), the complex step's points
(``second_methods``). ``by_levels`` is jvp's Richardson where one
direction's ``2 r`` values would fill the engine's share of the budget:
each level's central difference an engine run of its own, added to the
extrapolation as it comes.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _backend, _host
from .._numerics.richardson import richardson_coefficients
from . import engine as _engine
from . import schemes as _schemes
from . import steps as _steps

__all__ = ["by_levels", "level_scheme", "run_around"]


def run_around(
    problem: _engine.Problem,
    scheme: _schemes.LinearScheme,
    f0: Any,
    head: tuple,
    steps: Any,
    base: Any,
) -> Any:
    """The engine's rows of ``scheme`` around base points of xpdiff's own.

    ``base`` ``(n, B)``; ``f0`` is func at x, standing for func at every
    base point (they are x, or the scheme's weights cancel it), or func at
    each base point ``(m, B)`` (the complex step reads only where it is not
    finite), or None; ``steps`` as :func:`engine.run_linear` takes them.
    Returns ``(m, G, Q', B)``.
    """
    xp, n, size = problem.xp, problem.n, base.shape[-1]
    if f0 is not None:  # the same values at every base point: a view where it can be
        m = math.prod(head)
        f0 = xp.reshape(f0, (m, 1 if math.prod(f0.shape) == m else size))
        f0 = xp.broadcast_to(f0, (m, size))
    x4, xg = xp.reshape(base, (n, 1, 1, size)), xp.reshape(base, (1, n, 1, size))
    return _engine.run_linear(problem, scheme, f0, head, steps, x4=x4, xg=xg)


@functools.lru_cache(maxsize=64)
def level_scheme(r: int, v: float) -> tuple[_schemes.LinearScheme, np.ndarray]:
    """Richardson's jvp level by level: one level's central difference ``(F(x + s v) -
    F(x - s v)) / 2`` per unit step, and the ``(r, 2)`` weights of the levels
    (steps ``t / v**l``) in the value and its error estimate, as the folded scheme
    has them (:func:`quick_jvp.jvp_scheme`)."""
    moves = _schemes.frozen(np.array([[[1.0], [-1.0]]]))
    family = _schemes.Family(None, moves, relative=True, groups=1)
    scheme = _schemes.LinearScheme(family, _schemes.frozen(np.array([[[0.5, -0.5]]])))
    value, previous = richardson_coefficients(r, v, False)
    power = float(v) ** np.arange(r, dtype=np.float64)
    return scheme, _schemes.frozen(np.stack([value * power, (value - previous) * power], axis=1))


def by_levels(
    problem: _engine.Problem, f0: Any, head: tuple, steps: Any, base: Any, t: Any, outputs: int
) -> Any:
    """Richardson's jvp rows ``(m, 1, Q', w)`` divided by t, one level after the other.

    Where one direction's ``2 r`` values of func would fill the engine's share
    of the budget (a unit of the combination holds all the sets of a base
    point), each level's central difference is an engine run of its own, of
    two sets, added to the extrapolation as it comes: the same points, the
    same sums to rounding (the division by t folded into the levels' weights),
    each run's mixing check. ``steps`` ``(n, 1, 1, w)``: ``t v``; ``t`` ``(1, w)``.
    """
    xp, s, w = problem.xp, problem.settings, steps.shape[-1]
    scheme, weights = level_scheme(s.r, s.v)
    c = _backend.host_to_device(weights[:, :outputs], xp, problem.device, problem.dtype)
    with np.errstate(all="ignore"):
        c = xp.reshape(c, (s.r, 1, 1, outputs, 1)) / xp.reshape(t, (1, 1, 1, 1, w))
    out: Any = None
    spread: Any = 0.0  # the largest |F(x + s v) - F(x - s v)| / 2: about |F - f(x)|
    for level in range(s.r):
        rows = run_around(problem, scheme, f0, head, steps * float(s.v) ** -level, base)
        spread, cl = xp.maximum(xp.abs(rows[:, :, :1, :]), spread), c[level, ...]
        # (m, 1, Q', w); on NumPy added into the sum: no second sum held beside it
        out = rows * cl if out is None else _host.add_product_into(xp, out, rows, cl)
    if outputs == 1:
        return out
    # the error row's size (it was signed) plus the value's rounding, as combine_linear's
    amplification = xp.sum(xp.abs(c[..., :1, :]), axis=0)
    noise = _steps.value_rounding(xp, xp.reshape(f0, (-1, 1, 1, 1)), spread, amplification)
    return xp.concat([out[:, :, :1, :], xp.abs(out[:, :, 1:, :]) + noise], axis=2)
