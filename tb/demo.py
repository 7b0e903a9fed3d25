"""``make demo``: the 4-device ring GEMM + reduce-scatter in RTL (Verilator), in every mode, then
the tracker on synthetic GEMM traffic. Every result is checked (exact int32 sums, reference
model) before the tables are printed. The simulators' and cocotb's output goes to a log file
(``build/demo/demo.log``, or ``--log``), not to the terminal: the demo prints the tables and the
log's path."""

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from hw.params import T3Params
from hw.tracker import Tracker
from tb.common.runner import ROOT, run_bench
from tb.ring.test_ring import run_ring


def run_tracker_demo(sim="verilator", cfg=None):
    out = ROOT / "build" / "demo" / f"tracker-{sim}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {"T3_DEMO_OUT": str(out)}
    if cfg:
        env["T3_DEMO"] = cfg
    run_bench("tracker", Tracker(T3Params()), "tb.tracker.tracker_demo", sim, tag="demo", env=env)
    return json.loads(out.read_text())


MEMORY_TITLES = {
    "ideal": "ideal memory (AxiSram: fixed latency, one read + one write beat per cycle)",
    "dram": "DRAM timing (DramModel: HBM2 pseudo-channel, FR-FCFS, refresh)",
}


def ring_table(res, memory="ideal"):
    cfg = res["sequential"]["config"]
    lines = [
        f"Memory: {MEMORY_TITLES[memory]}.",
        f"T3Ring, {cfg['devices']} devices: GEMM + ring reduce-scatter, {cfg['devices']} chunks x "
        f"{cfg['tiles']} tiles x {cfg['beats']} beats (64-bit beats, 2 x int32 lanes),",
        f"GEMM per tile: {cfg['reads']} input reads + {cfg['compute']} compute cycles; "
        f"Domino: {cfg['slices']} slices; T3-MCA threshold {cfg['mca_threshold']}, "
        f"starvation limit {cfg['mca_starvation']}. Every mode shown: exact sums checked on every device.",
        "",
        f"{'mode':<11}{'cycles':>7}{'speedup':>9}{'rd comp':>9}{'wr comp':>9}{'rd comm':>9}"
        f"{'wr comm':>9}{'mem total':>10}{'link beats':>11}",
    ]
    seq = res["sequential"]
    seq_mem = seq["mem_reads"] + seq["mem_writes"]
    for mode in res:
        r, c = res[mode], res[mode]["counters"]
        mem = r["mem_reads"] + r["mem_writes"]
        lines.append(f"{mode:<11}{r['cycles']:>7}{seq['cycles'] / r['cycles']:>8.2f}x"
                     f"{c['rd_beats_compute']:>9}{c['wr_beats_compute']:>9}{c['rd_beats_comm']:>9}"
                     f"{c['wr_beats_comm']:>9}{mem:>10}{r['link_beats']:>11}")
    best = res["t3-mca"]
    best_mem = best["mem_reads"] + best["mem_writes"]
    lines.append("")
    lines.append(f"T3-MCA vs sequential: {seq['cycles'] / best['cycles']:.2f}x faster, "
                 f"{100 * (1 - best_mem / seq_mem):.0f}% less memory traffic "
                 f"({best_mem} vs {seq_mem} beats, all devices).")
    return "\n".join(lines)


@contextlib.contextmanager
def output_to(path):
    """Send this process's stdout and stderr, and those of every child it starts (the cocotb
    runner's simulator processes), to the file ``path`` (appended) for the duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tb.demo", description=__doc__)
    ap.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    ap.add_argument("--memory", choices=("ideal", "dram", "both"), default="both")
    ap.add_argument("--log", type=Path, default=ROOT / "build" / "demo" / "demo.log",
                    help="file for the simulators' output (default: %(default)s)")
    args = ap.parse_args(argv)
    memories = ("ideal", "dram") if args.memory == "both" else (args.memory,)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    args.log.write_text("")
    print(f"Running the ring ({', '.join(memories)} memory) and the tracker on {args.sim}; "
          f"simulator log: {args.log}", flush=True)
    try:
        with output_to(args.log):
            results = {mem: run_ring(args.sim, ROOT / "build" / "demo" / f"ring-{args.sim}-{mem}",
                                     mem)
                       for mem in memories}
            s = run_tracker_demo(args.sim)
    except BaseException:
        print(f"demo failed: see the simulator log {args.log}", file=sys.stderr)
        raise
    for mem in memories:
        print()
        print(ring_table(results[mem], mem))
    if len(memories) == 2:
        gain = {mem: results[mem]["t3"]["cycles"] / results[mem]["t3-mca"]["cycles"]
                for mem in memories}
        print()
        print(f"T3-MCA over T3: {gain['ideal']:.2f}x on the ideal memory, {gain['dram']:.2f}x "
              "with DRAM timing.")
    print()
    print(f"Tracker (256 entries) on synthetic GEMM traffic ({args.sim}): {s['tiles']} tiles x "
          f"{s['beats_per_tile']} beats, {s['tiles_in_flight']} in flight, fire consumer stalled "
          f"{int(s['fire_stall_probability'] * 100)}% of cycles:")
    print(f"  {s['track_requests']} track requests + {s['arms_during_run']} arms in {s['cycles']} "
          f"cycles ({s['table_ops_per_cycle']} table operations/cycle), {s['fires']} fires "
          f"(reference model: {s['reference_fires']}), errors: {sum(s['errors'].values())}")
    print()
    print("Waves: `make waves` re-runs the ring bench on Icarus with FST waves and prints the path.")
    print(f"Simulator log: {args.log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
