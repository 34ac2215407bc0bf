"""The public names of function mode, imported on first use (PEP 562).

``import xpdiff`` loads array mode (``gradient``: a NumPy array's everyday
call needs a handful of modules) and the settings every call shares;
function mode (``grad``, ``hessian`` and the rest: schemes, the engine,
evaluators, results, about forty modules) is imported the first time one of
its names is asked for, by ``xd.grad`` or ``from xpdiff import grad``. The
package's ``__init__`` re-exports this module's :func:`__getattr__` and
:func:`__dir__`; type checkers read the real imports there.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["LAZY", "MODULES", "__dir__", "__getattr__"]

#: module (relative to the package) -> the public names it holds, under the same names
MODULES: dict[str, tuple[str, ...]] = {
    "._function.results": (
        "DerivativeResult",
        "GenDResult",
        "GradResult",
        "HVPResult",
        "HessianResult",
        "JVPResult",
        "JacobianResult",
    ),
    "._function.derivative": ("derivative",),
    "._function.first": ("grad", "jacobian"),
    "._function.hessvec": ("hvp",),
    "._function.products": ("jvp",),
    "._function.second": ("GenD", "genD", "hessian"),
    "._function.sparse": ("group_columns",),
    ".interop": ("as_jax", "as_torch"),
}
#: public name -> (module, relative to the package, and the name there)
LAZY: dict[str, tuple[str, str]] = {
    name: (module, name) for module, names in MODULES.items() for name in names
}
# the result type of ``full_output=True`` before it had a class per function
LAZY["GradInfo"] = ("._function.results", "DerivativeResult")

PACKAGE = __name__.rpartition(".")[0]


def __getattr__(name: str) -> Any:
    """The package's attribute ``name``, its module imported now (then kept as an attribute)."""
    try:
        module, attribute = LAZY[name]
    except KeyError:
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, PACKAGE), attribute)
    setattr(sys.modules[PACKAGE], name, value)  # later look-ups find it directly
    return value


def __dir__() -> list[str]:
    """The package's names, those not imported yet included."""
    return sorted(set(vars(sys.modules[PACKAGE])) | set(LAZY))
