"""Finite-difference stencils: the numerics of array mode, free of any backend.

Functions here only use arithmetic operators, so the same formula runs on
Python floats (uniform spacing, computed on the host) and on arrays of any
library (coordinate differences already on the work's device). They never
import or call an array namespace; ``_gradient`` decides where the numbers
live and combines them with the data.

The three-point formulas are numpy.gradient's, written with the same
operations in the same order so that results agree to the last bit.
"""

from __future__ import annotations

__all__ = [
    "central_nonuniform",
    "central_uniform_denominator",
    "first_edge2_nonuniform",
    "first_edge2_uniform",
    "last_edge2_nonuniform",
    "last_edge2_uniform",
]


def central_uniform_denominator(h):
    """Denominator ``2h`` of the central difference ``(f[i+1] - f[i-1]) / 2h``."""
    return 2.0 * h


def central_nonuniform(dx1, dx2):
    """Weights (a, b, c) of ``a f[i-1] + b f[i] + c f[i+1]``, second-order accurate.

    ``dx1 = x[i] - x[i-1]`` and ``dx2 = x[i+1] - x[i]`` (Quarteroni et al.,
    as in numpy.gradient).
    """
    a = -(dx2) / (dx1 * (dx1 + dx2))
    b = (dx2 - dx1) / (dx1 * dx2)
    c = dx1 / (dx2 * (dx1 + dx2))
    return a, b, c


def first_edge2_uniform(h):
    """Weights of the one-sided second-order difference at the first point."""
    return -1.5 / h, 2.0 / h, -0.5 / h


def last_edge2_uniform(h):
    """Weights of the one-sided second-order difference at the last point."""
    return 0.5 / h, -2.0 / h, 1.5 / h


def first_edge2_nonuniform(dx1, dx2):
    """Weights on ``f[0], f[1], f[2]`` at the first point; ``dx1, dx2`` the first two steps."""
    a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
    b = (dx1 + dx2) / (dx1 * dx2)
    c = -dx1 / (dx2 * (dx1 + dx2))
    return a, b, c


def last_edge2_nonuniform(dx1, dx2):
    """Weights on ``f[-3], f[-2], f[-1]`` at the last point; ``dx1, dx2`` the last two steps."""
    a = (dx2) / (dx1 * (dx1 + dx2))
    b = -(dx2 + dx1) / (dx1 * dx2)
    c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
    return a, b, c
