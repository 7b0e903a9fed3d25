"""Launches the memory model's cocotb bench (int32 and bf16 NMC lanes) on Icarus and Verilator."""

import pytest

from hw.memory import MemoryModel
from hw.params import LaneType, T3Params
from tb.common.runner import SIMULATORS, run_bench

# int32 lanes with the default latency 4; bf16 lanes with the minimum latency 2 (the other
# pipeline shape of the model) and a narrower address space.
CONFIGS = {
    "int32": dict(),
    "bf16": dict(lane="bf16", mem_latency=2, addr_width=8),
}


def params_of(cfg):
    cfg = dict(cfg)
    if "lane" in cfg:
        cfg["lane"] = LaneType(cfg["lane"])
    return T3Params(**cfg)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMULATORS)
def test_memory(sim, config):
    run_bench("memory_model", MemoryModel(params_of(CONFIGS[config])), "tb.memory.memory_bench",
              sim, tag=config, env={"T3_PARAMS": CONFIGS[config], "T3_TAG": config})
