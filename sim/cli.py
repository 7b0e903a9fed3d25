"""Command line: ``python -m sim {run,layer,step,paper,sweep}``."""
from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

from .model.config import CONFIGS, TOPOLOGIES, ConfigError
from .sweep import SweepError
from .workloads import DEFAULT_TOKENS, MODELS, SUBLAYERS

__all__ = ["main", "load_grid"]


class CliError(ValueError):
    pass


def _positive_int(name, lo=1):
    def conv(s):
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name}: must be an integer, got {s!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"--{name}: must be >= {lo}, got {v}")
        return v
    return conv


def _configs(s: str) -> tuple:
    items = tuple(x.strip() for x in s.split(",") if x.strip())
    for x in items:
        if x not in CONFIGS:
            raise argparse.ArgumentTypeError(
                f"--configs: unknown configuration {x!r} (known: {', '.join(CONFIGS)})")
    return items


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim", description=(
        "Cycle-approximate, tile-level system model of T3 (fused GEMM + reduce-scatter with "
        "tracking/triggering, NMC and MCA) and Domino-style slicing."))
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="one sublayer, all configurations")
    r.add_argument("--system", default="t3-paper", help="built-in name or path to a .toml")
    r.add_argument("--topology", default=None, choices=TOPOLOGIES,
                   help="override the system's topology")
    r.add_argument("--model", default="t-nlg", choices=sorted(MODELS))
    r.add_argument("--tp", type=_positive_int("tp", 2), default=8)
    r.add_argument("--sublayer", default="fc2", choices=SUBLAYERS)
    r.add_argument("--tokens", type=_positive_int("tokens"), default=DEFAULT_TOKENS)
    r.add_argument("--configs", type=_configs, default=CONFIGS)
    r.add_argument("--slices", type=_positive_int("slices"), default=None,
                   help="Domino slice count (default: auto-tuned over 1, 2, 4, 8)")
    r.add_argument("--json", action="store_true")

    for name, hlp in (("layer", "one transformer layer (forward + backward), every configuration"),
                      ("step", "one training step: layers x (fwd + bwd) + embedding + optimizer")):
        L = sub.add_parser(name, help=hlp)
        _layer_flags(L)
        if name == "step":
            L.add_argument("--recompute", action="store_true",
                           help="full activation recompute (the forward runs again in backward)")
            L.add_argument("--layers", type=_positive_int("layers"), default=None,
                           help="number of layers (default: the model's)")
            L.add_argument("--accum", type=_positive_int("accum"), default=1,
                           help="micro-batches accumulated per optimizer step (default 1)")
            L.add_argument("--dp", type=_positive_int("dp"), default=1,
                           help="data-parallel replicas: adds the gradient all-reduce over the "
                                "inter-node network, bucketed behind the backward (default 1)")

    pp = sub.add_parser("paper", help="the paper's sweep; writes docs/results.md and plots")
    pp.add_argument("--out", default="docs/results.md")
    pp.add_argument("--img", default="docs/img")
    pp.add_argument("--tokens", type=_positive_int("tokens"), default=DEFAULT_TOKENS)
    pp.add_argument("--no-plots", action="store_true")

    s = sub.add_parser("sweep", help="design-space sweep from a TOML grid, on Dask")
    s.add_argument("--grid", required=True)
    s.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (default: start a LocalCluster of --workers "
                        "processes); 'inline' runs in this process without Dask")
    s.add_argument("--workers", type=_positive_int("workers"), default=2,
                   help="LocalCluster worker processes (default 2)")
    s.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for the scheduler (default 10)")
    s.add_argument("--out", default=None,
                   help="write JSON lines here, and the CSV table beside it (default: JSON "
                        "lines on stdout)")
    s.add_argument("--csv", default=None, help="CSV table path (default: --out with .csv)")
    return p


