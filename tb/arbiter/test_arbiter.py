"""Launches the arbiter's cocotb bench on Icarus Verilog and Verilator."""

import pytest

from hw.arbiter import Arbiter
from hw.params import T3Params
from tb.common.runner import SIMULATORS, run_bench

# lw16: the unit's arbiter (16-bit starvation limit, occupancy up to 64); lw3: a 3-bit wait counter
# that saturates at 7 and an occupancy range of 0..8, so saturation and the range ends are hit.
CONFIGS = {
    "lw16": dict(limit_width=16, occupancy_max=64),
    "lw3": dict(limit_width=3, occupancy_max=8),
}


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMULATORS)
def test_arbiter(sim, config):
    run_bench("arbiter", Arbiter(T3Params(), **CONFIGS[config]), "tb.arbiter.arbiter_bench", sim,
              tag=config, env={"T3_ARB": CONFIGS[config]})
