"""Launches the MemPort cocotb bench (cocotbext-axi AxiRam on the AXI4 master, random pauses on
every channel) on Icarus Verilog and Verilator."""

import pytest

from hw.memport import MemPort
from hw.params import T3Params
from tb.common.runner import SIMULATORS, run_bench

#: 16-beat RAM (64-bit beats, two int32 lanes); four slots and two READ credits per class so that
#: the slot table, the same-address hazards and the credits all limit the traffic.
PARAMS = dict(addr_width=4)
OUTSTANDING = 4
RESP_DEPTH = 2


@pytest.mark.parametrize("sim", SIMULATORS)
def test_memport(sim):
    dut = MemPort(T3Params(**PARAMS), outstanding=OUTSTANDING, resp_depth=RESP_DEPTH)
    run_bench("mem_port", dut, "tb.memport.memport_bench", sim, tag="o4",
              env={"T3_PARAMS": PARAMS, "T3_OUTSTANDING": OUTSTANDING})
