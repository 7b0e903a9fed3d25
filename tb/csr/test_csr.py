"""Launches the CSR block's cocotb bench (AXI4-Lite via cocotbext-axi) on Icarus and Verilator."""

import pytest

from hw.t3csr import Csr
from hw.params import T3Params
from tb.common.runner import SIMULATORS, run_bench


@pytest.mark.parametrize("sim", SIMULATORS)
def test_csr(sim):
    run_bench("csr", Csr(T3Params()), "tb.csr.csr_bench", sim)
