"""Plots of the system model (matplotlib, Agg backend; deterministic file content aside from
matplotlib's own metadata, which is disabled)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["speedup_bars", "timeline", "layer_timeline", "speedup_curves"]

_COLORS = {"domino": "#8c8c8c", "t3": "#f0a030", "t3-mca": "#d62728", "ideal": "#1f77b4",
           "ideal-rs-nmc": "#9ecae1", "domino-tuned": "#4d4d4d", "t3+domino": "#9467bd",
           "sequential": "#000000"}
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


_OP_COLORS = {"qkv": "#1f77b4", "attn": "#17becf", "op": "#2ca02c", "fc1": "#ff7f0e",
              "fc2": "#d62728", "ln1": "#c7c7c7", "bdr-ln2": "#c7c7c7", "gelu": "#c7c7c7",
              "bdr": "#c7c7c7"}


def layer_timeline(results: dict, path: Path, title: str, n_cu: int, pass_: str = "fwd",
                   configs=("sequential", "domino", "t3-mca", "t3+domino")) -> Path:
    """One layer pass per configuration: the compute stream's kernels (bars), the all-reduces
    in flight (bars), and CU / HBM / link utilisation over time."""
    fig, axes = plt.subplots(len(configs), 1, figsize=(13, 2.3 * len(configs)), sharex=True)
    for ax, c in zip(np.atleast_1d(axes), configs):
        r = results[c]
        spans = r.spans[pass_]
        comp = [s for s in spans if s[1] == "compute"]
        comm = [s for s in spans if s[1] == "comm"]
        for name, _, t0, t1 in comp:
            base = name.split(".")[0]
            ax.broken_barh([(t0 * 1e6, (t1 - t0) * 1e6)], (1.25, 0.3),
                           facecolors=_OP_COLORS.get(base, "#7f7f7f"), edgecolor="k", lw=0.3)
            if (t1 - t0) / max(r.fwd_s if pass_ == "fwd" else r.bwd_s, 1e-12) > 0.04:
                ax.text((t0 + t1) / 2 * 1e6, 1.4, name, ha="center", va="center", fontsize=6)
        for k, (name, _, t0, t1) in enumerate(comm):
            y = 1.1 - 0.06 * (k % 2)
            ax.broken_barh([(t0 * 1e6, (t1 - t0) * 1e6)], (y, 0.05), facecolors="#9467bd")
        tr = r.trace.get(pass_, [])
        if tr:
            sc = 0.9                                  # utilisation drawn below the bars
            t, g = _steps(tr, 2, sc / n_cu)
            _, m = _steps(tr, 3, sc / n_cu)
            _, d = _steps(tr, 4, sc)
            _, lk = _steps(tr, 5, sc)
            ax.fill_between(t, 0, g, color="#2ca02c", alpha=0.3, label="compute CUs")
            ax.fill_between(t, 0, m, color="#9467bd", alpha=0.5, label="comm-kernel CUs")
            ax.plot(t, d, color="#1f77b4", lw=0.8, label="HBM utilisation")
            ax.plot(t, lk, color="#d62728", lw=0.7, label="link utilisation")
        ax.set_ylim(0, 1.6)
        ax.set_yticks([0.45, 1.08, 1.4], ["util. (0-1)", "AR", "kernels"], fontsize=7)
        ax.set_ylabel(c, fontsize=8)
        end = r.fwd_s if pass_ == "fwd" else r.bwd_s
        ax.axvline(end * 1e6, color="k", ls=":", lw=0.8)
    np.atleast_1d(axes)[0].set_title(title)
    np.atleast_1d(axes)[0].legend(fontsize=7, ncol=4, loc="upper right",
                                  bbox_to_anchor=(1.0, 1.45))
    np.atleast_1d(axes)[-1].set_xlabel("time (us)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)
    return path


def speedup_curves(panels: list, path: Path, title: str) -> Path:
    """Panels of (xlabel, xs, {config: [speedup per x]}, subtitle), log-2 x axis."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4))
    for ax, (xlabel, xs, series, sub) in zip(np.atleast_1d(axes), panels):
        for c, ys in series.items():
            ax.plot(xs, ys, marker="o", label=c, color=_COLORS.get(c))
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("layer speedup over sequential")
        ax.set_title(sub, fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)
    return path
