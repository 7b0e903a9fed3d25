"""Launches the tracker's cocotb bench on Icarus Verilog and Verilator.

``make test`` runs every bench test on the 16-entry table (the chunk larger than the table: 18
tiles) and every test but the 272-tile chunk on the 256-entry table; ``T3_TRACKER_LONG=1``
(``make scale``) runs only the 272-tile chunk on the 256-entry table (T-NLG at TP 8).
"""

import os

import pytest

from hw.params import T3Params
from hw.tracker import Tracker
from tb.common.runner import SIMULATORS, run_bench

CONFIGS = {
    "e16": dict(tracker_entries=16, tile_width=8, count_width=8),
    "e256": dict(),
}
LONG = os.environ.get("T3_TRACKER_LONG") == "1"
SHORT_E256 = ["random_traffic/stalls=0", "random_traffic/stalls=1", "sustained_one_per_cycle",
              "fire_stall_never_blocks_track"]
CHUNK = ["chunk_larger_than_the_table/stalls=0", "chunk_larger_than_the_table/stalls=1"]


@pytest.mark.parametrize("config", ["e256"] if LONG else list(CONFIGS))
@pytest.mark.parametrize("sim", SIMULATORS)
def test_tracker(sim, config):
    params = T3Params(**CONFIGS[config])
    testcase = CHUNK if LONG else (SHORT_E256 if config == "e256" else None)
    run_bench("tracker", Tracker(params), "tb.tracker.tracker_bench", sim, tag=config,
              env={"T3_PARAMS": CONFIGS[config]}, testcase=testcase)
