"""Memory interference, measured on the RTL: ``python tools/interference.py [--memory ideal|dram|both]``.

A GEMM-like compute stream (tiles of READs, the tile's math, then STOREs) runs alone, then beside a
communication stream (per link beat: one DMA READ and one incoming NMC UPDATE) at 25, 50, 75 and
100 % of the link rate, under each arbitration policy of the unit's memory-controller arbiter, on
the ideal memory and on the DRAM timing model. One Verilator run per memory
(:mod:`tb.interference.interference_bench`, no Python per cycle).

The link rate is set against the memory's peak (one beat per cycle) as on the T3 paper's GPU: a
150 GB/s bidirectional link is 75 GB/s each way against 1 TB/s of HBM, so 100 % is 3/40 beat per
cycle (0.075). Two compute streams: *bound* (no math between the reads and the stores: the kernel
asks for a request every cycle, so every communication request displaces compute) and *gemm*
(16 READs, 16 cycles of math, 8 STOREs per tile: 0.6 requests per cycle).

Reported per run: the compute stream's slowdown (cycles with communication / cycles alone), the
communication's achieved link rate, its mean wait before the memory port (Little's law over the
arbiter's pending count), and the *HBM cost of link traffic*::

    k = (C_alone - C_mixed) / M

the compute requests displaced per communication request served, with ``C`` the compute requests
granted per cycle and ``M`` the communication requests granted per cycle. ``k = 1``: a
communication request costs exactly its own slot; ``k > 1``: it also costs compute bandwidth
through row conflicts, read/write turnarounds and queueing. This is the system model's
``interference`` (fr-fcfs) and ``mca_interference`` (t3-mca): ``sim/model/contention.py`` takes
them, with ``mca_leak`` and ``mca_starvation_share``, from the DRAM runs at 100 % of the link rate.

Writes ``build/bench/interference.json`` and prints a markdown table (``--md FILE`` also writes it).
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hw.params import T3Params  # noqa: E402
from tb.common.runner import run_bench  # noqa: E402
from tb.interference.top import InterferenceTop  # noqa: E402

#: 25, 50, 75, 100 % of the link rate 3/40 beat per cycle, as (num, den).
RATES = ((3, 160), (3, 80), (9, 160), (3, 40))
#: Per tile 16 input READs, ``c_gap`` cycles of math, 8 output STOREs; 512 tiles.
WORK = {"c_reads": 16, "c_beats": 8, "c_tiles": 512}
STREAMS = {"bound": 0, "gemm": 16}
#: T3-MCA settings (threshold, starvation limit); a threshold of 16 (the memory port's
#: outstanding requests) only holds communication back while every slot is taken
MCA_SWEEP = ((4, 32), (8, 32), (12, 32), (16, 32), (8, 8), (16, 8), (8, 128), (16, 64),
             (16, 128))


def runs():
    out = []
    for stream, gap in STREAMS.items():
        out.append({"name": f"{stream} alone", "stream": stream, "c_gap": gap,
                    "policy": "round-robin", "m_num": 0, "m_den": 1})
        for i, (num, den) in enumerate(RATES):
            rate = f"{25 * (i + 1)}%"
            base = {"stream": stream, "c_gap": gap, "m_num": num, "m_den": den, "rate": rate}
            out.append(dict(base, name=f"{stream} rr@{rate}", policy="round-robin"))
            out.append(dict(base, name=f"{stream} cf@{rate}", policy="compute-first"))
            for thr, starv in MCA_SWEEP:
                out.append(dict(base, name=f"{stream} mca{thr}/{starv}@{rate}", policy="t3-mca",
                                threshold=thr, starvation=starv))
    return out


def measure(memory, sim="verilator"):
    out = ROOT / "build" / "bench" / f"interference-{memory}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    top = InterferenceTop(T3Params(addr_width=14), memory=memory)
    run_bench("interference_top", top, "tb.interference.interference_bench", sim, tag=memory,
              env={"T3_INTERFERENCE_RUNS": json.dumps(runs()),
                   "T3_INTERFERENCE_WORK": json.dumps(WORK),
                   "T3_INTERFERENCE_OUT": str(out)})
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    for r in rows:
        alone = next(a for a in rows if a["name"] == f"{r['stream']} alone")
        c_alone = alone["c_issued"] / alone["c_cycles"]
        c = r["c_issued"] / r["c_cycles"]
        mrate = r["m_issued"] / r["c_cycles"]
        r["memory"] = memory
        r["compute_rate"] = round(c, 4)
        r["slowdown"] = round(r["c_cycles"] / alone["c_cycles"], 4)
        r["link_rate_offered"] = r["m_num"] / r["m_den"]
        r["link_rate"] = round(mrate / 2, 4)
        r["comm_wait"] = round(r["m_wait_sum"] / r["m_issued"], 2) if r["m_issued"] else None
        # the bandwidth cost is defined where compute is bandwidth-bound
        r["k"] = (round((c_alone - c) / mrate, 3)
                  if r["m_issued"] and r["stream"] == "bound" else None)
    return rows


def table(rows):
    lines = ["| memory | run | policy | link rate offered (beats/cycle) | achieved | "
             "compute slowdown | comm wait (cycles) | k (compute requests displaced per comm "
             "request) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pol = r["policy"] + (f" thr {r['threshold']} starv {r['starvation']}"
                             if r["policy"] == "t3-mca" else "")
        lines.append(f"| {r['memory']} | {r['name']} | {pol} | {r['link_rate_offered']:.4f} | "
                     f"{r['link_rate']:.4f} | {r['slowdown']:.3f}x | "
                     f"{'' if r['comm_wait'] is None else r['comm_wait']} | "
                     f"{'' if r['k'] is None else r['k']} |")
    return "\n".join(lines)


def summary(rows):
    """Mean k per memory and policy over the four rates (the model's constants' counterparts)."""
    out = {}
    for r in rows:
        if r["k"] is None:
            continue
        key = (r["memory"], r["policy"] if r["policy"] != "t3-mca"
               else f"t3-mca thr {r['threshold']} starv {r['starvation']}")
        out.setdefault(key, []).append(r["k"])
    return {f"{m} {p}": round(sum(v) / len(v), 3) for (m, p), v in out.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memory", choices=("ideal", "dram", "both"), default="both")
    ap.add_argument("--md", type=Path, help="also write the markdown table to this file")
    args = ap.parse_args(argv)
    mems = ("ideal", "dram") if args.memory == "both" else (args.memory,)
    rows = [r for mem in mems for r in measure(mem)]
    res = {"work": WORK, "runs": rows, "k_mean": summary(rows)}
    dst = ROOT / "build" / "bench" / "interference.json"
    dst.write_text(json.dumps(res, indent=1))
    md = table(rows) + "\n\nMean k over the four link rates:\n\n" + "\n".join(
        f"- {k}: {v}" for k, v in res["k_mean"].items())
    print(md)
    if args.md:
        args.md.write_text(md + "\n")
    print(f"wrote {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
