"""xpdiff: numerical derivatives of data and functions on any Array API backend.

The public API is re-exported here; see the modules for the layering:
``_backend`` resolves array libraries; ``_stencils``, ``_steps`` and
``_schemes`` hold the numerics; ``_points``, ``_evaluators`` and ``_engine``
carry function mode out; ``_gradient``, ``_function`` and ``_second``
combine them.
"""

from ._array.gradient import fd_weights, gradient
from ._budget import get_memory_budget, memory_budget, set_memory_budget
from ._function.first import grad, jacobian
from ._function.results import (
    DerivativeResult,
    GenDResult,
    GradResult,
    HessianResult,
    JacobianResult,
)
from ._function.second import GenD, genD, hessian
from ._function.sparse import group_columns

__version__ = "0.1.0.dev0"

#: the result type of ``full_output=True`` before it had a class per function
GradInfo = DerivativeResult

__all__ = [
    "DerivativeResult",
    "GenD",
    "GenDResult",
    "GradInfo",
    "GradResult",
    "HessianResult",
    "JacobianResult",
    "__version__",
    "fd_weights",
    "genD",
    "get_memory_budget",
    "grad",
    "gradient",
    "group_columns",
    "hessian",
    "jacobian",
    "memory_budget",
    "set_memory_budget",
]
