"""xpdiff: numerical derivatives of data and functions on any Array API backend.

The public API is re-exported here; see the modules for the layering:
``_backend`` resolves array libraries, ``_stencils`` holds the numerics, and
``_gradient`` combines them.
"""

from ._function import GradInfo, grad
from ._gradient import fd_weights, gradient

__version__ = "0.1.0.dev0"

__all__ = ["GradInfo", "__version__", "fd_weights", "grad", "gradient"]
