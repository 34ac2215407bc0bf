"""numDeriv's settings: methods, ``method_args`` with their defaults and checks.

``method_settings`` turns a method and its ``method_args`` (R's dotted names
accepted) into a frozen :class:`Settings` for a dtype; ``check_noise`` refuses
settings that leave only rounding noise. Host-side, no array library.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validation
from .._numerics.richardson import richardson_noise_amplification

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
#: the most Richardson levels: far more than any table that keeps a correct digit
MAX_LEVELS = 100


def canonical_method(
    method: object, methods: tuple[str, ...] = METHODS, function: str = "grad"
) -> str:
    """numDeriv's name for ``method`` (case-insensitive) among ``methods``, or an error.

    A method that exists but not for this ``function`` gets numDeriv's
    "method not implemented." followed by the methods that are.
    """
    return _validation.method_name(method, methods, function, METHODS)


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


def adaptive_settings(method_args: Any, derivative_order: int = 1) -> AdaptiveSettings:
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
    d = _validation.check_positive_real("method_args d", values["d"])
    v = _validation.check_positive_real("method_args v", values["v"], at_least=1.5)
    largest = 10 if derivative_order == 1 else 6
    # a whole float (R's 4) as Richardson takes it: one value, one outcome whatever the method
    r = _validation.check_integer("method_args r", values["r"], 2, largest)
    return AdaptiveSettings(float(d), int(r), float(v), frozenset(method_args))


def method_settings(
    method: str,
    method_args: Any,
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
def _default_settings(
    method: str, machine_eps: float, defaults: tuple, derivative_order: int
) -> Settings:
    return _settings(method, {}, machine_eps, dict(defaults), derivative_order)


def _settings(
    method: str, method_args: Any, machine_eps: float, defaults: dict | None, derivative_order: int
) -> Settings:
    if not isinstance(method_args, dict):
        raise TypeError(f"method_args must be a dict (or None), got {type(method_args).__name__}")
    base = dict(NUMDERIV_DEFAULTS)
    defaults = dict(defaults or {})
    # the caller's settings for dtypes coarser than float64, ((name, value), ...), which
    # replace the rules below (derivative's per order): for derivatives of order 2 and up
    low = defaults.pop("low_precision", ())
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
        ladders = _low_precision(values, given, base, method, machine_eps, derivative_order, low)

    for name in ("eps", "d", "v"):
        _validation.check_positive_real(f"method_args {name}", values[name])
    if values["v"] == 1:
        raise ValueError("method_args v (the step reduction factor) must not be 1")
    _check_growth(values["v"], values["r"])
    zero_tol = _validation.check_real("method_args zero_tol", values["zero_tol"])
    if not zero_tol >= 0:
        raise ValueError(
            f"method_args zero_tol must be a number >= 0 (inf allowed), got {values['zero_tol']!r}"
        )
    r = _validation.check_integer("method_args r", values["r"], 1, MAX_LEVELS)
    _validation.check_bool("method_args show_details", values["show_details"])
    settings = Settings(
        method=method,
        eps=float(values["eps"]),
        d=float(values["d"]),
        zero_tol=zero_tol,
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


def _low_precision(
    values: dict,
    given: set,
    base: dict,
    method: str,
    machine_eps: float,
    derivative_order: int,
    low: tuple,
) -> tuple[float, ...]:
    """A dtype coarser than float64: its defaults written into ``values`` (those not
    ``given``); returns the ladders (two for Richardson's first derivatives). ``low``:
    the caller's settings for such dtypes, which replace the rules here."""
    ladders: tuple[float, ...] = (1.0,)
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
        for name, value in low or LOW_PRECISION_SECOND.items():
            if name not in given:
                values[name] = value
    if "zero_tol" not in given and not low:
        values["zero_tol"] = math.sqrt(machine_eps / 7e-7)
    return ladders


def _check_growth(v: Any, r: Any) -> None:
    """A v below 1 makes the steps grow, ``h / v**k``: a ValueError where their
    extrapolation's factors ``v**(-2k)`` leave float64 (v = 1e-200 raised Python's
    OverflowError, or gave NaN with a NumPy warning). r is checked after this."""
    whole = isinstance(r, (int, np.integer)) or (
        isinstance(r, (float, np.floating)) and math.isfinite(r) and r == int(r)
    )
    if isinstance(r, (bool, np.bool_)) or not whole or not 1 < r <= MAX_LEVELS:
        return  # r's own check names a bad r (10**400 too: int(r) is no float)
    exponent = 2 * (int(r) - 1) * -math.log(float(v))
    if v < 1 and exponent > _LARGEST_EXPONENT:
        smallest = math.exp(-_LARGEST_EXPONENT / (2 * (int(r) - 1)))
        raise ValueError(
            f"method_args v={v!r} with r={r} makes the steps grow by v**-(r-1) and the "
            f"extrapolation's factors v**(-2(r-1)) beyond float64; the smallest v allowed "
            f"with r={r} is {_validation.shown_limit(smallest, up=True)} (v = 2, the default, "
            "shrinks the steps)"
        )


#: the natural logarithm of float64's largest, less a margin
_LARGEST_EXPONENT = 700.0


def relative_noise(rounding: float, d: float, order: int) -> float:
    """``rounding / d**order``: an ``order``-th derivative's rounding noise relative to
    the derivative of a function that varies on the scale of x, its steps ``d |x|``
    (``rounding``: eps times the weights' amplification). 0 where ``d**order`` is beyond
    float64 (d = 1e100: no rounding noise), inf where it is below its smallest (d =
    1e-200: nothing but noise); Python's OverflowError and ZeroDivisionError before."""
    try:
        power = d**order
    except OverflowError:
        return 0.0
    return rounding / power if power > 0 else math.inf


def check_noise(settings: Settings, machine_eps: float, order: int = 1) -> None:
    """Refuse Richardson settings that leave only rounding noise.

    With relative steps ``d |x|`` the rounding noise of an ``order``-th
    derivative of a function that varies on the scale of x is about
    ``machine_eps * A / d**order`` relative to the derivative, ``A`` the
    weights' amplification (:func:`richardson_noise_amplification`). Settings for which
    that exceeds :data:`NOISE_LIMIT` are a ValueError naming the setting and
    the limit. The absolute step ``eps`` must stay at least 1000 units in the
    last place of the largest coordinate it is used for (``zero_tol``) at the
    smallest level.
    """
    r, v, d = settings.r, settings.v, settings.d

    def noise(r_: int, v_: float, d_: float) -> float:
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # inf: nothing but noise
                amplification = max(
                    richardson_noise_amplification(r_, v_, one_sided, order)
                    for one_sided in (False, True)
                )
        except OverflowError:  # v**(2 r) beyond float64: nothing but noise
            return math.inf
        return relative_noise(machine_eps * amplification, d_, order)

    if noise(r, v, d) <= NOISE_LIMIT:
        _check_absolute_step(settings, machine_eps)
        return
    where = f"(with r={r}, v={v:g}, d={d:g}, for a dtype of machine epsilon {machine_eps:.3g})"
    what = (
        f"method_args {{}} leaves only rounding noise {where}: the estimate would keep fewer "
        f"than 3 correct digits (noise {noise(r, v, d):.2g} > {NOISE_LIMIT:g} of the "
        f"derivative). {{}}"
    )
    d_min = (noise(r, v, 1.0) / NOISE_LIMIT) ** (1 / order)
    if "d" in settings.given and d_min <= 1.0:  # a step that d |x| can still take
        smallest = _validation.shown_limit(d_min, up=True)
        raise ValueError(what.format(f"d={d:g}", f"The smallest d allowed here is {smallest}."))
    if abs(math.log(v)) < math.log(1.5) and noise(r, 2.0, d) <= NOISE_LIMIT:
        raise ValueError(
            what.format(
                f"v={v!r}",
                "v is too close to 1: the levels are almost equal and the extrapolation "
                "divides by almost zero. v = 2 (the default) or any v >= 1.5 is allowed here.",
            )
        )
    fits = (k for k in range(1, min(r, MAX_LEVELS)) if noise(k, v, d) <= NOISE_LIMIT)
    r_max = max(fits, default=0)
    if r_max:
        raise ValueError(what.format(f"r={r}", f"The largest r allowed here is {r_max}."))
    raise ValueError(
        what.format(
            f"d={d:g}, r={r}, v={v:g}",
            "Use the defaults (numDeriv's d=1e-4, r=4, v=2 for first derivatives) or a larger d.",
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
