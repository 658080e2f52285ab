"""Figures drawn from a run's results (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import Section

__all__ = ["write"]


def write(sections: list[Section], folder: Path) -> list[Path]:
    """Draw the figures the sections allow into ``folder``; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for section in sections:
        if "fractions" in section.data:
            written.append(_scaling(section, folder / "w3_scaling.png"))
        elif "epoch_flops" in section.data:
            written.append(_throughput(section, folder / "w2_throughput.png"))
    return written


def _scaling(section: Section, path: Path) -> Path:
    import matplotlib.pyplot as plt

    from benchmarks.w2_mnist import HAND, LOOP

    widths, batches = section.data["widths"], section.data["batches"]
    fractions = section.data["fractions"]
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    for axis, name in zip(axes, (LOOP, HAND), strict=True):
        for width in widths:
            values = [100 * fractions[name][f"{width}x{batch}"] for batch in batches]
            axis.plot(batches, values, marker="o", markersize=3, label=f"width {width}")
        axis.axhline(80, color="grey", linewidth=0.8, linestyle="--")
        axis.set_xscale("log", base=2)
        axis.set_xticks(batches, [str(batch) for batch in batches])
        axis.set_xlabel("batch size")
        axis.set_title(name, fontsize=9)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("% of GEMM-bound limit")
    axes[0].set_ylim(0, 105)
    axes[1].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _throughput(section: Section, path: Path) -> Path:
    import statistics

    import matplotlib.pyplot as plt

    samples = section.data["samples"]
    names = list(section.data["seconds"])
    rates = [samples / statistics.median(section.data["seconds"][name]) for name in names]
    figure, axis = plt.subplots(figsize=(7, 0.35 * len(names) + 0.9))
    axis.barh(names[::-1], rates[::-1], color="tab:blue")
    axis.set_xlabel("samples per second (higher is better)")
    axis.tick_params(axis="y", labelsize=8)
    axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
