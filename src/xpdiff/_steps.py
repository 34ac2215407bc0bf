"""Step rules and Richardson extrapolation: the numerics of function mode.

numDeriv's settings (methods, ``method_args`` with their defaults and R's
dotted names, the step rule ``h = |d x| + eps (|x| < zero_tol)``) and the
Richardson tables, written with arithmetic operators only so that they run
on host floats and on arrays of any library alike. Nothing here imports or
calls an array namespace; ``_function`` combines these with the batch of
function values.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = [
    "METHODS",
    "Settings",
    "canonical_method",
    "extrapolation_factors",
    "method_settings",
    "richardson_table",
]

METHODS = ("Richardson", "simple", "complex")

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


def canonical_method(method: object) -> str:
    """numDeriv's method name for ``method`` (case-insensitive), or a ValueError."""
    if isinstance(method, str):
        for name in METHODS:
            if method.lower() == name.lower():
                return name
    raise ValueError(
        f"method must be one of {', '.join(repr(m) for m in METHODS)} "
        f"(case-insensitive), got {method!r}"
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

    def as_dict(self) -> dict:
        return {
            "eps": self.eps,
            "d": self.d,
            "zero_tol": self.zero_tol,
            "r": self.r,
            "v": self.v,
            "show_details": self.show_details,
        }


def method_settings(
    method: str,
    method_args,
    machine_eps: float = FLOAT64_EPS,
    *,
    defaults: dict | None = None,
    derivative_order: int = 1,
) -> Settings:
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
    """
    if method_args is None:
        method_args = {}
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

    if machine_eps > FLOAT64_EPS:
        if method == "simple":
            if "eps" not in given:
                values["eps"] = max(1e-4, math.sqrt(machine_eps))
        else:
            scale = (machine_eps / FLOAT64_EPS) ** (1.0 / (2 + derivative_order))
            for name in ("d", "eps"):
                if name not in given:
                    values[name] = min(base[name] * scale, max(base[name], 0.1))
        if "zero_tol" not in given:
            values["zero_tol"] = math.sqrt(machine_eps / 7e-7)

    for name in ("eps", "d", "v"):
        _check_positive_real(name, values[name])
    if values["v"] == 1:
        raise ValueError("method_args v (the step reduction factor) must not be 1")
    _check_real(values["zero_tol"], "zero_tol")
    if values["zero_tol"] < 0:
        raise ValueError(f"method_args zero_tol must be >= 0, got {values['zero_tol']!r}")
    r = values["r"]
    integral = isinstance(r, numbers.Integral) and not isinstance(r, bool)
    whole_float = isinstance(r, float) and r.is_integer()
    if not (integral or whole_float) or r < 1:
        raise ValueError(
            f"method_args r (the number of Richardson levels) must be an integer >= 1, got {r!r}"
        )
    if not isinstance(values["show_details"], (bool, int)):
        raise ValueError(
            f"method_args show_details must be True or False, got {values['show_details']!r}"
        )
    return Settings(
        method=method,
        eps=float(values["eps"]),
        d=float(values["d"]),
        zero_tol=float(values["zero_tol"]),
        r=int(r),
        v=float(values["v"]),
        show_details=bool(values["show_details"]),
        given=frozenset(given),
    )


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"method_args {name} must be a real number, got {value!r}")


def _check_positive_real(name, value):
    _check_real(value, name)
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"method_args {name} must be a finite number > 0, got {value!r}")


def extrapolation_factors(r: int, v: float, one_sided: bool) -> list[float]:
    """Factors ``F_m`` of Richardson step m: ``B = (A(h/v) F_m - A(h)) / (F_m - 1)``.

    A central difference has an error series in even powers of h, so step m
    removes the h**(2m) term: ``F_m = v**(2m)`` (numDeriv's ``4**m`` when
    v = 2; numDeriv uses ``4**m`` for every v). A one-sided difference has
    every power of h, so ``F_m = v**m``.
    """
    power = 1 if one_sided else 2
    return [float(v) ** (power * m) for m in range(1, r)]


def richardson_table(levels, factors):
    """The Richardson table from first-order approximations at r levels.

    ``levels[k]`` is the approximation with step ``h / v**k``; ``factors[m-1]``
    is ``F_m`` (a number, or an array broadcasting against the levels when
    coordinates differ). Returns the table as a list of columns: column 0 is
    ``levels``, column m has ``r - m`` entries, and column ``r - 1`` holds
    the extrapolated value.
    """
    table = [list(levels)]
    current = list(levels)
    for factor in factors:
        current = [
            (current[k + 1] * factor - current[k]) / (factor - 1) for k in range(len(current) - 1)
        ]
        table.append(current)
    return table
