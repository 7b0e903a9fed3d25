"""Launches the T3Unit cocotb bench (link looped back) on Icarus Verilog and Verilator."""

import pytest

from hw.params import T3Params
from hw.unit import T3Unit
from tb.common.runner import SIMULATORS, run_bench


@pytest.mark.parametrize("sim", SIMULATORS)
def test_unit(sim):
    run_bench("t3_unit", T3Unit(T3Params()), "tb.unit.unit_bench", sim)
