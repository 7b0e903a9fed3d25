"""Launches the trigger + DMA engine cocotb bench on Icarus Verilog and Verilator."""

import pytest

from hw.params import T3Params
from tb.common.runner import SIMULATORS, run_bench
from tb.dma.wrapper import TriggerDma

# e16: 16 table entries, a 256-beat memory (frequent address wrap), 5-bit lengths (max 31 beats);
# default: the unit's default parameters.
CONFIGS = {
    "e16": dict(tracker_entries=16, addr_width=8, len_width=5, tile_width=8),
    "default": dict(),
}


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMULATORS)
def test_trigger_dma(sim, config):
    run_bench("trigger_dma", TriggerDma(T3Params(**CONFIGS[config]), queue_depth=8),
              "tb.dma.dma_bench", sim, tag=config,
              env={"T3_PARAMS": CONFIGS[config], "T3_QUEUE_DEPTH": 8, "T3_TAG": config})
