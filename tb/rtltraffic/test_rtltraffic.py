"""Launches the RTL-generated-traffic bench (TrafficGen -> T3Core) on Icarus and Verilator."""

import pytest

from hw.params import T3Params
from tb.common.runner import SIMULATORS, run_bench
from tb.rtltraffic.top import TrafficUnitTop


def run_rtltraffic(sim, speed_cycles, out=None):
    env = {"T3_RTLTRAFFIC": {"tiles": 32, "beats": 8, "speed_cycles": speed_cycles}}
    if out:
        env["T3_RTLTRAFFIC_OUT"] = str(out)
    run_bench("t3_traffic_unit", TrafficUnitTop(T3Params()), "tb.rtltraffic.rtltraffic_bench",
              sim, env=env)


@pytest.mark.parametrize("sim", SIMULATORS)
def test_rtltraffic(sim):
    run_rtltraffic(sim, speed_cycles=20000)
