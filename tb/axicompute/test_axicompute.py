"""Launches the AXI4 compute port's cocotb bench on Icarus Verilog and Verilator."""

import pytest

from hw.axicompute import AxiComputePort
from hw.params import T3Params
from tb.common.runner import SIMULATORS, run_bench

P = T3Params(addr_width=10, tile_width=8)


@pytest.mark.parametrize("sim", SIMULATORS)
def test_axicompute(sim):
    run_bench("axi_compute", AxiComputePort(P, id_width=4, read_bursts=3),
              "tb.axicompute.axicompute_bench", sim,
              env={"T3_AXC": {"addr_width": P.addr_width, "tile_width": P.tile_width}})
