"""Plots of the system model (matplotlib, Agg backend; deterministic file content aside from
matplotlib's own metadata, which is disabled)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["speedup_bars", "timeline"]

_COLORS = {"domino": "#8c8c8c", "t3": "#f0a030", "t3-mca": "#d62728", "ideal": "#1f77b4",
           "ideal-rs-nmc": "#9ecae1"}
_META = {"Software": None}


def speedup_bars(points, path: Path, configs=("domino", "t3", "t3-mca", "ideal", "ideal-rs-nmc"),
                 paper=None) -> Path:
    """Speedup over sequential per sublayer (16 groups: model x TP x sublayer)."""
    labels = [f"{p.model}\nTP{p.tp} {p.sublayer}" for p in points]
    x = np.arange(len(points))
    w = 0.8 / len(configs)
    fig, ax = plt.subplots(figsize=(14, 4.5))
    for i, c in enumerate(configs):
        ax.bar(x + (i - (len(configs) - 1) / 2) * w, [p.speedup(c) for p in points], w,
               label=c, color=_COLORS.get(c))
    if paper:
        for c, (g, _m) in paper.items():
            if c in _COLORS:
                ax.axhline(g, color=_COLORS[c], ls="--", lw=0.8)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("speedup over sequential")
    ax.set_ylim(0.9, max(1.6, max(p.speedup(c) for p in points for c in configs) + 0.05))
    ax.set_title("Sublayer speedup on t3-paper (dashed: the paper's geomeans)")
    ax.legend(ncol=len(configs), fontsize=8, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)
    return path


def _steps(trace, idx, scale=1.0):
    t = []
    v = []
    for seg in trace:
        t += [seg[0] * 1e6, seg[1] * 1e6]
        v += [seg[idx] * scale, seg[idx] * scale]
    return np.array(t), np.array(v)


def timeline(results: dict, path: Path, title: str, n_cu: int,
             configs=("sequential", "t3-mca")) -> Path:
    """Compute / DMA+comm / HBM / link activity over time, one panel per configuration."""
    fig, axes = plt.subplots(len(configs), 1, figsize=(12, 2.6 * len(configs)), sharex=True)
    for ax, c in zip(np.atleast_1d(axes), configs):
        tr = results[c].trace
        t, g = _steps(tr, 2, 1.0 / n_cu)
        _, m = _steps(tr, 3, 1.0 / n_cu)
        _, d = _steps(tr, 4)
        _, lk = _steps(tr, 5)
        _, dma = _steps(tr, 6)
        ax.fill_between(t, 0, g, color="#2ca02c", alpha=0.35, label="GEMM CUs (fraction)")
        ax.fill_between(t, 0, m, color="#9467bd", alpha=0.5, label="comm-kernel CUs")
        ax.plot(t, d, color="#1f77b4", lw=1, label="HBM utilisation")
        ax.plot(t, lk, color="#d62728", lw=0.8, label="link utilisation")
        ax.fill_between(t, 1.02, 1.02 + 0.06 * dma, color="#ff7f0e", step=None,
                        label="DMA engine busy (T3)")
        ax.set_ylim(0, 1.1)
        ax.set_ylabel(c)
        ax.axvline(results[c].time_us, color="k", ls=":", lw=0.8)
    np.atleast_1d(axes)[0].set_title(title)
    np.atleast_1d(axes)[0].legend(fontsize=7, ncol=4, loc="upper right")
    np.atleast_1d(axes)[-1].set_xlabel("time (us)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)
    return path
