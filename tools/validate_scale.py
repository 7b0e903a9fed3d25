"""The RTL at scale against the fluid engine (``make validate``, second part).

For every scale scenario of the validation set (:data:`SET`, files in
``sim/xval/scenarios/scale/``) and every mode, runs the RTL ring with its RTL producers on the
bare Verilator harness (``tools/scale.py``: build once per hardware set, checksum-checked) and the
fluid engine on the same scenario (:func:`sim.model.rtl.simulate`: the engine behind the paper
table, given the RTL platform), and prints one markdown row per run: cycles of both and the
error, and whether the memory and link beat counts are equal. ``--md FILE`` also writes the
table with its header; ``--json FILE`` the raw rows.

    python tools/validate_scale.py [--scenario NAME ...] [--md docs/validation-scale.md]

Bounds (``tests/test_validate_scale.py`` enforces them on a small instance; this tool reports
them for the whole set): fluid cycles within :data:`BOUND` of the RTL's, beat counts equal.
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

#: the validation set: 8 scenarios, both memories
SET = ("ring4_64", "ring4_64_mem", "ring4_64_compute", "ring8_64", "ring4_64_32k",
       "ring4_64_dram", "ring4_64_mem_dram", "ring4_64_32k_dram")
BOUND = 0.10


def compare(s, rtl_rows):
    """Rows ``{scenario, mode, memory, rtl, fluid, error, mem_equal, link_equal, ...}``."""
    out = []
    for r in rtl_rows:
        m = r["mode"]
        t0 = time.monotonic()
        f = fluid.simulate(s, m)
        rtl_mem = r["mem_reads"] + r["mem_writes"]
        out.append({
            "scenario": s.name, "mode": m, "memory": s.memory, "rtl": r["cycles"],
            "fluid": f["cycles"], "error": (f["cycles"] - r["cycles"]) / r["cycles"],
            "rtl_mem": rtl_mem, "fluid_mem": f["mem_beats"], "mem_equal": rtl_mem == f["mem_beats"],
            "rtl_link": r["link_beats"], "fluid_link": f["link_beats"],
            "link_equal": r["link_beats"] == f["link_beats"], "checksum_ok": r["checksum_ok"],
            "fluid_seconds": time.monotonic() - t0})
    return out


def run_rtl(s, jobs=1, timeout=900.0):
    import tools.scale as ts
    from concurrent.futures import ThreadPoolExecutor
    exe = ts.build(s)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(lambda m: ts.run(s, m, exe, timeout=timeout), sc.MODES))


def table(rows):
    lines = ["| scenario | memory | mode | RTL cycles | fluid cycles | error | memory beats (RTL = fluid) "
             "| link beats (RTL = fluid) | RTL checksum |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['memory']} | {r['mode']} | {r['rtl']} | {r['fluid']:.0f} | "
            f"{100 * r['error']:+.1f}% | {r['rtl_mem']} "
            f"{'=' if r['mem_equal'] else '!='} {r['fluid_mem']} | {r['rtl_link']} "
            f"{'=' if r['link_equal'] else '!='} {r['fluid_link']} | "
            f"{'ok' if r['checksum_ok'] else 'FAIL'} |")
    return "\n".join(lines)


def summary(rows):
    out = []
    for mem in ("ideal", "dram"):
        sel = [r for r in rows if r["memory"] == mem]
        if not sel:
            continue
        worst = max(sel, key=lambda r: abs(r["error"]))
        inside = sum(abs(r["error"]) <= BOUND for r in sel)
        out.append(f"{mem} memory: {inside} of {len(sel)} runs within {100 * BOUND:.0f}%, worst "
                   f"{100 * worst['error']:+.1f}% ({worst['scenario']}, {worst['mode']}); beat "
                   f"counts equal in {sum(r['mem_equal'] and r['link_equal'] for r in sel)} of "
                   f"{len(sel)}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", help="scenario name (default: the set)")
    ap.add_argument("--rtl-json", type=Path, action="append", default=[],
                    help="use the RTL results of a tools/scale.py --json file instead of running")
    ap.add_argument("--md", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    names = args.scenario or list(SET)
    given = {}
    for f in args.rtl_json:
        for r in json.loads(f.read_text())["results"]:
            given.setdefault(r["scenario"], []).append(r)
    rows = []
    t0 = time.monotonic()
    for s in sc.load_all(names=names):
        rtl_rows = given.get(s.name) or run_rtl(s, args.jobs)
        rows += compare(s, rtl_rows)
        print(table([r for r in rows if r["scenario"] == s.name]).split("\n", 2)[-1], flush=True)
    print()
    print(table(rows))
    for line in summary(rows):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.md:
        args.md.write_text(render(rows, time.monotonic() - t0))
    return 0


def render(rows, seconds):
    return "\n".join([
        "# The RTL at scale against the fluid engine (generated)", "",
        "Generated by `python tools/validate_scale.py --md docs/validation-scale.md` (part of "
        "`make validate`). Every scenario runs on the RTL ring with the RTL producers (bare Verilator "
        "harness, `make scale`, every device's checksum checked) and on the fluid engine "
        "(`sim/model/engine.py`, the engine behind `python -m sim paper`) given the RTL platform "
        "(`sim/model/rtl.py`). See `docs/validation.md` for the chain and what each level abstracts.",
        "", table(rows), "", *[f"- {x}" for x in summary(rows)], "",
        f"Run time: {seconds:.0f} s.", ""])


if __name__ == "__main__":
    sys.exit(main())
