"""Launches the memory window's cocotb bench on Icarus Verilog and Verilator."""

import pytest

from hw.memwindow import HostMemPort
from hw.params import T3Params
from hw.memport import axi_signature
from tb.common.runner import SIMULATORS, run_bench

P = T3Params(addr_width=10)


@pytest.mark.parametrize("sim", SIMULATORS)
def test_memwindow(sim):
    run_bench("memwindow", HostMemPort(P, axi_signature(P)),
              "tb.memwindow.memwindow_bench", sim, env={"T3_MW": {"addr_width": P.addr_width}})
