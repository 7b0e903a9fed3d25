"""Benchmark (not a test): tracker throughput and cocotb simulation speed per simulator.

Runs the tracker's synthetic GEMM traffic bench (``tb/tracker/tracker_demo.py``) on Icarus
Verilog and on Verilator in one run and prints a table: sustained ``track`` requests per cycle
(all tiles armed before the traffic starts, fire consumer never stalled, so the figure is the
tracker's own limit) and simulated cycles per wall-clock second with cocotb driving every cycle.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tb.demo import run_tracker_demo  # noqa: E402

CFG = {"tiles": 256, "beats": 32, "window": 256, "fire_stall": 0.0}


def main():
    rows = {sim: run_tracker_demo(sim, CFG) for sim in ("icarus", "verilator")}
    print(f"\ntracker benchmark: {CFG['tiles']} tiles x {CFG['beats']} beats, all armed first, "
          f"fire never stalled")
    print(f"{'simulator':<11}{'requests':>10}{'cycles':>9}{'req/cycle':>11}{'cycles/s':>11}")
    for sim, s in rows.items():
        print(f"{sim:<11}{s['track_requests']:>10}{s['cycles']:>9}{s['requests_per_cycle']:>11}"
              f"{s['sim_cycles_per_s']:>11}")
    ratio = rows["verilator"]["sim_cycles_per_s"] / rows["icarus"]["sim_cycles_per_s"]
    print(f"Verilator / Icarus simulation speed: {ratio:.2f}x (same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
