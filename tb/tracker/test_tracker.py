"""Launches the tracker's cocotb bench on Icarus Verilog and Verilator."""

import pytest

from hw.params import T3Params
from hw.tracker import Tracker
from tb.common.runner import SIMULATORS, run_bench

CONFIGS = {
    "e16": dict(tracker_entries=16, tile_width=8, count_width=8),
    "e256": dict(),
}


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMULATORS)
def test_tracker(sim, config):
    params = T3Params(**CONFIGS[config])
    run_bench("tracker", Tracker(params), "tb.tracker.tracker_bench", sim, tag=config,
              env={"T3_PARAMS": CONFIGS[config]})
