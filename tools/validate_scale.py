"""The RTL at scale against the cycle-level model and the fluid engine (``make validate``,
second part).

For every scale scenario of the validation set (:data:`SET`, files in
``sim/xval/scenarios/scale/``) and every mode, runs the RTL ring with its RTL producers on the
bare Verilator harness (``tools/scale.py``: build once per hardware set, checksum-checked), the
cycle-level model on the same scenario (:func:`sim.xval.scale_model.model_scale`: the per-block
references of ``sim/ref`` with a cycle-level model of the producers, the DRAM reference behind
the memory port) and the fluid engine (:func:`sim.model.rtl.simulate`: the engine behind the
paper table, given the RTL platform), and prints one markdown row per run: cycles of the three,
the CL and fluid errors, and whether the memory and link beat counts are equal (RTL = CL =
fluid). ``--md FILE`` also writes the table with its header; ``--json FILE`` the raw rows;
``--rtl-json FILE`` (repeatable) takes the RTL rows of a ``tools/scale.py --json`` file instead of
running the RTL, ``--cl-json FILE`` the CL rows of a ``python -m sim.xval.scale_model --json``
file instead of running the model; ``--no-cl`` leaves the CL model out.

    python tools/validate_scale.py [--scenario NAME ...] [--rtl-json F] [--md FILE]

Bounds (``tests/test_validate_scale.py`` enforces them on a small instance, this tool on the whole
set): CL cycles within :data:`CL_BOUND` of the RTL's, fluid cycles within :data:`BOUND`, beat
counts equal, every RTL checksum right. The tool exits with status 1 when a run misses a bound
and is not one of the :data:`KNOWN_MISSES`, or when a known miss is now inside its bound (strict,
like pytest's ``xfail(strict=True)``: the list must be updated, not left to go stale).
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim import scale as sc  # noqa: E402
from sim.model import rtl as fluid  # noqa: E402

#: the validation set: 10 scenarios, both memories, two with the paper's step 1 (``direct``)
SET = ("ring4_64", "ring4_64_mem", "ring4_64_compute", "ring8_64", "ring4_64_32k",
       "ring4_64_direct", "ring4_64_dram", "ring4_64_mem_dram", "ring4_64_32k_dram",
       "ring4_64_dram_direct")
BOUND = 0.10
#: the cycle-level model's bound (cycles)
CL_BOUND = 0.05
#: runs known to miss the fluid bound, ``{(scenario, mode): reason}``; ``make validate`` fails on
#: any other miss, and on one of these landing inside the bound
KNOWN_MISSES = {
    ("ring4_64_mem_dram", "t3"): "since the memory port's AXI IDs by class the RTL run is "
                                 "faster (73,398 -> 69,825 cycles) and the fluid engine is not "
                                 "(77,501): its DRAM costs are measured per pattern, one engine "
                                 "alone (sim/model/dram_curve.py), which the IDs do not change, "
                                 "while the DRAM now reorders the GEMM's updates against the "
                                 "receiver's; not analysed further yet",
    ("ring4_64_32k_dram", "t3-mca"): "the same: the RTL run went from 1,984,953 to 1,810,527 "
                                     "cycles with the AXI IDs by class, the fluid engine's "
                                     "2,098,754 did not move",
}


def _cl_run(args):
    """One cycle-level run (in a worker process): its result and wall seconds."""
    from sim.xval.scale_model import model_scale
    s, mode = args
    t0 = time.monotonic()
    r = model_scale(s, mode)
    return dict(r, seconds=time.monotonic() - t0)


def cl_runs(s, modes, jobs=1):
    """``{mode: CL result with its wall seconds}``, the modes run in ``jobs`` processes (the model
    is pure Python: one core each)."""
    if jobs <= 1 or len(modes) == 1:
        return {m: _cl_run((s, m)) for m in modes}
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(min(jobs, len(modes))) as pool:
        return dict(zip(modes, pool.map(_cl_run, [(s, m) for m in modes])))


def compare(s, rtl_rows, cl=True, cl_given=None, jobs=1):
    """Rows ``{scenario, mode, memory, rtl, cl, cl_error, fluid, error, mem_equal, link_equal,
    ...}`` (``cl``: run the cycle-level model too, in ``jobs`` processes, unless ``cl_given``
    (mode -> row of ``python -m sim.xval.scale_model --json``) has the mode's row; else its fields
    are None)."""
    given_rows = cl_given or {}
    todo = [r["mode"] for r in rtl_rows if r["mode"] not in given_rows] if cl else []
    cl_rows = {**cl_runs(s, todo, jobs), **given_rows} if todo else dict(given_rows)
    out = []
    for r in rtl_rows:
        m = r["mode"]
        if not r["cycles"]:
            raise SystemExit(f"{s.name}/{m}: the RTL run did not finish ({sc.status(r)}); re-run "
                             f"it (tools/scale.py --scenario {s.name} --modes {m})")
        t0 = time.monotonic()
        f = fluid.simulate(s, m)
        t1 = time.monotonic()
        c = cl_rows.get(m) if (cl or m in given_rows) else None
        t2 = t1 + c["seconds"] if c else t1
        rtl_mem = r["mem_reads"] + r["mem_writes"]
        cl_mem = c["mem_reads"] + c["mem_writes"] if c else None
        out.append({
            "scenario": s.name, "mode": m, "memory": s.memory, "rtl": r["cycles"],
            "fluid": f["cycles"], "error": (f["cycles"] - r["cycles"]) / r["cycles"],
            "cl": c["cycles"] if c else None,
            "cl_error": (c["cycles"] - r["cycles"]) / r["cycles"] if c else None,
            "rtl_mem": rtl_mem, "fluid_mem": f["mem_beats"], "cl_mem": cl_mem,
            "mem_equal": rtl_mem == f["mem_beats"] and (not c or cl_mem == rtl_mem),
            "rtl_link": r["link_beats"], "fluid_link": f["link_beats"],
            "cl_link": c["link_beats"] if c else None,
            "link_equal": (r["link_beats"] == f["link_beats"]
                           and (not c or c["link_beats"] == r["link_beats"])),
            "checksum_ok": r["checksum_ok"],
            "fluid_seconds": t1 - t0, "cl_seconds": t2 - t1 if c else None})
    return out


def run_rtl(s, jobs=1, timeout=900.0):
    import tools.scale as ts
    from concurrent.futures import ThreadPoolExecutor
    exe = ts.build(s)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(lambda m: ts.run(s, m, exe, timeout=timeout), sc.MODES))


def _beats(rtl, cl, fluid, equal):
    vals = [rtl] + ([cl] if cl is not None else []) + [fluid]
    return f" {'=' if equal else '!='} ".join(str(v) for v in vals)


def table(rows):
    lines = ["| scenario | memory | mode | RTL cycles | CL cycles | CL error | fluid cycles | "
             "fluid error | memory beats (RTL = CL = fluid) | link beats (RTL = CL = fluid) | "
             "RTL checksum | CL s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cl = "-" if r["cl"] is None else str(r["cl"])
        cle = "-" if r["cl"] is None else f"{100 * r['cl_error']:+.2f}%"
        cls = "-" if r["cl"] is None else f"{r['cl_seconds']:.0f}"
        lines.append(
            f"| {r['scenario']} | {r['memory']} | {r['mode']} | {r['rtl']} | {cl} | {cle} | "
            f"{r['fluid']:.0f} | {100 * r['error']:+.1f}% | "
            f"{_beats(r['rtl_mem'], r['cl_mem'], r['fluid_mem'], r['mem_equal'])} | "
            f"{_beats(r['rtl_link'], r['cl_link'], r['fluid_link'], r['link_equal'])} | "
            f"{'ok' if r['checksum_ok'] else 'FAIL'} | {cls} |")
    return "\n".join(lines)


def summary(rows):
    out = []
    for mem in ("ideal", "dram"):
        sel = [r for r in rows if r["memory"] == mem]
        if not sel:
            continue
        worst = max(sel, key=lambda r: abs(r["error"]))
        inside = sum(abs(r["error"]) <= BOUND for r in sel)
        cl = [r for r in sel if r["cl"] is not None]
        if cl:
            cw = max(cl, key=lambda r: abs(r["cl_error"]))
            out.append(f"{mem} memory, CL model: {sum(abs(r['cl_error']) <= CL_BOUND for r in cl)}"
                       f" of {len(cl)} runs within {100 * CL_BOUND:.0f}%, worst "
                       f"{100 * cw['cl_error']:+.2f}% ({cw['scenario']}, {cw['mode']}), "
                       f"{sum(r['cl'] == r['rtl'] for r in cl)} at the RTL's cycle count; "
                       f"{sum(r['cl_seconds'] for r in cl):.0f} s of CL model time")
        out.append(f"{mem} memory, fluid engine: {inside} of {len(sel)} runs within "
                   f"{100 * BOUND:.0f}%, worst {100 * worst['error']:+.1f}% ({worst['scenario']}, "
                   f"{worst['mode']}); beat counts equal in "
                   f"{sum(r['mem_equal'] and r['link_equal'] for r in sel)} of {len(sel)}")
    return out


def known_misses(rows):
    """``scenario/mode: fluid error: reason`` for each row that misses the fluid bound as one of
    the :data:`KNOWN_MISSES` does (for the printout and the markdown)."""
    return [f"{r['scenario']}/{r['mode']}: fluid {100 * r['error']:+.1f}%: "
            f"{KNOWN_MISSES[(r['scenario'], r['mode'])]}"
            for r in rows if (r["scenario"], r["mode"]) in KNOWN_MISSES and abs(r["error"]) > BOUND]


def verdict(rows, known=None):
    """``(unexpected, fixed)``: lines naming each run that misses a bound and is not in
    ``known`` (default :data:`KNOWN_MISSES`; only the fluid bound can be a known miss), and each
    known miss that is now inside its bound."""
    known = KNOWN_MISSES if known is None else known
    unexpected, fixed = [], []
    for r in rows:
        case = f"{r['scenario']}/{r['mode']}"
        if not r["checksum_ok"]:
            unexpected.append(f"{case}: RTL checksum wrong")
        if r["cl"] is not None and abs(r["cl_error"]) > CL_BOUND:
            unexpected.append(f"{case}: CL {r['cl']} vs RTL {r['rtl']} cycles "
                              f"({100 * r['cl_error']:+.2f}%, bound {100 * CL_BOUND:.0f}%)")
        if not (r["mem_equal"] and r["link_equal"]):
            unexpected.append(f"{case}: beat counts differ (memory "
                              f"{_beats(r['rtl_mem'], r['cl_mem'], r['fluid_mem'], False)}, link "
                              f"{_beats(r['rtl_link'], r['cl_link'], r['fluid_link'], False)})")
        miss = abs(r["error"]) > BOUND
        if miss and (r["scenario"], r["mode"]) not in known:
            unexpected.append(f"{case}: fluid {r['fluid']:.0f} vs RTL {r['rtl']} cycles "
                              f"({100 * r['error']:+.1f}%, bound {100 * BOUND:.0f}%)")
        elif not miss and (r["scenario"], r["mode"]) in known:
            fixed.append(f"{case}: a known miss is now inside the bound "
                         f"({100 * r['error']:+.1f}%): take it out of KNOWN_MISSES")
    return unexpected, fixed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", help="scenario name (default: the set)")
    ap.add_argument("--rtl-json", type=Path, action="append", default=[],
                    help="use the RTL results of a tools/scale.py --json file instead of running")
    ap.add_argument("--md", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--jobs", type=int, default=2,
                    help="parallel RTL runs, and parallel cycle-level model runs (processes)")
    ap.add_argument("--no-cl", action="store_true", help="leave the cycle-level model out")
    ap.add_argument("--cl-json", type=Path, action="append", default=[],
                    help="use the CL rows of a `python -m sim.xval.scale_model --json` file "
                         "(with their wall times) instead of running the model")
    args = ap.parse_args(argv)
    names = args.scenario or list(SET)
    given = {}
    for f in args.rtl_json:
        for r in json.loads(f.read_text())["results"]:
            given.setdefault(r["scenario"], []).append(r)
    cl_given = {}
    for f in args.cl_json:
        for r in json.loads(f.read_text())["results"]:
            cl_given.setdefault(r["scenario"], {})[r["mode"]] = r
    rows = []
    t0 = time.monotonic()
    for s in sc.load_all(names=names):
        rtl_rows = given.get(s.name) or run_rtl(s, args.jobs)
        rows += compare(s, rtl_rows, cl=not args.no_cl, cl_given=cl_given.get(s.name),
                        jobs=args.jobs)
        print(table([r for r in rows if r["scenario"] == s.name]).split("\n", 2)[-1], flush=True)
    print()
    print(table(rows))
    for line in summary(rows):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.md:
        args.md.write_text(render(rows, time.monotonic() - t0, read=bool(given or cl_given)))
    unexpected, fixed = verdict(rows)
    for line in known_misses(rows):
        print(f"known miss: {line}")
    for line in unexpected + fixed:
        print(f"FAIL: {line}")
    return 1 if unexpected or fixed else 0


def render(rows, seconds, read=False):
    return "\n".join([
        "# The RTL at scale against the cycle-level model and the fluid engine (generated)", "",
        "Generated by `python tools/validate_scale.py --md docs/validation-scale.md` (part of "
        "`make validate`). Every scenario runs on the RTL ring with the RTL producers (bare Verilator "
        "harness, `make scale`, every device's checksum checked), on the cycle-level (CL) model "
        "(`sim/xval/scale_model.py`: the `sim/ref` block references, a cycle-level model of the "
        "producers, the DRAM reference behind an AXI-level memory port; bound 5 %) and on the fluid "
        "engine (`sim/model/engine.py`, the engine behind `python -m sim paper`) given the RTL "
        "platform (`sim/model/rtl.py`; bound 10 %). `CL s`: the CL model's wall time for the run. "
        "CL rows read with `--cl-json` (from `python -m sim.xval.scale_model --json`) keep the "
        "wall time of the run that produced them. "
        "See `docs/validation.md` for the chain and what each level abstracts.",
        "", table(rows), "", *[f"- {x}" for x in summary(rows)],
        *[f"- known miss (`KNOWN_MISSES`): {line}" for line in known_misses(rows)],
        "",
        f"Run time: {seconds:.0f} s" + (" (rows read from `--rtl-json`/`--cl-json` files not "
                                          "included: `CL s` is each CL run's own time)."
                                          if read else "."), ""])


if __name__ == "__main__":
    sys.exit(main())
