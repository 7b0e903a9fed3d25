"""The layer, step and larger-model sections of ``docs/results.md`` (``python -m sim paper``)."""
from __future__ import annotations

from ..systems import get_system
from ..workloads import sublayer
from .dataflows import run_configs
from .experiments import geomean, progress
from .layer import layer_shape, run_layer, run_step

__all__ = ["layer_sections", "layer_plot_data", "PAPER_E2E", "PAPER_LARGE", "DOMINO_SETUPS",
           "LARGE_MODELS"]

#: the T3 paper's end-to-end training speedups (geomean, max) on Mega-GPT-2 and T-NLG
PAPER_E2E = {"t3": (1.07, 1.09), "t3-mca": (1.10, 1.12)}
#: the T3 paper's larger models at TP 32: sublayer speedup of T3-MCA (geomean, max)
PAPER_LARGE = (1.29, 1.35)
LARGE_MODELS = ("gpt-3", "palm", "mt-nlg")
#: Domino's public GPT-3 6.7B script (sequence 1024 x micro-batch 8, TP 4) and the 2048 x 8,
#: TP 8 case, on the DGX-H100 variants; Domino reports up to 1.3x end to end (GPT, DGX-H100)
DOMINO_SETUPS = (("dgx-h100", 4, 1024, 8, "Domino's public script"),
                 ("dgx-h100", 8, 2048, 8, "2048 x 8 at TP 8"),
                 ("dgx-h100-ring", 8, 2048, 8, "2048 x 8 at TP 8, NCCL-style ring"),
                 ("dgx-h100-2node", 8, 2048, 8, "2048 x 8, TP 8 over 2 nodes"))
DOMINO_REPORTED = 1.3
STEP_CONFIGS = ("sequential", "domino", "t3", "t3-mca", "t3+domino")


def _x(v: float) -> str:
    return f"{v:.3f}"


def _spills(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) if d else "0"


def _attention_share(layer, layers: int, step_s: float) -> float:
    att = sum(t1 - t0 for p in ("fwd", "bwd") for name, st, t0, t1 in layer.spans[p]
              if st == "compute" and name.startswith("attn"))
    return att * layers / step_s


