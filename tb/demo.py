"""``make demo``: run the tracker on synthetic GEMM traffic in Verilator and print a summary."""

import argparse
import json
import sys
from pathlib import Path

from hw.params import T3Params
from hw.tracker import Tracker
from tb.common.runner import ROOT, run_bench


def run_tracker_demo(sim="verilator", cfg=None):
    out = ROOT / "build" / "demo" / f"tracker-{sim}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {"T3_DEMO_OUT": str(out)}
    if cfg:
        env["T3_DEMO"] = cfg
    run_bench("tracker", Tracker(T3Params()), "tb.tracker.tracker_demo", sim, tag="demo", env=env)
    return json.loads(out.read_text())


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tb.demo", description=__doc__)
    ap.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    args = ap.parse_args(argv)
    s = run_tracker_demo(args.sim)
    print()
    print(f"T3 tracker (256 entries) on {args.sim}: synthetic GEMM output traffic")
    print(f"  tiles                {s['tiles']} x {s['beats_per_tile']} beats, "
          f"{s['tiles_in_flight']} tiles in flight")
    print(f"  track requests       {s['track_requests']} in {s['cycles']} cycles "
          f"= {s['requests_per_cycle']} requests/cycle")
    print(f"  table operations     {s['table_ops_per_cycle']}/cycle "
          f"(tracks + the {s['arms_during_run']} arms issued during the run; arms have priority)")
    print(f"  fires                {s['fires']} (reference model: {s['reference_fires']}), "
          f"fire consumer stalled {int(s['fire_stall_probability'] * 100)}% of cycles")
    print(f"  errors               {s['errors']}")
    print(f"  simulation speed     {s['sim_cycles_per_s']} cycles/s (cocotb, Python per cycle)")
    print("  waves: `make waves` writes an FST of the tracker bench and prints its path")
    return 0


if __name__ == "__main__":
    sys.exit(main())