def _layer_configs(s: str) -> tuple:
    from .model.layer import LAYER_CONFIGS
    items = tuple(x.strip() for x in s.split(",") if x.strip())
    for x in items:
        if x not in LAYER_CONFIGS:
            raise argparse.ArgumentTypeError(
                f"--configs: unknown layer configuration {x!r} (known: {', '.join(LAYER_CONFIGS)})")
    return items


def _layer_flags(r) -> None:
    """The flags of ``run`` (``--sublayer`` does not apply: a layer has all four), plus the
    layer's own."""
    from .model.layer import LAYER_CONFIGS
    r.add_argument("--system", default="t3-paper", help="built-in name or path to a .toml")
    r.add_argument("--topology", default=None, choices=TOPOLOGIES,
                   help="override the system's topology")
    r.add_argument("--model", default="t-nlg", choices=sorted(MODELS))
    r.add_argument("--tp", type=_positive_int("tp", 2), default=8)
    r.add_argument("--tokens", type=_positive_int("tokens"), default=DEFAULT_TOKENS)
    r.add_argument("--seq", type=_positive_int("seq"), default=1024,
                   help="sequence length (tokens = seq x micro-batch; default 1024)")
    r.add_argument("--configs", type=_layer_configs, default=LAYER_CONFIGS)
    r.add_argument("--slices", type=_positive_int("slices"), default=None,
                   help="micro-batches of domino-tuned (default: searched over 1, 2, 4, 8)")
    r.add_argument("--attention", choices=("flash", "unfused"), default="flash")
    r.add_argument("--domino-wait", action="store_true",
                   help="domino: micro-batch 1's residual waits for its attention all-reduce "
                        "(as shipped it does not)")
    r.add_argument("--json", action="store_true")


# ---------------------------------------------------------------------------------------------
def cmd_layer(a, step: bool = False) -> int:
    from .model.layer import layer_shape, run_layer, run_step
    from .systems import get_system
    sysc = get_system(a.system)
    if a.topology:
        sysc = sysc.with_(topology=a.topology)
    shape = layer_shape(a.model, a.tp, a.tokens, a.seq, a.attention)
    configs = a.configs if "sequential" in a.configs else ("sequential",) + tuple(a.configs)
    if step:
        res = run_step(sysc, shape, configs, a.slices, a.recompute, a.domino_wait, a.layers,
                       a.accum, a.dp)
    else:
        res = run_layer(sysc, shape, configs, a.slices, domino_wait=a.domino_wait)
    seq = res["sequential"]
    head = {"system": sysc.name, "topology": sysc.topology, "model": a.model, "tp": a.tp,
            "tokens": a.tokens, "seq": a.seq, "attention": a.attention,
            "domino_wait": a.domino_wait}
    if a.json:
        out = dict(head, results={c: r.to_json() for c, r in res.items() if c in a.configs},
                   speedup={c: seq.time_s / r.time_s for c, r in res.items() if c in a.configs})
        if not step:
            out["speedup_fwd"] = {c: seq.fwd_s / r.fwd_s for c, r in res.items()
                                  if c in a.configs}
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    print(f"{sysc.name} ({sysc.topology})  {a.model}  TP{a.tp}  tokens={a.tokens} (seq {a.seq})  "
          f"attention={a.attention}" + ("  " + ("step" if step else "layer")))
    if step:
        s0 = seq
        print(f"step = {s0.accum} x "
              f"({s0.layers} layers + head {s0.head_s * 1e6:.0f} us) + optimizer "
              f"{s0.optimizer_s * 1e6:.0f} us" + ("; recompute" if s0.recompute else "")
              + (f"; DP {s0.dp}: gradient all-reduce {s0.dp_allreduce_s * 1e6:.0f} us"
                 if s0.dp > 1 else ""))
        print(f"{'config':<14}{'step ms':>10}{'speedup':>9}{'layer us':>11}{'DP exposed us':>15}")
        for c, r in res.items():
            if c in a.configs:
                print(f"{c:<14}{r.time_s * 1e3:>10.2f}{seq.time_s / r.time_s:>9.3f}"
                      f"{r.layer_s * 1e6:>11.1f}{r.dp_exposed_s * 1e6:>15.1f}")
        return 0
    print(f"{'config':<14}{'fwd us':>10}{'x fwd':>8}{'bwd us':>10}{'x bwd':>8}{'layer us':>11}"
          f"{'x layer':>9}  notes")
    for c, r in res.items():
        if c not in a.configs:
            continue
        note = f"S={r.slices}" if c.startswith("domino") or c == "t3+domino" else ""
        if r.tracker_spills:
            note += (" " if note else "") + "tracker spills " + ", ".join(
                f"{k}:{v}" for k, v in r.tracker_spills.items())
        print(f"{c:<14}{r.fwd_s * 1e6:>10.1f}{seq.fwd_s / r.fwd_s:>8.3f}{r.bwd_s * 1e6:>10.1f}"
              f"{seq.bwd_s / r.bwd_s:>8.3f}{r.time_s * 1e6:>11.1f}{seq.time_s / r.time_s:>9.3f}"
              f"  {note}")
    return 0


