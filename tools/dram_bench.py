"""DRAM efficiency benchmark: ``python tools/dram_bench.py`` -> ``build/bench/dram.json`` + table.

Runs :class:`hw.dram.DramModel` (default HBM2 parameters) once per scheduler (FR-FCFS, FCFS) on
Verilator with ``tb/dram/efficiency_bench.py`` (cocotbext-axi ``AxiMaster``, no stalls) for five
traffic patterns, and puts each measured efficiency (data beats / cycles; peak = 1 beat/cycle)
beside

* the first-principles value derived from the timing parameters (formulas in :func:`first_principles`
  and ``docs/dram.md``), and
* the cycle-level reference :class:`sim.ref.dram.DramRef` driven by an ideal master (a request
  offered every cycle, W data always valid), which isolates the driver's own limits.

The DRAM parameters are the datasheet-derived defaults; nothing here is tuned.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw.dram import DramModel  # noqa: E402
from hw.dram_params import DramParams, Scheduler  # noqa: E402
from sim.ref.dram import DramRef  # noqa: E402

OUT = ROOT / "build" / "bench"
BEATS = 8192
SCHEDULERS = (Scheduler.FR_FCFS, Scheduler.FCFS)


def first_principles(p, scheduler):
    """``{pattern: (value, formula)}`` for the patterns of ``tb/dram/efficiency_bench.py``."""
    n = p.max_burst
    loss_r = p.tRTP - 1 + p.tRP + p.tRFC + p.tRCD        # refresh cost in a read stream
    loss_w = p.tCWL + p.tWR + p.tRP + p.tRFC + p.tRCD     # ... in a write stream
    fr, fw = 1 - loss_r / p.tREFI, 1 - loss_w / p.tREFI
    act_rate = min(4 / p.tFAW, 1 / p.tRRD)
    miss = 1 - 1 / p.rows
    rnd = min(1.0, 2 * act_rate / miss) * fr
    alt = 2 * n / (2 * n - 1 + p.tRTW + p.tCWL + p.tWTR) * fw
    conflict = max(p.tRAS, p.tRCD + n - 1 + p.tRTP) + p.tRP
    two_fcfs = 4 * n / (3 * conflict + n) * fr
    out = {
        "sequential reads": (fr, f"1 - (tRTP-1+tRP+tRFC+tRCD)/tREFI = 1 - {loss_r}/{p.tREFI}"),
        "sequential writes": (fw, f"1 - (tCWL+tWR+tRP+tRFC+tRCD)/tREFI = 1 - {loss_w}/{p.tREFI}"),
        "random reads": (rnd, f"2 beats x min(4/tFAW, 1/tRRD) / (1 - 1/rows) x {fr:.3f} (refresh)"),
    }
    if scheduler is Scheduler.FCFS:
        per_req = miss * (1 + p.tRP + p.tRCD) + (1 - miss) * 2
        out["random reads"] = (2 / per_req * fr, f"2 beats / ((1-1/rows)(1+tRP+tRCD) + 2/rows) "
                               f"x {fr:.3f} (one request at a time)")
        out["reads+writes 50/50"] = (alt, f"2n / (2n-1+tRTW+tCWL+tWTR) x {fw:.3f} (alternating)")
        out["two streams, same banks, different rows"] = (
            two_fcfs, f"4n / (3(max(tRAS, tRCD+n-1+tRTP)+tRP) + n) x {fr:.3f}")
    else:
        out["reads+writes 50/50"] = (
            fw, f"between {alt:.3f} (alternating) and {fw:.3f} (reads and writes batched)")
        out["two streams, same banks, different rows"] = (
            fr, f"{fr:.3f}: hits batched, the other bank's ACT/PRE hidden (FCFS: {two_fcfs:.3f})")
    return out


def ideal_driver(p, reqs):
    """Cycles the reference takes for ``reqs`` ((kind, beat, n) list) with an ideal master."""
    ref = DramRef(p)
    i = done = c = 0
    wbeats = 0
    while done < len(reqs):
        inp = dict(awvalid=0, awid=0, awaddr=0, awlen=0, awsize=p.size, awburst=1, wvalid=0,
                   wdata=0, wstrb=(1 << p.beat_bytes) - 1, wlast=0, bready=1, arvalid=0, arid=0,
                   araddr=0, arlen=0, arsize=p.size, arburst=1, rready=1)
        if i < len(reqs):
            kind, beat, n = reqs[i]
            ch = "ar" if kind == "R" else "aw"
            inp.update({f"{ch}valid": 1, f"{ch}id": i % (1 << p.id_width),
                        f"{ch}addr": beat * p.beat_bytes, f"{ch}len": n - 1})
        inp["wvalid"] = int(wbeats > 0)
        out = ref.step(inp)
        if i < len(reqs) and out["arready" if reqs[i][0] == "R" else "awready"]:
            if reqs[i][0] == "W":
                wbeats += reqs[i][2]
            i += 1
        if wbeats and out["wready"]:
            wbeats -= 1
        done += (out["rvalid"] and out["rlast"]) + out["bvalid"]
        c += 1
    return c


def measure(scheduler, beats=BEATS):
    from tb.common.runner import run_bench
    cfg = {"scheduler": scheduler.value}
    p = DramParams(scheduler=scheduler)
    out = OUT / f"dram-eff-{scheduler.value}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    run_bench("dram_model", DramModel(p), "tb.dram.efficiency_bench", "verilator",
              tag=f"eff_{scheduler.value}",
              env={"DRAM_PARAMS": cfg, "DRAM_EFF_OUT": str(out), "DRAM_EFF_BEATS": str(beats)})
    return json.loads(out.read_text())


def run(beats=BEATS):
    result = {"params": {k: v for k, v in DramParams().timings().items()}, "beats": beats,
              "schedulers": {}}
    for s in SCHEDULERS:
        p = DramParams(scheduler=s)
        measured = measure(s, beats)
        fp = first_principles(p, s)
        pats = _patterns(p, beats)
        rows = {}
        for name, m in measured.items():
            cyc = ideal_driver(p, pats[name])
            rows[name] = dict(measured=round(m["efficiency"], 4),
                              first_principles=round(fp[name][0], 4), formula=fp[name][1],
                              reference_ideal_driver=round(m["beats"] / cyc, 4),
                              beats=m["beats"], cycles=m["cycles"],
                              mean_occupancy=round(m["mean_occupancy"], 2))
        result["schedulers"][s.value] = rows
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "dram.json").write_text(json.dumps(result, indent=1) + "\n")
    text = render(result)
    (OUT / "dram.md").write_text(text)
    update_doc(text)
    return result, text


MARKER = "<!-- dram-efficiency-table -->"


def update_doc(table, doc=ROOT / "docs" / "dram.md"):
    """Replace everything after the marker in ``docs/dram.md`` with ``table``."""
    text = doc.read_text()
    if MARKER not in text:
        raise SystemExit(f"{doc}: marker {MARKER!r} not found")
    doc.write_text(text[:text.index(MARKER) + len(MARKER)] + "\n\n" + table)


def _patterns(p, beats):
    import importlib
    import os
    os.environ["DRAM_EFF_BEATS"] = str(beats)
    os.environ["DRAM_PARAMS"] = json.dumps({"scheduler": p.scheduler.value})
    import tb.dram.efficiency_bench as eb
    eb = importlib.reload(eb)
    return eb.patterns()


def render(result):
    lines = [
        "| pattern | scheduler | first principles | measured (RTL, Verilator) | reference, ideal "
        "driver | mean queue occupancy | first-principles formula |",
        "|---|---|---|---|---|---|---|",
    ]
    for s, rows in result["schedulers"].items():
        for name, r in rows.items():
            lines.append(f"| {name} | {s.upper().replace('_', '-')} | {r['first_principles']:.3f} "
                         f"| {r['measured']:.3f} | {r['reference_ideal_driver']:.3f} | "
                         f"{r['mean_occupancy']:.1f} | {r['formula']} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beats", type=int, default=BEATS, help="data beats per pattern")
    args = ap.parse_args(argv)
    _, text = run(args.beats)
    print(text)
    print(f"wrote {OUT / 'dram.json'} and {OUT / 'dram.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