def layer_sections(L: list, show_progress: bool = False) -> dict:
    """Append the sections to the line list ``L``; return the numbers (for plots and tests)."""
    data: dict = {}
    tasks = 8
    done = 0

    def tick(label):
        nonlocal done
        done += 1
        if show_progress:
            progress(done, tasks, label)

    paper_sys = get_system("t3-paper")

    # larger models at TP 32 -----------------------------------------------------------------
    large = {}
    for m in LARGE_MODELS:
        for sl in ("op", "fc2", "ip"):
            large[(m, sl)] = run_configs(paper_sys, sublayer(m, sl, 32))
        large[(m, "fc1")] = large[(m, "fc2")]            # the same GEMM shape as FC-2
    tick("larger models")
    data["large"] = large
    L.append("## The paper's larger models at TP 32 (sublayers)\n")
    L.append("GPT-3 (175B), PaLM (540B) and MT-NLG (530B) on `t3-paper`, TP 32, 8192 tokens, "
             "one-way ring. FC-1 has FC-2's GEMM shape, so the same numbers. Tracker: peak tiles "
             "in t3-mca (spilled groups).\n")
    L.append("| model | sublayer | domino (S) | t3 | t3-mca | ideal | tracker peak (spills) |")
    L.append("|---|---|---|---|---|---|---|")
    sp = {c: [] for c in ("domino", "t3", "t3-mca", "ideal")}
    for m in LARGE_MODELS:
        for sl in ("op", "fc2", "fc1", "ip"):
            r = large[(m, sl)]
            seq = r["sequential"].time_s
            for c in sp:
                sp[c].append(seq / r[c].time_s)
            L.append(f"| {m} | {sl} | {_x(seq / r['domino'].time_s)} ({r['domino'].slices}) | "
                     f"{_x(seq / r['t3'].time_s)} | {_x(seq / r['t3-mca'].time_s)} | "
                     f"{_x(seq / r['ideal'].time_s)} | {r['t3-mca'].tracker_peak_tiles:.0f} "
                     f"({r['t3-mca'].tracker_spills}) |")
    L.append("| geomean / max | | " + " | ".join(
        f"{_x(geomean(sp[c]))} / {_x(max(sp[c]))}" for c in sp) + " | |")
    L.append(f"| paper (T3-MCA) | | | | {_x(PAPER_LARGE[0])} / {_x(PAPER_LARGE[1])} | | |")
    L.append("")

    # layers ---------------------------------------------------------------------------------
    L.append("## Transformer layers (forward + backward)\n")
    L.append("Speedup over `sequential` of one layer, `forward / layer` (layer = forward + "
             "backward); see docs/model.md for the graph and the configurations. `domino` is "
             "DeepSpeed's shipped schedule (2 micro-batches; micro-batch 1's residual issued "
             "before its all-reduce is waited on, as in the shipped code); `domino (wait)` moves "
             "that residual after the wait; `domino-tuned` searches 1, 2, 4, 8 micro-batches "
             "(an oracle). Tracker spills: groups sent through the table-full fallback in t3-mca, per "
             "sublayer of the layer (`fc1`, `ip` are the backward dgrads).\n")
    hdr = ("| system | model | TP | tokens | sequential us (fwd / layer) | domino | domino (wait) "
           "| domino-tuned (S) | t3 | t3-mca | t3+domino | t3-mca tracker spills |")
    L.append(hdr)
    L.append("|" + "---|" * (hdr.count("|") - 1))
    layer_rows = []
    cases = [("t3-paper", m, tp, 8192, 1024) for m in ("mega-gpt-2", "t-nlg") for tp in (8, 16)]
    cases += [(s, "gpt-3-6.7b", tp, seq * mb, seq) for s, tp, seq, mb, _ in DOMINO_SETUPS]
    for sysname, m, tp, tokens, seq in cases:
        sysc = get_system(sysname)
        sh = layer_shape(m, tp, tokens, seq)
        res = run_layer(sysc, sh)
        wait = run_layer(sysc, sh, ("domino",), domino_wait=True)["domino"]
        s0 = res["sequential"]

        def cell(r):
            return f"{_x(s0.fwd_s / r.fwd_s)} / {_x(s0.time_s / r.time_s)}"
        L.append(f"| {sysname} | {m} | {tp} | {tokens} | {s0.fwd_s * 1e6:.0f} / "
                 f"{s0.time_s * 1e6:.0f} | {cell(res['domino'])} | {cell(wait)} | "
                 f"{cell(res['domino-tuned'])} ({res['domino-tuned'].slices}) | "
                 f"{cell(res['t3'])} | {cell(res['t3-mca'])} | {cell(res['t3+domino'])} | "
                 f"{_spills(res['t3-mca'].tracker_spills)} |")
        layer_rows.append(((sysname, m, tp, tokens), res, wait))
    tick("layers")
    data["layers"] = layer_rows
    L.append("")
    def fwd(r, c):
        return _x(r["sequential"].fwd_s / r[c].fwd_s)
    L.append("Domino as shipped against T3-MCA, per forward layer: "
             + "; ".join(f"{k[0]} {k[1]} TP{k[2]}: domino {fwd(r, 'domino')}x, "
                         f"t3-mca {fwd(r, 't3-mca')}x, t3+domino {fwd(r, 't3+domino')}x"
                         for k, r, _ in layer_rows if k[1] in ("t-nlg", "gpt-3-6.7b")
                         and k[2] == 8) + ".\n")

    # steps ----------------------------------------------------------------------------------
    L.append("## Training steps (end to end)\n")
    L.append("A step = layers x (forward + backward) + embedding / LM head + optimizer (one "
             "micro-batch per step, no activation recompute, no data parallelism; "
             "docs/model.md). Speedup of the whole step over `sequential`. `attention share` = "
             "the attention core's share of the sequential step. The T3 paper's end-to-end "
             "numbers (training, Mega-GPT-2 and T-NLG) are beside; the paper attributes their "
             "smallness to unfused attention taking 40-45% of the time.\n")
    hdr = ("| system | model | TP | tokens | attention | step ms | attention share | domino | "
           "t3 | t3-mca | t3+domino |")
    L.append(hdr)
    L.append("|" + "---|" * (hdr.count("|") - 1))
    steps = []
    e2e = {a: {c: [] for c in STEP_CONFIGS[1:]} for a in ("flash", "unfused")}
    for att in ("flash", "unfused"):
        for m in ("mega-gpt-2", "t-nlg"):
            for tp in (8, 16):
                sh = layer_shape(m, tp, 8192, 1024, att)
                st = run_step(paper_sys, sh, STEP_CONFIGS)
                s0 = st["sequential"]
                for c in STEP_CONFIGS[1:]:
                    e2e[att][c].append(s0.time_s / st[c].time_s)
                steps.append((("t3-paper", m, tp, 8192, att), st))
                L.append(f"| t3-paper | {m} | {tp} | 8192 | {att} | {s0.time_s * 1e3:.0f} | "
                         f"{100 * _attention_share(s0.layer, s0.layers, s0.time_s):.0f}% | "
                         + " | ".join(_x(s0.time_s / st[c].time_s) for c in STEP_CONFIGS[1:])
                         + " |")
        tick(f"steps {att}")
    for att in ("flash", "unfused"):
        L.append(f"| geomean / max, {att} | | | | | | | "
                 + " | ".join(f"{_x(geomean(e2e[att][c]))} / {_x(max(e2e[att][c]))}"
                              for c in STEP_CONFIGS[1:]) + " |")
    L.append(f"| paper (training) | | | | unfused | | 40-45% | - | "
             f"{_x(PAPER_E2E['t3'][0])} / {_x(PAPER_E2E['t3'][1])} | "
             f"{_x(PAPER_E2E['t3-mca'][0])} / {_x(PAPER_E2E['t3-mca'][1])} | - |")
    dom = []
    for sysname, tp, seq, mb, label in DOMINO_SETUPS:
        sh = layer_shape("gpt-3-6.7b", tp, seq * mb, seq)
        st = run_step(get_system(sysname), sh, STEP_CONFIGS)
        s0 = st["sequential"]
        dom.append(((sysname, tp, seq, mb, label), st))
        L.append(f"| {sysname} | gpt-3-6.7b ({label}) | {tp} | {seq} x {mb} | flash | "
                 f"{s0.time_s * 1e3:.0f} | "
                 f"{100 * _attention_share(s0.layer, s0.layers, s0.time_s):.0f}% | "
                 + " | ".join(_x(s0.time_s / st[c].time_s) for c in STEP_CONFIGS[1:]) + " |")
    tick("domino steps")
    L.append(f"| Domino (reported, DGX-H100, GPT) | | | | | | | up to {DOMINO_REPORTED} | - | - "
             "| - |")
    big = []
    for m in LARGE_MODELS:
        sh = layer_shape(m, 32, 8192, 1024 if m != "gpt-3" else 2048)
        st = run_step(paper_sys, sh, STEP_CONFIGS)
        s0 = st["sequential"]
        big.append((m, st))
        L.append(f"| t3-paper | {m} | 32 | 8192 | flash | {s0.time_s * 1e3:.0f} | "
                 f"{100 * _attention_share(s0.layer, s0.layers, s0.time_s):.0f}% | "
                 + " | ".join(_x(s0.time_s / st[c].time_s) for c in STEP_CONFIGS[1:]) + " |")
    tick("large steps")
    L.append("| paper (larger models) | | 32 | | | | | - | - | up to 1.120 | - |")
    L.append("")
    L.append("Domino's 1.3x is measured against Megatron-LM on real H100s, where Megatron's "
             "own backward already overlaps the input-gradient all-reduce with the weight "
             "gradients and NCCL runs its own algorithms; in this model `sequential` overlaps "
             "nothing. The Domino rows above are the model's Domino on the model's H100, not a "
             "reproduction of Domino's measurement.\n")
    data["steps"] = steps
    data["domino_steps"] = dom
    data["big_steps"] = big
    data["e2e"] = e2e
    tasks = done
    return data


