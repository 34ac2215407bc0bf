"""Array operations per derivative, counted: what a GPU pays in kernel launches.

Run: ``python benchmarks/operation_counts.py``

Each derivative runs on array-api-strict through a namespace that counts
every function call and every operator of xpdiff's own (the function being
differentiated is not counted): ``tests/helpers.py``'s CountingNamespace,
the same one ``tests/test_engine.py`` checks the ceilings with. The count
does not depend on n, r or the number of points as long as every point fits
one call; each further call of func adds the operations of one chunk.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers import CountingNamespace, strict_functions

import xpdiff as xd


def main() -> None:
    import array_api_strict as xps

    ns = CountingNamespace(xps)
    sc2, vector = strict_functions(xps)

    cases = [
        ("grad", "Richardson", xd.grad, sc2),
        ("grad", "simple", xd.grad, sc2),
        ("grad", "complex", xd.grad, sc2),
        ("grad, elementwise f", "Richardson", xd.grad, xps.exp),
        ("jacobian", "Richardson", xd.jacobian, vector),
        ("jacobian", "complex", xd.jacobian, vector),
        ("genD", "Richardson", lambda f, x, m: xd.genD(f, x, m), vector),
        ("hessian", "Richardson", xd.hessian, sc2),
        ("hessian", "complex", xd.hessian, sc2),
    ]
    sizes = (3, 10, 30)
    print(f"{'function':<22} {'method':<11} " + " ".join(f"{'n=' + str(n):>6}" for n in sizes))
    print("-" * (35 + 7 * len(sizes)))
    for label, method, derivative, func in cases:
        counts = []
        for n in sizes:
            x = ns.asarray(np.linspace(0.1, 1.0, n))
            ns.count = 0
            derivative(ns.function(func), x, method)
            counts.append(ns.count)
        print(f"{label:<22} {method:<11} " + " ".join(f"{c:>6}" for c in counts))


if __name__ == "__main__":
    main()
