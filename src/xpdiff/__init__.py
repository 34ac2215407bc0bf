"""xpdiff: numerical derivatives of data and functions on any Array API backend.

This module only re-exports the public API. The package is layered (the docs'
Architecture page is the map): ``_array`` is array mode (``gradient``: plans
and their executors), ``_function`` is function mode (``grad``, ``jacobian``,
``hessian``, ``genD`` and beyond: schemes, the engine, evaluators, result
objects), ``_numerics`` holds the host-side numbers both build on (stencil
weights, Richardson tables), and ``_backend`` is the only module that knows
array libraries. Function mode's names are imported on first use
(``_exports``: ``import xpdiff`` stays close to ``import numpy``); type
checkers read their imports below.
"""

from typing import TYPE_CHECKING

from . import errors
from ._array.gradient import fd_weights, gradient
from ._budget import get_memory_budget, memory_budget, set_memory_budget
from ._exports import __dir__ as __dir__
from ._exports import __getattr__ as __getattr__

if TYPE_CHECKING:
    from ._function.derivative import derivative
    from ._function.first import grad, jacobian
    from ._function.hessvec import hvp
    from ._function.products import jvp
    from ._function.results import (
        DerivativeResult,
        GenDResult,
        GradResult,
        HessianResult,
        HVPResult,
        JacobianResult,
        JVPResult,
    )
    from ._function.second import GenD, genD, hessian
    from ._function.sparse import group_columns
    from .interop import as_jax, as_torch

    GradInfo = DerivativeResult

__version__ = "0.1.0.dev0"

__all__ = [
    "DerivativeResult",
    "GenD",
    "GenDResult",
    "GradInfo",
    "GradResult",
    "HVPResult",
    "HessianResult",
    "JVPResult",
    "JacobianResult",
    "__version__",
    "as_jax",
    "as_torch",
    "derivative",
    "errors",
    "fd_weights",
    "genD",
    "get_memory_budget",
    "grad",
    "gradient",
    "group_columns",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "memory_budget",
    "set_memory_budget",
]