def cmd_run(a) -> int:
    from .model.dataflows import run_configs
    from .systems import get_system
    from .workloads import sublayer
    sysc = get_system(a.system)
    if a.topology:
        sysc = sysc.with_(topology=a.topology)
    sub = sublayer(a.model, a.sublayer, a.tp, a.tokens)
    configs = a.configs if "sequential" in a.configs else ("sequential",) + tuple(a.configs)
    res = run_configs(sysc, sub, configs, slices=a.slices)
    seq = res["sequential"].time_s
    if a.json:
        out = {"system": sysc.name, "model": a.model, "tp": a.tp, "sublayer": a.sublayer,
               "tokens": a.tokens, "gemm": {"m": sub.m, "n": sub.n, "k": sub.k},
               "results": {c: r.to_json() for c, r in res.items() if c in a.configs},
               "speedup": {c: seq / r.time_s for c, r in res.items() if c in a.configs}}
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    print(f"{sysc.name} ({sysc.topology})  {a.model}  TP{a.tp}  {a.sublayer}  tokens={a.tokens}  "
          f"GEMM [{sub.m}x{sub.k}]@[{sub.k}x{sub.n}]")
    print(f"{'config':<14}{'time_us':>11}{'speedup':>9}{'DRAM rd MB':>12}{'DRAM wr MB':>12}"
          f"{'NMC MB':>9}{'link MB':>10}  notes")
    for c, r in res.items():
        if c not in a.configs:
            continue
        note = ""
        if c == "domino":
            note = f"S={r.slices}"
        if c.startswith("t3"):
            note = f"tracker peak {r.tracker_peak_tiles:.0f} tiles"
            if r.mca_setting:
                note += f", MCA setting {r.mca_setting}"
        print(f"{c:<14}{r.time_us:>11.1f}{seq / r.time_s:>9.3f}{r.dram_read_bytes / 1e6:>12.1f}"
              f"{r.dram_write_bytes / 1e6:>12.1f}{r.nmc_bytes / 1e6:>9.1f}"
              f"{r.link_bytes / 1e6:>10.1f}  {note}")
    return 0


def cmd_paper(a) -> int:
    from .model.report import write_paper_report
    t0 = time.perf_counter()
    summary = write_paper_report(Path(a.out), Path(a.img), tokens=a.tokens,
                                 plots=not a.no_plots, show_progress=True)
    dt = time.perf_counter() - t0
    for cfg in ("t3", "t3-mca", "ideal", "ideal-rs-nmc", "domino"):
        g, m = summary[cfg]
        print(f"{cfg:<14} geomean {100 * (g - 1):5.1f}%  max {100 * (m - 1):5.1f}%")
    g, m = summary["data_movement"]
    print(f"data movement (t3-mca, GEMM+RS DRAM bytes) -{100 * g:.1f}% geomean, max -{100 * m:.1f}%")
    print(f"wrote {a.out}" + ("" if a.no_plots else f" and {a.img}/*.png"))
    print(f"python -m sim paper: {dt:.1f} s wall")
    return 0


