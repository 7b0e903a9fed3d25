"""Launches the arbiter's cocotb bench on Icarus Verilog and Verilator."""

import pytest

from hw.arbiter import Arbiter
from hw.params import T3Params
from tb.common.runner import SIMULATORS, run_bench


@pytest.mark.parametrize("sim", SIMULATORS)
def test_arbiter(sim):
    run_bench("arbiter", Arbiter(T3Params()), "tb.arbiter.arbiter_bench", sim,
              env={"T3_ARB": {"limit_width": 16, "occupancy_max": 64}})
