"""Sixteen test functions from the step-size literature, with exact derivatives.

Each problem is ``(name, f, f', f'', interval, spacing, source)``: 100 points
over the interval, evenly spaced (the ends left out) or, for the functions
that are singular at 0, geometrically spaced from the interval's start, so
that a tenth of them lie within 0.02 of the singularity. All functions act
elementwise on NumPy arrays.

Sources:

- DV: Dumontet, J. and Vignes, J. (1977). Determination du pas optimal dans
  le calcul des derivees sur ordinateur. RAIRO Analyse numerique 11(1),
  13-25 (problems 1-5: exp, log, sqrt, atan, sin).
- SW: Stepleman, R. S. and Winarsky, N. D. (1979). Adaptive numerical
  differentiation. Math. Comp. 33, 1257-1264 (the same five functions, p. 1263).
- GMSW: Gill, P. E., Murray, W., Saunders, M. A. and Wright, M. H. (1983).
  Computing forward-difference intervals for numerical optimization. SIAM J.
  Sci. Stat. Comput. 4(2), 310-321 (eq. 4, p. 312).
- SXXN: Shi, H.-J. M., Xie, Y., Xuan, M. Q. and Nocedal, J. (2022). Adaptive
  finite-difference interval estimation for noisy derivative-free
  optimization. SIAM J. Sci. Comput. 44(4), A2302-A2321 (the four test
  functions of p. 14).
- Oliver: Oliver, J. (1980). An algorithm for numerical differentiation of a
  function of one real variable. J. Comput. Appl. Math. 6, 145-160 (table 1).
- numDeriv: Gilbert, P. and Varadhan, R., R package numDeriv, the example
  function of ``grad``'s documentation.
- The badly scaled exponential ``exp(-x / 1e6)`` is the scaled exponential of
  M. Baudin's numericalderivative package's benchmark, whose intervals the
  problems here follow.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PROBLEMS", "SMOOTH", "points", "tail_counts"]

_A = 1e6


def _gmsw(x):
    return np.expm1(x) ** 2 + (1 / np.sqrt(1 + x**2) - 1) ** 2


def _gmsw1(x):
    s = 1 + x**2
    return 2 * np.exp(x) * np.expm1(x) - 2 * x * (1 / np.sqrt(s) - 1) / s**1.5


def _gmsw2(x):
    s = 1 + x**2
    t = 1 / np.sqrt(s) - 1
    return (
        6 * t * x**2 / s**2.5
        + 2 * x**2 / s**3
        - 2 * t / s**1.5
        + 2 * np.exp(2 * x)
        + 2 * np.exp(x) * np.expm1(x)
    )


PROBLEMS = [
    ("exp", np.exp, np.exp, np.exp, (0.0, 12.0), "even", "DV 1, SW"),
    ("log", np.log, lambda x: 1 / x, lambda x: -1 / x**2, (0.01, 12.0), "geometric", "DV 2, SW"),
    (
        "sqrt",
        np.sqrt,
        lambda x: 0.5 / np.sqrt(x),
        lambda x: -0.25 * x**-1.5,
        (0.01, 12.0),
        "geometric",
        "DV 3, SW",
    ),
    (
        "atan",
        np.arctan,
        lambda x: 1 / (1 + x**2),
        lambda x: -2 * x / (1 + x**2) ** 2,
        (-12.0, 12.0),
        "even",
        "DV 4, SW",
    ),
    ("sin", np.sin, np.cos, lambda x: -np.sin(x), (-np.pi, np.pi), "even", "DV 5, SW"),
    (
        "scaled exp",
        lambda x: np.exp(-x / _A),
        lambda x: -np.exp(-x / _A) / _A,
        lambda x: np.exp(-x / _A) / _A**2,
        (0.0, 12.0),
        "even",
        "badly scaled (numericalderivative)",
    ),
    ("GMSW", _gmsw, _gmsw1, _gmsw2, (0.0, 12.0), "even", "GMSW eq. 4"),
    (
        "SXXN1",
        lambda x: np.expm1(x) ** 2,
        lambda x: 2 * np.exp(x) * np.expm1(x),
        lambda x: 2 * np.exp(x) * (2 * np.exp(x) - 1),
        (-12.0, 12.0),
        "even",
        "SXXN p. 14",
    ),
    (
        "SXXN2",
        lambda x: np.exp(100 * x),
        lambda x: 100 * np.exp(100 * x),
        lambda x: 1e4 * np.exp(100 * x),
        (-1.0, 1.0),
        "even",
        "SXXN p. 14",
    ),
    (
        "SXXN3",
        lambda x: x**4 + 3 * x**2 - 10 * x,
        lambda x: 4 * x**3 + 6 * x - 10,
        lambda x: 12 * x**2 + 6,
        (-12.0, 12.0),
        "even",
        "SXXN p. 14",
    ),
    (
        "SXXN4",
        lambda x: 1e4 * x**3 + 0.01 * x**2 + 5 * x,
        lambda x: 3e4 * x**2 + 0.02 * x + 5,
        lambda x: 6e4 * x + 0.02,
        (-12.0, 12.0),
        "even",
        "SXXN p. 14",
    ),
    (
        "Oliver1",
        lambda x: np.exp(4 * x),
        lambda x: 4 * np.exp(4 * x),
        lambda x: 16 * np.exp(4 * x),
        (-12.0, 12.0),
        "even",
        "Oliver table 1",
    ),
    (
        "Oliver2",
        lambda x: np.exp(x**2),
        lambda x: 2 * x * np.exp(x**2),
        lambda x: 2 * np.exp(x**2) * (2 * x**2 + 1),
        (-12.0, 12.0),
        "even",
        "Oliver table 1",
    ),
    (
        "Oliver3",
        lambda x: x**2 * np.log(x),
        lambda x: x + 2 * x * np.log(x),
        lambda x: 2 * np.log(x) + 3,
        (0.01, 12.0),
        "geometric",
        "Oliver table 1",
    ),
    (
        "inverse",
        lambda x: 1 / x,
        lambda x: -1 / x**2,
        lambda x: 2 / x**3,
        (0.01, 12.0),
        "geometric",
        "Oliver table 1",
    ),
    (
        "numDeriv func1",
        lambda x: np.sin(10 * x) - np.exp(-x),
        lambda x: 10 * np.cos(10 * x) + np.exp(-x),
        lambda x: -100 * np.sin(10 * x) - np.exp(-x),
        (-2.0, 2.0),
        "even",
        "numDeriv grad's example",
    ),
]


def points(interval, spacing: str, count: int = 100) -> np.ndarray:
    """The benchmark's points over ``interval``."""
    if spacing == "geometric":
        return np.geomspace(*interval, count)
    return np.linspace(*interval, count + 2)[1:-1]


