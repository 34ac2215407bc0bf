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

__all__ = ["LAZY", "__dir__", "__getattr__"]

#: public name -> (module, relative to the package, and the name there)
LAZY: dict[str, tuple[str, str]] = {
    **{
        name: ("._function.results", name)
        for name in (
            "DerivativeResult",
            "GenDResult",
            "GradResult",
            "HVPResult",
            "HessianResult",
            "JVPResult",
            "JacobianResult",
        )
    },
    # the result type of ``full_output=True`` before it had a class per function
    "GradInfo": ("._function.results", "DerivativeResult"),
    "derivative": ("._function.derivative", "derivative"),
    "grad": ("._function.first", "grad"),
    "jacobian": ("._function.first", "jacobian"),
    "hvp": ("._function.hessvec", "hvp"),
    "jvp": ("._function.products", "jvp"),
    "GenD": ("._function.second", "GenD"),
    "genD": ("._function.second", "genD"),
    "hessian": ("._function.second", "hessian"),
    "group_columns": ("._function.sparse", "group_columns"),
    "as_jax": (".interop", "as_jax"),
    "as_torch": (".interop", "as_torch"),
}

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
