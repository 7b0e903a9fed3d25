"""Run the RTL ring bench (``tb.ring.ring_bench`` on :class:`hw.ring.T3Ring`) for scenarios.

The hardware parameters of a scenario (devices, memory latency, link latency and bandwidth) are
elaboration-time: scenarios sharing them share one simulator build (``run_bench`` tag
``Scenario.hw_tag``). The workload goes to the bench through ``T3_RING``; each run executes the
four modes and leaves ``<out>.<mode>.json``.
"""

import json
import time
from pathlib import Path

from .scenario import MODES

__all__ = ["run_rtl", "OUT_DIR"]

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "build" / "validate"


def run_rtl(scenario, sim="verilator", out_dir=OUT_DIR):
    """Run the bench for ``scenario``; returns ``({mode: result dict}, seconds)``."""
    from hw.params import T3Params
    from hw.ring import T3Ring
    from tb.common.runner import run_bench

    out = Path(out_dir) / "rtl" / sim / scenario.name
    out.parent.mkdir(parents=True, exist_ok=True)
    for m in MODES:
        Path(f"{out}.{m}.json").unlink(missing_ok=True)
    s = scenario
    ring = T3Ring(T3Params(mem_latency=s.mem_latency), devices=s.devices,
                  link_latency=s.link_latency, link_bw=tuple(s.link_bw))
    t0 = time.monotonic()
    run_bench("t3_ring", ring, "tb.ring.ring_bench", sim, tag=s.hw_tag,
              env={"T3_RING_OUT": str(out), "T3_RING": s.bench_config(),
                   "T3_PARAMS": {"mem_latency": s.mem_latency}})
    secs = time.monotonic() - t0
    return {m: json.loads(Path(f"{out}.{m}.json").read_text()) for m in MODES}, secs