def _damped(x):
    return np.sin(x) * np.exp(-(x**2) / 4) + np.log1p(x**2)


def _damped1(x):
    return (np.cos(x) - x / 2 * np.sin(x)) * np.exp(-(x**2) / 4) + 2 * x / (1 + x**2)


#: eight smooth elementwise functions with their first derivatives, for the tail of
#: method="adaptive": random points over ``TAIL_INTERVAL`` (issue 21's measurement)
SMOOTH = [
    ("sin(x) exp(-x^2/4) + log1p(x^2)", _damped, _damped1),
    ("sin(x^2)", lambda x: np.sin(x**2), lambda x: 2 * x * np.cos(x**2)),
    ("exp", np.exp, np.exp),
    ("cos(3x)", lambda x: np.cos(3 * x), lambda x: -3 * np.sin(3 * x)),
    ("atan", np.arctan, lambda x: 1 / (1 + x**2)),
    ("x^3 - 2x", lambda x: x**3 - 2 * x, lambda x: 3 * x**2 - 2),
    ("1 / (1 + 25 x^2)", lambda x: 1 / (1 + 25 * x**2), lambda x: -50 * x / (1 + 25 * x**2) ** 2),
    ("tanh(2x)", lambda x: np.tanh(2 * x), lambda x: 2 / np.cosh(2 * x) ** 2),
]
TAIL_INTERVAL = (-5.0, 5.0)


def tail_counts(grad, count: int, seed: int = 0) -> dict:
    """The adaptive tail over ``count`` seeded random points per function of :data:`SMOOTH`.

    ``grad(f, x)`` returns ``(value, error estimate)``. Counts per function:
    ``worse`` (relative error above 1e-8, relative to ``max(|f'|, 1)``),
    ``understated`` (true error above 10 times the estimate and above 1e-13
    relative: rounding-level errors left out), and the worst relative error.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, f, fp in SMOOTH:
        x = rng.uniform(*TAIL_INTERVAL, count)
        value, error = grad(f, x)
        exact = fp(x)
        scale = np.maximum(np.abs(exact), 1.0)
        true = np.abs(np.asarray(value, dtype=np.float64) - exact)
        relative = true / scale
        out[name] = {
            "worse": int(np.sum(~(relative <= 1e-8))),
            "understated": int(np.sum((true > 10 * np.asarray(error)) & (relative > 1e-13))),
            "worst": float(np.max(relative)),
        }
    return out
