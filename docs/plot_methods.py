"""Make docs/_static/methods.png: error against cost for each method and the peers.

Run from the repository root: ``python docs/plot_methods.py`` (needs
matplotlib, in the ``docs`` extra; scipy and numdifftools columns where
installed). For the sixteen problems of ``benchmarks/adaptive_problems.py``,
100 points each: each method's function values per derivative against the
relative error of its first derivatives, the marker at the median and the
bar from the 25th to the 90th percentile.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from adaptive_problems import PROBLEMS, points  # noqa: E402
from bench_adaptive import Counted  # noqa: E402

import xpdiff as xd  # noqa: E402

OUT = ROOT / "docs" / "_static" / "methods.png"


def methods():
    out = [
        ("simple", lambda f, x: xd.grad(f, x, method="simple")),
        ("Richardson (numDeriv)", lambda f, x: xd.grad(f, x)),
        ("adaptive", lambda f, x: xd.grad(f, x, method="adaptive")),
        ("adaptive, one-sided", lambda f, x: xd.grad(f, x, "adaptive", side=[1] * x.size)),
        ("complex step", lambda f, x: xd.grad(f, x, method="complex")),
    ]
    if importlib.util.find_spec("scipy.differentiate"):
        from scipy.differentiate import derivative

        out.append(("scipy.differentiate", lambda f, x: derivative(f, x).df))
    if importlib.util.find_spec("numdifftools"):
        import numdifftools as nd

        out.append(("numdifftools", lambda f, x: nd.Derivative(f)(x)))
    return out


def main() -> None:
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for name, method in methods():
        errors, values = [], 0.0
        for _, f, fp, _, interval, spacing, _ in PROBLEMS:
            x = points(interval, spacing)
            counted = Counted(f)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                g = np.asarray(method(counted, x), dtype=np.float64)
            errors.append(np.abs(g - fp(x)) / np.abs(fp(x)))
            values += counted.values / x.size
        e = np.concatenate(errors)
        e = np.where(np.isfinite(e), np.maximum(e, 1e-17), 1.0)  # NaN counts as no digit
        cost = values / len(PROBLEMS)
        low, median, high = np.percentile(e, [25, 50, 90])
        ax.errorbar(
            cost,
            median,
            yerr=[[median - low], [high - median]],
            fmt="o",
            capsize=4,
            label=f"{name}: {np.mean(e < 1e-12):.0%} below 1e-12",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [2, 3, 5, 10, 20, 30]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("function values per derivative")
    ax.set_ylabel("relative error (25th, 50th, 90th percentile)")
    ax.set_title("First derivatives, 16 test functions x 100 points")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
