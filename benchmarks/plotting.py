"""One look for the benchmarks' figures: log-log lines, written as PNG with Agg."""

from __future__ import annotations

from pathlib import Path


def line_plot(path, panels, *, title, xlabel, ylabel, logx=True, logy=True, note=None):
    """``panels``: ``{panel title: {label: (xs, ys)}}``, side by side; NaN leaves gaps.

    A label keeps its colour across panels. Writes ``path`` (PNG).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(panels)
    fig, axes = plt.subplots(
        1, count, figsize=(5.2 * count + 1.6, 4.2), dpi=110, sharey=True, squeeze=False
    )
    colours: dict = {}
    for ax, (panel, series) in zip(axes[0], panels.items(), strict=True):
        for label, (xs, ys) in series.items():
            colour = colours.setdefault(label, f"C{len(colours)}")
            ax.plot(xs, ys, marker="o", markersize=4, label=label, color=colour)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        if count > 1:
            ax.set_title(panel, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    _finish(fig, path, note)


def scatter_plot(path, points, *, title, xlabel, ylabel, note=None):
    """``points``: ``{label: (x, y)}``, one labelled marker each, log-log. Writes ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for label, (x, y) in points.items():
        ax.scatter([x], [y], s=36)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    _finish(fig, path, note)


def _finish(fig, path, note) -> None:
    """The command that made the figure in small print, then the PNG."""
    import matplotlib.pyplot as plt

    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="0.4")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")
