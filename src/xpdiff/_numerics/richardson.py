"""Richardson extrapolation folded into weights, host-side.

The extrapolated value is a fixed linear combination of the levels, so its
coefficients are computed here once, on the host in float64, and the value becomes
one weighted reduction over the function values. ``richardson_table`` uses only
operators, so its levels may be numbers or arrays of any library.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

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


def richardson_table(levels: Any, factors: Any) -> list[list[Any]]:
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
    with np.errstate(all="ignore"):  # levels near float's largest: inf entries, no warning
        for factor in factors:
            current = [
                (current[k + 1] * factor - current[k]) / (factor - 1)
                for k in range(len(current) - 1)
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


def richardson_noise_amplification(r: int, v: float, one_sided: bool, order: int) -> float:
    """How much the folded Richardson weights amplify rounding errors of func.

    The estimate of an ``order``-th derivative is ``sum_k c_k A_k`` with
    ``A_k`` a difference divided by ``(h / v**k)**order``: rounding errors of
    size ``eps |f|`` reach it multiplied by ``sum_k |c_k| v**(order k)``
    (per ``h**order``).
    """
    value, _ = richardson_coefficients(r, v, one_sided)
    return float(np.sum(np.abs(value) * float(v) ** (order * np.arange(r))))
