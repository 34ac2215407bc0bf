"""Accuracy of function mode on float32 input, at every scale of x.

Run: ``python benchmarks/float32_accuracy.py``

First derivatives: sin, exp, log(1 + x^2), x^3, sqrt and log, elementwise at
21 points around each scale s in 1e-3, 0.1, 1, 10, 100, 1e4 (both signs where
defined), plus 0 and 1e-5; error = max |g - exact| / (1 + |exact|) per
function and method. Second derivatives: the Hessians of sum(x^2), a Gaussian
bump, sum(sin x) + x0 x1 and sum(log(1 + x^2)) at 20 random points of 3
coordinates of scale 0.1, 1 and 10; error = max |H - exact| / (1 + max
|exact|). Prints the worst error of each and, for comparison, what numDeriv's
float64 settings give on the same float32 data (refused where they leave only
rounding noise). NaN counts the results that are NaN rather than numbers (the
"simple" method where ``x + eps`` rounds back to x, log and sqrt where the
steps cross zero); the errors are over the others.
"""

from __future__ import annotations

import warnings

import numpy as np

import xpdiff as xd

FIRST = {
    "sin": (np.sin, np.cos, True),
    "exp": (np.exp, np.exp, True),
    "log(1+x^2)": (lambda x: np.log(1 + x * x), lambda x: 2 * x / (1 + x * x), True),
    "x^3": (lambda x: x**3, lambda x: 3 * x**2, True),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x), False),
    "log": (np.log, lambda x: 1 / x, False),
}
SCALES = (1e-3, 0.1, 1.0, 10.0, 100.0, 1e4)


def _first_points(name, scale):
    x = np.linspace(0.5, 1.5, 21) * scale
    if FIRST[name][2]:
        x = np.concatenate([x, -x, [0.0, 1e-5]])
    if name == "exp":
        x = x[x < 80]
    if name == "x^3":
        x = x[np.abs(x) < 1e12]
    return x.astype(np.float32)


def _second():
    def quad(x):
        return np.sum(x * x, axis=0)

    def gauss(x):
        return np.exp(-np.sum(x * x, axis=0) / 2)

    def sines(x):
        return np.sum(np.sin(x), axis=0) + x[0] * x[1]

    def logs(x):
        return np.sum(np.log(1 + x * x), axis=0)

    def sines_h(x):
        H = np.diag(-np.sin(x))
        H[0, 1] = H[1, 0] = 1.0
        return H

    def gauss_h(x):
        return np.exp(-np.sum(x * x) / 2) * (np.outer(x, x) - np.eye(len(x)))

    return {
        "sum(x^2)": (quad, lambda x: 2 * np.eye(len(x))),
        "gauss": (gauss, gauss_h),
        "sum(sin x) + x0 x1": (sines, sines_h),
        "sum(log(1+x^2))": (logs, lambda x: np.diag(2 * (1 - x * x) / (1 + x * x) ** 2)),
    }


def first_derivative_errors(method, method_args=None):
    """Worst error over the finite results, and how many results are NaN, per function."""
    worst, nan = {}, {}
    for name, (f, df, _) in FIRST.items():
        for scale in SCALES:
            x = _first_points(name, scale)
            try:
                g = xd.grad(f, x, method, method_args=method_args)
            except ValueError:
                return None, None
            assert g.dtype == np.float32
            exact = df(x.astype(np.float64))
            errors = np.abs(g - exact) / (1 + np.abs(exact))
            finite = np.isfinite(errors)
            error = float(np.max(errors[finite], initial=0.0))
            worst[name] = max(worst.get(name, 0.0), error)
            nan[name] = nan.get(name, 0) + int(np.sum(~finite))
    return worst, nan


def second_derivative_errors(function, method_args=None):
    rng = np.random.default_rng(0)
    worst = {}
    for name, (f, hessian) in _second().items():
        for scale in (0.1, 1.0, 10.0):
            if name == "gauss" and scale > 1:
                continue
            for _ in range(20):
                x = (rng.uniform(0.5, 1.5, 3) * scale * rng.choice([-1, 1], 3)).astype(np.float32)
                try:
                    if function == "hessian":
                        H = xd.hessian(f, x, method_args=method_args)
                    else:
                        H = xd.genD(f, x, method_args=method_args).D[0, 3:]
                        H = np.array([[H[0], H[1], H[3]], [H[1], H[2], H[4]], [H[3], H[4], H[5]]])
                except ValueError:
                    return None, None
                exact = hessian(x.astype(np.float64))
                error = float(np.max(np.abs(H - exact)) / (1 + np.max(np.abs(exact))))
                worst[name] = max(worst.get(name, 0.0), error)
    return worst, {}


def main() -> None:
    warnings.simplefilter("ignore", RuntimeWarning)  # log and sqrt at their edges
    numderiv = {"d": 1e-4, "eps": 1e-4, "zero_tol": float(np.sqrt(2.220446e-16 / 7e-7))}
    header = f"{'derivative':<18} {'function':<20} {'float32 defaults':>17} {'NaN':>4}"
    print(f"{header} {'numDeriv float64':>17} {'NaN':>4}")
    rows = []
    for method in ("Richardson", "simple", "complex"):
        forced = {"Richardson": numderiv, "simple": {"eps": 1e-4}, "complex": None}[method]
        ours = first_derivative_errors(method)
        theirs = first_derivative_errors(method, forced) if forced else ("same", None)
        rows.append((f"grad {method}", ours, theirs))
    for function in ("hessian", "genD"):
        settings = {"d": 0.1 if function == "hessian" else 1e-4, "eps": 1e-4, "r": 4}
        rows.append(
            (
                function,
                second_derivative_errors(function),
                second_derivative_errors(function, settings),
            )
        )

    def cell(errors, nan, name):
        if errors is None:
            return f"{'refused':>17} {'':>4}"
        if errors == "same":
            return f"{'(same)':>17} {'':>4}"
        return f"{errors[name]:17.1e} {nan.get(name, 0):>4}"

    for label, (ours, ours_nan), (theirs, theirs_nan) in rows:
        for name in ours:
            print(
                f"{label:<18} {name:<20} {cell(ours, ours_nan, name)} "
                f"{cell(theirs, theirs_nan, name)}"
            )
        print()


if __name__ == "__main__":
    main()
