"""xpdiff: numerical derivatives of data and functions on any Array API backend.

The public API is re-exported here; see the modules for the layering:
``_backend`` resolves array libraries, ``_stencils`` holds the numerics, and
``_gradient`` combines them.
"""

from ._function import GradInfo, grad, jacobian
from ._gradient import fd_weights, gradient
from ._second import GenD, genD, hessian

__version__ = "0.1.0.dev0"

__all__ = [
    "GenD",
    "GradInfo",
    "__version__",
    "fd_weights",
    "genD",
    "grad",
    "gradient",
    "hessian",
    "jacobian",
]
