"""Make docs/_static/convergence.png: error against grid spacing, accuracy 2 to 8.

Run from the repository root: ``python docs/plot_convergence.py``
(needs matplotlib, in the ``docs`` extra). The max error over all points,
edges included, of xpdiff.gradient on f(x) = sin(3x) over [0, 2], for the
first and second derivative on uniform grids and on randomly jittered
(non-uniform) grids, with numpy.gradient (edge_order=2) for comparison: its
errors are accuracy=2's, drawn as open squares on that line.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import xpdiff as xd

OUT = Path(__file__).resolve().parent / "_static" / "convergence.png"
POINTS = np.unique(np.round(np.geomspace(12, 2000, 22)).astype(int))


def grid(points: int, jitter: bool, rng) -> np.ndarray:
    x = np.linspace(0.0, 2.0, points)
    if jitter:
        x = x + rng.uniform(-0.25, 0.25, points) * (x[1] - x[0])
        x[0], x[-1] = 0.0, 2.0
    return x


def max_error(points: int, n: int, accuracy: int | None, jitter: bool) -> tuple[float, float]:
    x = grid(points, jitter, np.random.default_rng(points))
    exact = 3.0**n * np.sin(3 * x + n * np.pi / 2)
    if accuracy is None:
        approx = np.gradient(np.sin(3 * x), x, edge_order=2)
    else:
        approx = xd.gradient(np.sin(3 * x), x, n=n, accuracy=accuracy)
    return 2.0 / (points - 1), float(np.max(np.abs(approx - exact)))


def main() -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), sharey=True, constrained_layout=True)
    panels = [
        (1, False, "first derivative, uniform grid"),
        (1, True, "first derivative, non-uniform grid"),
        (2, True, "second derivative, non-uniform grid"),
    ]
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, 4))
    for ax, (n, jitter, title) in zip(axes, panels, strict=True):
        for color, accuracy in zip(colors, (2, 4, 6, 8), strict=True):
            h, err = zip(*(max_error(p, n, accuracy, jitter) for p in POINTS), strict=True)
            ax.loglog(h, err, "o-", ms=3, color=color, label=f"accuracy={accuracy}")
            h0, e0 = h[2], err[2]
            hs = np.array([h0, h0 / 8])
            ax.loglog(hs, e0 * 3 * (hs / h0) ** accuracy, ":", color=color, lw=1)
        if n == 1:
            # numpy.gradient's second-order formulas are accuracy=2's: its errors fall on
            # that line, so they are drawn on top as open squares, not as a hidden line
            h, err = zip(*(max_error(p, 1, None, jitter) for p in POINTS), strict=True)
            ax.loglog(
                h, err, "s", ms=7, mfc="none", mec="black", mew=0.9, zorder=3,
                label="numpy.gradient, edge_order=2 (on the accuracy=2 line)",
            )  # fmt: skip
        ax.set_title(title)
        ax.set_xlabel("grid spacing h")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("max |error| over all points, edges included")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize=9, frameon=False)
    fig.suptitle("xpdiff.gradient on sin(3x), [0, 2]: dotted lines have slope p", fontsize=11)
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