_GRID_KEYS = {"systems": str, "models": str, "tp": int, "tokens": int, "sublayers": str,
              "configs": str}
GRID_LEVELS = ("sublayer", "layer", "step")


def load_grid(path: str | Path) -> dict:
    """Read and validate a sweep grid (``[grid]`` table; every key a non-empty list, except
    ``level``: "sublayer" (default), "layer" or "step")."""
    from .model.layer import LAYER_CONFIGS
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CliError(f"--grid: file {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise CliError(f"--grid: invalid TOML: {e}") from None
    g = data.get("grid")
    if not isinstance(g, dict):
        raise CliError("grid: missing [grid] table")
    out = {}
    g = dict(g)
    level = g.pop("level", "sublayer")
    if level not in GRID_LEVELS:
        raise CliError(f"grid.level: must be one of {', '.join(GRID_LEVELS)}, got {level!r}")
    out["level"] = level
    if "policies" in g:               # alias: the configurations are the policies compared
        if "configs" in g:
            raise CliError("grid.policies: give either policies or configs, not both")
        g["configs"] = g.pop("policies")
    for k, v in g.items():
        if k not in _GRID_KEYS:
            raise CliError(f"grid.{k}: unknown key (known: level, {', '.join(_GRID_KEYS)})")
        if not isinstance(v, list) or not v:
            raise CliError(f"grid.{k}: must be a non-empty list, got {v!r}")
        for x in v:
            if not isinstance(x, _GRID_KEYS[k]) or isinstance(x, bool):
                raise CliError(f"grid.{k}: entries must be {_GRID_KEYS[k].__name__}, got {x!r}")
        out[k] = v
    known = CONFIGS if level == "sublayer" else LAYER_CONFIGS
    if level != "sublayer" and "sublayers" in out:
        raise CliError(f"grid.sublayers: not used at level {level!r} (a layer has all four)")
    out.setdefault("systems", ["t3-paper"])
    out.setdefault("tokens", [DEFAULT_TOKENS])
    out.setdefault("sublayers", list(SUBLAYERS))
    out.setdefault("configs", list(known))
    for k in ("models", "tp"):
        if k not in out:
            raise CliError(f"grid.{k}: required")
    for m in out["models"]:
        if m not in MODELS:
            raise CliError(f"grid.models: unknown model {m!r}")
    for s in out["sublayers"]:
        if s not in SUBLAYERS:
            raise CliError(f"grid.sublayers: unknown sublayer {s!r}")
    for c in out["configs"]:
        if c not in known:
            raise CliError(f"grid.configs: unknown {level} configuration {c!r} "
                           f"(known: {', '.join(known)})")
    for t in out["tp"]:
        if t < 2:
            raise CliError(f"grid.tp: must be >= 2, got {t}")
    for t in out["tokens"]:
        if t < 1:
            raise CliError(f"grid.tokens: must be >= 1, got {t}")
    from .systems import get_system
    base = Path(path).parent
    systems = []
    for s in out["systems"]:
        cand = s if not s.endswith(".toml") or Path(s).exists() else str(base / s)
        get_system(cand)          # validate now, fail before any work
        systems.append(cand)
    out["systems"] = systems
    return out


def cmd_sweep(a) -> int:
    from .sweep import main_sweep
    return main_sweep(load_grid(a.grid), a.scheduler, a.workers, a.timeout, a.out, a.csv)


def main(argv=None) -> int:
    p = _parser()
    a = p.parse_args(argv)
    try:
        return {"run": cmd_run, "paper": cmd_paper, "sweep": cmd_sweep, "layer": cmd_layer,
                "step": lambda x: cmd_layer(x, step=True)}[a.cmd](a)
    except (ConfigError, CliError, ValueError, SweepError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
