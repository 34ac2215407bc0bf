"""Accuracy of xd.grad on float32 input, with xpdiff's float32 steps and with float64's.

Run: ``python benchmarks/float32_accuracy.py``

For sin, exp, log(1 + x^2) and x^3, elementwise at 200 points in [-3, 3] and
at 0, 1e-3 and -1e-5, prints max |g - exact| / (1 + |exact|) per method, for
the default (dtype-scaled) steps and for numDeriv's float64 steps forced on
float32 data.
"""

from __future__ import annotations

import numpy as np

import xpdiff as xd

FUNCTIONS = {
    "sin": (np.sin, np.cos),
    "exp": (np.exp, np.exp),
    "log(1+x^2)": (lambda x: np.log(1 + x**2), lambda x: 2 * x / (1 + x**2)),
    "x^3": (lambda x: x**3, lambda x: 3 * x**2),
}
FLOAT64_STEPS = {"d": 1e-4, "eps": 1e-4, "zero_tol": float(np.sqrt(2.220446e-16 / 7e-7))}


def main() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-3, 3, 200), [0.0, 1e-3, -1e-5]]).astype(np.float32)
    print(f"{'function':<12} {'method':<11} {'float32 steps':>14} {'float64 steps':>14}")
    worst = {}
    for name, (f, df) in FUNCTIONS.items():
        exact = df(x.astype(np.float64))
        for method in ("Richardson", "simple", "complex"):
            g = xd.grad(f, x, method)
            assert g.dtype == np.float32
            ours = float(np.max(np.abs(g - exact) / (1 + np.abs(exact))))
            worst[method] = max(worst.get(method, 0.0), ours)
            forced = ""
            if method != "complex":
                args = FLOAT64_STEPS if method == "Richardson" else {"eps": 1e-4}
                g64 = xd.grad(f, x, method, method_args=args)
                forced = f"{np.max(np.abs(g64 - exact) / (1 + np.abs(exact))):14.1e}"
            print(f"{name:<12} {method:<11} {ours:14.1e} {forced:>14}")
    print("worst with float32 steps: " + ", ".join(f"{m} {e:.1e}" for m, e in worst.items()))


if __name__ == "__main__":
    main()
