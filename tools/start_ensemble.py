"""The scale runs under start skews: how much of an RTL cycle count is the lockstep start.

Every scale run starts the four (or eight) devices' producers in the same cycle, on DRAM timing
with their refresh schedules in step. A real ring starts its kernels microseconds apart. This
tool runs each scenario and mode on the RTL (the bare Verilator harness of ``make scale``,
checksums checked) at the lockstep start (skew seed 0) and at ``--seeds N`` start skews
(:func:`sim.scale.start_skews`: each device's start 0-63 cycles late, under 0.1 % of any run; no
work changes), and prints per run the lockstep cycles, the skewed runs' minimum, median and
maximum, and the fluid engine's cycles (:func:`sim.model.rtl.simulate`, which has no start
skew) against the lockstep run and against the median. ``--cl K`` also runs the cycle-level
model (:func:`sim.xval.scale_model.model_scale`) on the first ``K`` skew seeds of every run and
reports whether its cycles equal the RTL's (exactness under skew, not only at the lockstep
start).

    python tools/start_ensemble.py [--scenario NAME ...] [--modes t3,t3-mca] [--seeds 8]
                                   [--cl K] [--jobs 2] [--md FILE] [--json FILE]

The tool reports; it enforces nothing but the checksums (and, with ``--cl``, exactness): exit
status 1 if an RTL checksum is wrong or a CL run differs from its RTL run.
"""

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim import scale as sc  # noqa: E402

#: the default set: the validation set's 64-tile scenarios (all but the two with 32 KiB tiles,
#: whose software modes take 1.5-2 minutes of harness time per run)
DEFAULT = ("ring4_64", "ring4_64_mem", "ring4_64_compute", "ring8_64", "ring4_64_direct",
           "ring4_64_dram", "ring4_64_mem_dram", "ring4_64_dram_direct")


def _cl(args):
    from sim.xval.scale_model import model_scale
    s, mode, seed = args
    return model_scale(s, mode, skew_seed=seed)["cycles"]


def ensemble(s, modes, seeds, cl=0, jobs=2, timeout=900.0):
    """Rows ``{scenario, mode, lockstep, skewed: [cycles by seed], fluid, cl: [(seed, rtl, cl)],
    checksums_ok}``."""
    import tools.scale as ts
    from sim.model import rtl as fluid
    exe = ts.build(s)
    jobs_list = [(m, k) for m in modes for k in range(seeds + 1)]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        runs = list(pool.map(lambda mk: ts.run(s, mk[0], exe, timeout=timeout,
                                               skew_seed=mk[1]), jobs_list))
    by = {(m, k): r for (m, k), r in zip(jobs_list, runs)}
    cl_jobs = [(s, m, k) for m in modes for k in range(1, min(cl, seeds) + 1)]
    cl_cycles = {}
    if cl_jobs:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max(1, jobs)) as pool:
            cl_cycles = dict(zip([(m, k) for _, m, k in cl_jobs], pool.map(_cl, cl_jobs)))
    rows = []
    for m in modes:
        skewed = [by[(m, k)]["cycles"] for k in range(1, seeds + 1)]
        rows.append({
            "scenario": s.name, "memory": s.memory, "mode": m,
            "lockstep": by[(m, 0)]["cycles"], "skewed": skewed,
            "skews": {k: list(sc.start_skews(s, k)) for k in range(1, seeds + 1)},
            "fluid": fluid.simulate(s, m)["cycles"],
            "cl": [(k, by[(m, k)]["cycles"], cl_cycles[(m, k)])
                   for k in range(1, seeds + 1) if (m, k) in cl_cycles],
            "checksums_ok": all(by[(m, k)]["checksum_ok"] for k in range(seeds + 1)),
        })
    return rows


def table(rows):
    lines = ["| scenario | memory | mode | lockstep RTL | skewed RTL: min / median / max | "
             "max / min | fluid | fluid vs lockstep | fluid vs median | CL = RTL (skewed) | "
             "checksums |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, med, hi = min(r["skewed"]), statistics.median(r["skewed"]), max(r["skewed"])
        cl = "-" if not r["cl"] else f"{sum(a == b for _, a, b in r['cl'])} of {len(r['cl'])}"
        done = lo and r["lockstep"]            # 0: a run that did not finish (see its checksum)
        ratio, vs_lock, vs_med = ((f"{hi / lo:.2f}",
                                   f"{100 * (r['fluid'] - r['lockstep']) / r['lockstep']:+.1f}%",
                                   f"{100 * (r['fluid'] - med) / med:+.1f}%")
                                  if done else ("-", "-", "-"))
        lines.append(
            f"| {r['scenario']} | {r['memory']} | {r['mode']} | {r['lockstep']} | "
            f"{lo} / {med:.0f} / {hi} | {ratio} | {r['fluid']:.0f} | {vs_lock} | {vs_med} | "
            f"{cl} | {'ok' if r['checksums_ok'] and done else 'FAIL'} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", help=f"scale scenario (default: {DEFAULT})")
    ap.add_argument("--modes", default=",".join(sc.MODES))
    ap.add_argument("--seeds", type=int, default=8, help="skew seeds 1..N (default 8)")
    ap.add_argument("--cl", type=int, default=0, metavar="K",
                    help="also the CL model on the first K skew seeds (default 0)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--md", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error(f"--seeds must be at least 1, not {args.seeds}")
    if args.cl < 0:
        ap.error(f"--cl must be >= 0, not {args.cl}")
    modes = args.modes.split(",")
    bad = [m for m in modes if m not in sc.MODES]
    if bad:
        ap.error(f"unknown mode(s) {bad}: choose from {list(sc.MODES)}")
    t0 = time.monotonic()
    rows = []
    for s in sc.load_all(names=args.scenario or list(DEFAULT)):
        ts = time.monotonic()
        rows += ensemble(s, modes, args.seeds, cl=args.cl, jobs=args.jobs)
        print(f"# {s.name}: {len(modes)} modes x {args.seeds + 1} starts in "
              f"{time.monotonic() - ts:.0f} s", flush=True)
    text = table(rows)
    print(text)
    wall = time.monotonic() - t0
    print(f"\nRun time: {wall:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.md:
        args.md.write_text(
            "# The scale runs under start skews (generated)\n\n"
            f"Generated by `python tools/start_ensemble.py --seeds {args.seeds}"
            + (f" --cl {args.cl}" if args.cl else "") + f" --md {args.md}` "
            "(part of `make validate`). `lockstep`: every device's producer starts in the same "
            "cycle (the scale runs' default, `docs/validation-scale.md`); `skewed`: the same run "
            f"with each device started 0-{sc.SKEW_SPAN - 1} cycles late "
            "(`sim.scale.start_skews`, seeds 1 to "
            f"{args.seeds}), RTL on the bare Verilator harness, every checksum checked. "
            "`fluid`: the fluid engine, which has no start skew. `CL = RTL (skewed)`: skewed "
            "runs on which the cycle-level model gives the RTL's cycle count exactly. See "
            "`docs/validation.md` for what the spread means.\n\n" + text + "\n")
    ok = all(r["checksums_ok"] and all(a == b for _, a, b in r["cl"]) for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
