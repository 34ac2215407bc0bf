"""numDeriv's step rule in use: the steps of a point, on the work's namespace.

Only the standard's elementwise functions and operators are used, so the rules run
on any device, lazily on Dask and under ``jax.jit``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .settings import Settings

# --- the step rule --------------------------------------------------------------------


def numderiv_steps(xp: Any, x: Any, settings: Settings) -> Any:
    """numDeriv's step ``h = |d x| + eps (|x| < zero_tol)`` for every coordinate of ``x``.

    ``x`` is an array of any library and ``xp`` its namespace; only the
    standard's elementwise functions are used, so the rule runs on any
    device, lazily on Dask and under ``jax.jit``.

    With ``settings.exact_steps`` (float32 and shorter dtypes) the step is
    rounded to a multiple of the spacing of floats at ``x`` times
    ``v**(r-1)`` (and the shortest ladder's inverse), so that ``x +- h / v**k``
    is exactly representable at every level: in float32 the rounding of
    ``x + h`` would otherwise change the step itself by up to 1e-3 relative.
    """
    magnitude = xp.abs(x)
    h = magnitude * settings.d
    near_zero = magnitude < settings.zero_tol
    h = xp.where(near_zero, h + settings.eps, h)
    if not settings.exact_steps:
        return h
    # relative steps only: near zero the absolute step dwarfs x, and x + eps is exact enough
    with np.errstate(invalid="ignore"):  # x = inf: NaN, not a NumPy warning
        above = xp.maximum(magnitude, settings.zero_tol)
        spacing = xp.nextafter(above, above + math.inf) - above
        quantum = spacing * (settings.v ** (settings.r - 1) / min(settings.ladders))
        return xp.where(near_zero, h, xp.maximum(xp.round(h / quantum), 1.0) * quantum)


def simple_steps(
    xp: Any, x: Any, settings: Settings, sides: tuple[float, ...], axis: int, device: Any
) -> Any:
    """numDeriv's "simple" step, as realized in x's dtype: ``(x + s eps) - x``.

    ``s`` is each coordinate's side (+1 where none is given), laid along
    ``axis`` of ``x``; one side in ``sides`` is every coordinate's. The
    difference is exact, so ``x + h`` is exactly numDeriv's point
    ``x + s eps``; it is 0 where ``x + s eps`` rounds back to x.
    """
    shape = [1] * x.ndim
    shape[axis] = len(sides)
    signed = [settings.eps * (1.0 if math.isnan(s) else s) for s in sides]
    step = xp.asarray(np.reshape(np.array(signed), shape), dtype=x.dtype, device=device)
    with np.errstate(invalid="ignore"):  # x = inf: NaN, not a NumPy warning
        return (x + step) - x


def value_rounding(xp: Any, f0: Any, spread: Any, amplification: Any) -> Any:
    """The rounding error of a derivative's weighted sum of func's values: ``eps max|F|``
    (``|f(x)|`` plus ``spread``, the values' largest distance from it) times its weights'
    ``amplification`` (the sum of their sizes), added to Richardson's error estimate,
    whose levels' difference alone was 50 to 500 times below the error where rounding
    dominates (exp's 3rd derivative). Where every value is f(x) too: func may not
    depend on the coordinate, or change below its values' rounding (``1e14 + x**2 / 2``
    at 1 with steps of 1e-4 gave a derivative of 0 with an estimate of 0); a zero
    direction, whose points are x itself, is the caller's to mask (jvp, hvp). eps
    first: nothing overflows below float's largest."""
    eps = float(xp.finfo(f0.dtype).eps)
    return (eps * xp.abs(f0) + eps * spread) * amplification
