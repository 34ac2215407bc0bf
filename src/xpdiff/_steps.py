"""Step rules and Richardson weights: the numerics of function mode.

numDeriv's settings (methods, ``method_args`` with their defaults and R's
dotted names), the step rule ``h = |d x| + eps (|x| < zero_tol)``, and
Richardson extrapolation folded into weights: the extrapolated value is a
fixed linear combination of the levels, so its coefficients are computed
here once, on the host, and the value becomes one weighted reduction over
the function values. Nothing here imports an array library; the step rule
receives the namespace of the work and uses only the standard's operators.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    "METHODS",
    "AdaptiveSettings",
    "Settings",
    "adaptive_settings",
    "canonical_method",
    "extrapolation_factors",
    "method_settings",
    "numderiv_steps",
    "richardson_coefficients",
    "richardson_table",
    "simple_steps",
]

METHODS = ("Richardson", "simple", "complex", "adaptive")

#: numDeriv's defaults for float64 (R's .Machine$double.eps for the zero tolerance)
FLOAT64_EPS = 2.220446049250313e-16
NUMDERIV_DEFAULTS = {
    "eps": 1e-4,
    "d": 1e-4,
    "zero_tol": math.sqrt(FLOAT64_EPS / 7e-7),
    "r": 4,
    "v": 2,
    "show_details": False,
}
_ALIASES = {"zero.tol": "zero_tol", "show.details": "show_details"}

#: float32's first derivatives: the scaled step d |x| (about 0.08 |x|) suits functions
#: that vary on the scale of x, but not one like sin at 1e4, which needs steps near 1;
#: a second ladder 1000 times shorter covers those, and each component keeps the
#: ladder with the smaller error estimate (benchmarks/float32_accuracy.py)
LOW_PRECISION_LADDERS = (1.0, 2.0**-10)
#: float32's second derivatives: rounding noise divided by h**2 dominates, so fewer
#: levels over larger steps (measured best over benchmarks/float32_accuracy.py's set)
LOW_PRECISION_SECOND = {"d": 0.2, "eps": 0.2, "r": 3}

#: the largest rounding noise, relative to the derivative of a function that varies on
#: the scale of x, that Richardson settings may leave (fewer than 3 correct digits)
NOISE_LIMIT = 1e-3


def canonical_method(
    method: object, methods: tuple[str, ...] = METHODS, function: str = "grad"
) -> str:
    """numDeriv's name for ``method`` (case-insensitive) among ``methods``, or an error.

    A method that exists but not for this ``function`` gets numDeriv's
    "method not implemented." followed by the methods that are.
    """
    if isinstance(method, str):
        lowered = method.lower()
        for name in methods:
            if lowered == name.lower():
                return name
    allowed = ", ".join(repr(m) for m in methods)
    if isinstance(method, str):
        if any(method.lower() == name.lower() for name in METHODS):
            raise ValueError(
                f"method not implemented. {function}'s method must be one of {allowed} "
                f"(case-insensitive), got {method!r}"
            )
        raise ValueError(f"method must be one of {allowed} (case-insensitive), got {method!r}")
    raise TypeError(
        f"method must be a string, one of {', '.join(repr(m) for m in methods)}, "
        f"got {type(method).__name__} {method!r}"
    )


@dataclass(frozen=True)
class Settings:
    """Resolved ``method_args`` for one call."""

    method: str
    eps: float
    d: float
    zero_tol: float
    r: int
    v: float
    show_details: bool
    given: frozenset
    #: relative sizes of the step ladders; more than one: keep, per component, the
    #: ladder whose extrapolation has the smaller error estimate (low precision only)
    ladders: tuple = (1.0,)
    #: round the steps so that every perturbed coordinate is exact (low precision only)
    exact_steps: bool = False

    def as_dict(self) -> dict:
        return {
            "eps": self.eps,
            "d": self.d,
            "zero_tol": self.zero_tol,
            "r": self.r,
            "v": self.v,
            "show_details": self.show_details,
        }


#: method "adaptive" (see _adaptive): the pilot's relative step, the ladder's levels
#: and the ratio of its steps, for first and for second derivatives
ADAPTIVE_DEFAULTS = {"d": 0.1, "r": 4, "v": 2.0}
ADAPTIVE_SECOND_DEFAULTS = {"d": 0.1, "r": 6, "v": 2.0}


@dataclass(frozen=True)
class AdaptiveSettings:
    """Resolved ``method_args`` of method "adaptive"."""

    d: float
    r: int
    v: float
    given: frozenset
    method: str = "adaptive"
    show_details: bool = False

    def as_dict(self) -> dict:
        return {"d": self.d, "r": self.r, "v": self.v}


def adaptive_settings(method_args, derivative_order: int = 1) -> AdaptiveSettings:
    """``method_args`` of "adaptive" over its defaults, checked.

    ``d`` is the pilot's relative step (``T = d max(|x|, 1)``); ``r`` the
    ladder's levels (2 to 10 for first derivatives, whose ladder has ``2r``
    points; 2 to 6 for the Hessian, whose mixed entries have ``4r``); ``v``
    the ratio of its steps, at least 1.5 (closer to 1, the extrapolation
    divides by almost zero).
    """
    if method_args is None:
        method_args = {}
    if not isinstance(method_args, dict):
        raise TypeError(f"method_args must be a dict (or None), got {type(method_args).__name__}")
    defaults = ADAPTIVE_DEFAULTS if derivative_order == 1 else ADAPTIVE_SECOND_DEFAULTS
    values = dict(defaults)
    for key, value in method_args.items():
        if key not in defaults:
            raise ValueError(
                f"unknown method_args key {key!r} for method 'adaptive'; allowed keys: "
                f"{', '.join(defaults)}"
            )
        values[key] = value
    d, r, v = values["d"], values["r"], values["v"]
    for name, value in (("d", d), ("v", v)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"method_args {name} must be a real number, got {value!r}")
    if not (math.isfinite(d) and d > 0):
        raise ValueError(f"method_args d must be a finite number > 0, got {d!r}")
    if not (math.isfinite(v) and v >= 1.5):
        raise ValueError(
            f"method_args v (the ratio of the ladder's steps) must be a finite number >= 1.5, "
            f"got {v!r}"
        )
    largest = 10 if derivative_order == 1 else 6
    if isinstance(r, bool) or not isinstance(r, numbers.Integral):
        raise TypeError(f"method_args r must be an integer, got {r!r}")
    if not 2 <= r <= largest:
        raise ValueError(
            f"method_args r (the ladder's levels) must be an integer from 2 to {largest} "
            f"(at most 24 points per derivative), got {r!r}"
        )
    return AdaptiveSettings(float(d), int(r), float(v), frozenset(method_args))


def method_settings(
    method: str,
    method_args,
    machine_eps: float = FLOAT64_EPS,
    *,
    defaults: dict | None = None,
    derivative_order: int = 1,
) -> Settings | AdaptiveSettings:
    """numDeriv's ``method_args`` merged over its defaults, checked.

    For float64 (``machine_eps`` of float64) the defaults are numDeriv's. For
    a less precise dtype the steps that the caller did not set scale with
    the dtype: Richardson's ``d`` and ``eps`` by ``(machine_eps / 2.2e-16)
    ** (1/3)`` (the central-difference rule of thumb), the "simple" method's
    ``eps`` to ``max(1e-4, sqrt(machine_eps))``, and ``zero_tol`` follows
    numDeriv's own formula ``sqrt(machine_eps / 7e-7)``. ``defaults`` replaces
    numDeriv's defaults (hessian's ``d`` is 0.1); for second derivatives
    (``derivative_order=2``) the scale is ``(machine_eps / 2.2e-16) ** (1/4)``,
    and no scaled default grows past ``max(default, 0.1)``.

    Richardson settings that would leave nothing but rounding noise (a
    relative step ``d`` far below the dtype's resolution, ``r`` so large that
    the last steps vanish, ``v`` so close to 1 that the extrapolation divides
    by almost zero) are refused with a ValueError naming the setting and the
    limit: see :func:`check_noise`.
    """
    if method == "adaptive":
        return adaptive_settings(method_args, derivative_order)
    if not method_args and (method_args is None or isinstance(method_args, dict)):
        key = tuple(sorted(defaults.items())) if defaults else ()
        return _default_settings(method, machine_eps, key, derivative_order)
    return _settings(method, method_args, machine_eps, defaults, derivative_order)


@functools.lru_cache(maxsize=64)
def _default_settings(method, machine_eps, defaults, derivative_order) -> Settings:
    return _settings(method, {}, machine_eps, dict(defaults), derivative_order)


def _settings(method, method_args, machine_eps, defaults, derivative_order) -> Settings:
    if not isinstance(method_args, dict):
        raise TypeError(f"method_args must be a dict (or None), got {type(method_args).__name__}")
    base = dict(NUMDERIV_DEFAULTS)
    if defaults:
        base.update(defaults)
    values = dict(base)
    given = set()
    for key, value in method_args.items():
        name = _ALIASES.get(key, key)
        if name not in NUMDERIV_DEFAULTS:
            allowed = ", ".join(list(NUMDERIV_DEFAULTS) + list(_ALIASES))
            raise ValueError(f"unknown method_args key {key!r}; allowed keys: {allowed}")
        values[name] = value
        given.add(name)

    ladders: tuple[float, ...] = (1.0,)
    if machine_eps > FLOAT64_EPS:
        if method == "simple":
            if "eps" not in given:
                values["eps"] = max(1e-4, math.sqrt(machine_eps))
        elif derivative_order == 1:
            scale = (machine_eps / FLOAT64_EPS) ** (1.0 / 3)
            for name in ("d", "eps"):
                if name not in given:
                    values[name] = min(base[name] * scale, max(base[name], 0.1))
            if not given & {"d", "eps", "v"}:
                ladders = LOW_PRECISION_LADDERS
        else:
            for name, value in LOW_PRECISION_SECOND.items():
                if name not in given:
                    values[name] = value
        if "zero_tol" not in given:
            values["zero_tol"] = math.sqrt(machine_eps / 7e-7)

    for name in ("eps", "d", "v"):
        _check_positive_real(name, values[name])
    if values["v"] == 1:
        raise ValueError("method_args v (the step reduction factor) must not be 1")
    _check_real(values["zero_tol"], "zero_tol")
    if not values["zero_tol"] >= 0:
        raise ValueError(
            f"method_args zero_tol must be a number >= 0 (inf allowed), got {values['zero_tol']!r}"
        )
    r = values["r"]
    integral = isinstance(r, numbers.Integral) and not isinstance(r, bool)
    whole_float = isinstance(r, float) and r.is_integer()
    if not (integral or whole_float) or r < 1:
        raise ValueError(
            f"method_args r (the number of Richardson levels) must be an integer >= 1, got {r!r}"
        )
    if not isinstance(values["show_details"], (bool, np.bool_)):
        raise TypeError(
            f"method_args show_details must be True or False, got {values['show_details']!r}"
        )
    settings = Settings(
        method=method,
        eps=float(values["eps"]),
        d=float(values["d"]),
        zero_tol=float(values["zero_tol"]),
        r=int(r),
        v=float(values["v"]),
        show_details=bool(values["show_details"]),
        given=frozenset(given),
        ladders=ladders,
        exact_steps=machine_eps > FLOAT64_EPS and method == "Richardson",
    )
    if method == "Richardson" and settings.given & {"d", "r", "v", "eps", "zero_tol"}:
        check_noise(settings, machine_eps, derivative_order)
    return settings


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"method_args {name} must be a real number, got {value!r}")


def _check_positive_real(name, value):
    _check_real(value, name)
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"method_args {name} must be a finite number > 0, got {value!r}")


# --- Richardson extrapolation as weights -------------------------------------------


def extrapolation_factors(r: int, v: float, one_sided: bool, power: int = 1) -> list[float]:
    """Factors ``F_m`` of Richardson step m: ``B = (A(h/v) F_m - A(h)) / (F_m - 1)``.

    A central difference of a ``power``-th derivative has an error series in
    even powers of h, so step m removes the h**(2m) term: ``F_m = v**(2m)``
    (numDeriv's ``4**m`` when v = 2; numDeriv uses ``4**m`` for every v). A
    one-sided difference has every power of h, so ``F_m = v**m``.
    """
    step = 1 if one_sided else 2
    return [float(v) ** (step * m) for m in range(1, r)]


def richardson_table(levels, factors):
    """The Richardson table from first-order approximations at r levels.

    ``levels[k]`` is the approximation with step ``h / v**k``; ``factors[m-1]``
    is ``F_m`` (a number, or an array broadcasting against the levels when
    coordinates differ). Returns the table as a list of columns: column 0 is
    ``levels``, column m has ``r - m`` entries, and column ``r - 1`` holds
    the extrapolated value. Only operators are used, so the levels may be
    numbers or arrays of any library.
    """
    table = [list(levels)]
    current = list(levels)
    for factor in factors:
        current = [
            (current[k + 1] * factor - current[k]) / (factor - 1) for k in range(len(current) - 1)
        ]
        table.append(current)
    return table


@functools.lru_cache(maxsize=256)
def richardson_coefficients(r: int, v: float, one_sided: bool) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of the levels in the extrapolated value and in the one before.

    Richardson's table is linear in its levels ``A_0 .. A_{r-1}``: its last
    entry is ``sum_k value[k] A_k`` and the last entry of the column before
    it (whose difference from the value is the error estimate) is
    ``sum_k previous[k] A_k``. Both sum to 1. With ``r = 1`` the previous
    entry does not exist and ``previous`` is NaN. Host float64, cached: never
    write to the results.
    """
    factors = extrapolation_factors(r, v, one_sided)
    table = richardson_table(list(np.eye(r)), factors)
    value = np.array(table[-1][0], dtype=np.float64)
    previous = np.array(table[-2][-1] if r > 1 else np.full(r, np.nan), dtype=np.float64)
    value.flags.writeable = False
    previous.flags.writeable = False
    return value, previous


def noise_amplification(r: int, v: float, one_sided: bool, order: int) -> float:
    """How much the folded Richardson weights amplify rounding errors of func.

    The estimate of an ``order``-th derivative is ``sum_k c_k A_k`` with
    ``A_k`` a difference divided by ``(h / v**k)**order``: rounding errors of
    size ``eps |f|`` reach it multiplied by ``sum_k |c_k| v**(order k)``
    (per ``h**order``).
    """
    value, _ = richardson_coefficients(r, v, one_sided)
    return float(np.sum(np.abs(value) * float(v) ** (order * np.arange(r))))


def check_noise(settings: Settings, machine_eps: float, order: int = 1) -> None:
    """Refuse Richardson settings that leave only rounding noise.

    With relative steps ``d |x|`` the rounding noise of an ``order``-th
    derivative of a function that varies on the scale of x is about
    ``machine_eps * A / d**order`` relative to the derivative, ``A`` the
    weights' amplification (:func:`noise_amplification`). Settings for which
    that exceeds :data:`NOISE_LIMIT` are a ValueError naming the setting and
    the limit. The absolute step ``eps`` must stay at least 1000 units in the
    last place of the largest coordinate it is used for (``zero_tol``) at the
    smallest level.
    """
    r, v, d = settings.r, settings.v, settings.d

    def noise(r_, v_, d_):
        amplification = max(
            noise_amplification(r_, v_, one_sided, order) for one_sided in (False, True)
        )
        return machine_eps * amplification / d_**order

    if noise(r, v, d) <= NOISE_LIMIT:
        _check_absolute_step(settings, machine_eps)
        return
    where = f"(with r={r}, v={v:g}, d={d:g}, for a dtype of machine epsilon {machine_eps:.3g})"
    what = (
        f"method_args {{}} leaves only rounding noise {where}: the estimate would keep fewer "
        f"than 3 correct digits (noise {noise(r, v, d):.2g} > {NOISE_LIMIT:g} of the "
        f"derivative). {{}}"
    )
    if "d" in settings.given and noise(r, v, NUMDERIV_DEFAULTS["d"]) <= NOISE_LIMIT:
        d_min = (noise(r, v, 1.0) / NOISE_LIMIT) ** (1 / order)
        raise ValueError(what.format(f"d={d:g}", f"The smallest d allowed here is {d_min:.3g}."))
    if abs(math.log(v)) < math.log(1.5) and noise(r, 2.0, d) <= NOISE_LIMIT:
        raise ValueError(
            what.format(
                f"v={v!r}",
                "v is too close to 1: the levels are almost equal and the extrapolation "
                "divides by almost zero. v = 2 (the default) or any v >= 1.5 is allowed here.",
            )
        )
    r_max = max((k for k in range(1, r) if noise(k, v, d) <= NOISE_LIMIT), default=0)
    if r_max:
        raise ValueError(what.format(f"r={r}", f"The largest r allowed here is {r_max}."))
    raise ValueError(
        what.format(
            f"d={d:g}, r={r}, v={v:g}", "Use numDeriv's defaults (d=1e-4, r=4, v=2) or larger d."
        )
    )


def _check_absolute_step(settings: Settings, machine_eps: float) -> None:
    if not settings.zero_tol > 0 or math.isinf(settings.zero_tol):
        return
    smallest = settings.eps / settings.v ** (settings.r - 1) if settings.v > 1 else settings.eps
    resolution = 1000 * machine_eps * settings.zero_tol
    if smallest < resolution:
        raise ValueError(
            f"method_args eps={settings.eps:g} is too small for zero_tol="
            f"{settings.zero_tol:g}: its smallest level ({smallest:.3g}) is under 1000 units "
            f"in the last place of the coordinates it is used for ({resolution:.3g}); "
            f"use eps >= {resolution * settings.v ** max(0, settings.r - 1):.3g} or a "
            f"smaller zero_tol"
        )


# --- the step rule --------------------------------------------------------------------


def numderiv_steps(xp, x, settings: Settings):
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


def simple_steps(xp, x, settings: Settings, sides: tuple[float, ...], axis: int, device):
    """numDeriv's "simple" step, as realized in x's dtype: ``(x + s eps) - x``.

    ``s`` is each coordinate's side (+1 where none is given), laid along
    ``axis`` of ``x``. The difference is exact, so ``x + h`` is exactly
    numDeriv's point ``x + s eps``; it is 0 where ``x + s eps`` rounds back
    to x.
    """
    shape = [1] * x.ndim
    shape[axis] = len(sides)
    signed = [settings.eps * (1.0 if math.isnan(s) else s) for s in sides]
    step = xp.asarray(np.reshape(np.array(signed), shape), dtype=x.dtype, device=device)
    with np.errstate(invalid="ignore"):  # x = inf: NaN, not a NumPy warning
        return (x + step) - x