#: the per-layer timeline's case and the curves' sweeps
TIMELINE_LAYER = ("t3-paper", "t-nlg", 8, 8192)
CURVE_CONFIGS = ("domino", "domino-tuned", "t3", "t3-mca", "t3+domino")
CURVE_TPS = ("t3-paper", "mega-gpt-2", (2, 4, 8, 16, 32), 8192)
CURVE_TOKENS = ("t3-paper", "mega-gpt-2", 8, (2048, 4096, 8192, 16384, 32768))


def layer_plot_data(show_progress: bool = False) -> dict:
    sysname, m, tp, tokens = TIMELINE_LAYER
    sysc = get_system(sysname)
    tl = run_layer(sysc, layer_shape(m, tp, tokens),
                   ("sequential", "domino", "t3-mca", "t3+domino"), record=True)
    panels = []
    s, m2, tps, tok = CURVE_TPS
    ser = {c: [] for c in CURVE_CONFIGS}
    for i, t in enumerate(tps):
        r = run_layer(get_system(s), layer_shape(m2, t, tok), ("sequential",) + CURVE_CONFIGS)
        for c in CURVE_CONFIGS:
            ser[c].append(r["sequential"].time_s / r[c].time_s)
        if show_progress:
            progress(i + 1, len(tps), f"curves tp{t}")
    panels.append(("TP degree", list(tps), ser, f"{m2} on {s}, {tok} tokens"))
    s, m3, tp3, toks = CURVE_TOKENS
    ser = {c: [] for c in CURVE_CONFIGS}
    for i, t in enumerate(toks):
        r = run_layer(get_system(s), layer_shape(m3, tp3, t), ("sequential",) + CURVE_CONFIGS)
        for c in CURVE_CONFIGS:
            ser[c].append(r["sequential"].time_s / r[c].time_s)
        if show_progress:
            progress(i + 1, len(toks), f"curves {t} tokens")
    panels.append(("tokens (sequence 1024 x micro-batch)", list(toks), ser,
                   f"{m3} on {s}, TP {tp3}"))
    return {"timeline": tl, "timeline_title": f"{m} TP{tp} on {sysname}, {tokens} tokens: one "
            "forward layer", "timeline_n_cu": sysc.n_cu, "curves": panels}
