"""The simulation memory without initial contents (hw/simram.py) and the memories that use it."""

import pytest
from amaranth.hdl import Instance, Module
from amaranth.lib.memory import Memory

from hw.dram import DramModel
from hw.dram_params import DramParams
from hw.export import verilog_text
from hw.params import T3Params
from hw.ring import T3Ring
from hw.simram import MODULE, sim_ram
from hw.sram import AxiSram


def test_export_has_no_initial_contents_and_carries_the_module():
    # 2**20 x 64-bit beats: with an Amaranth Memory this would be ~8 MiB of initial values
    text = verilog_text("axi_sram", AxiSram(T3Params(addr_width=20), uninitialized=True))
    assert f"module {MODULE}" in text and "initial" not in text.split(f"module {MODULE}")[1]
    assert len(text) < 100_000
    plain = verilog_text("axi_sram", AxiSram(T3Params(addr_width=6)))
    assert f"module {MODULE}" not in plain


def test_dram_uninitialized_storage():
    store = DramModel(DramParams(), uninitialized=True).elaborate(None).submodules["storage"]
    assert isinstance(store, Instance) and store.type == MODULE
    store = DramModel(DramParams()).elaborate(None).submodules["storage"]
    assert isinstance(store, Memory)


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="init"):
        AxiSram(T3Params(), init=[1, 2], uninitialized=True)
    with pytest.raises(TypeError, match="uninitialized"):
        AxiSram(T3Params(), uninitialized=1)
    with pytest.raises(ValueError, match="init"):
        DramModel(DramParams(), init=[1], uninitialized=True)
    with pytest.raises(TypeError, match="uninitialized_memory"):
        T3Ring(T3Params(), uninitialized_memory="yes")
    m = Module()
    rd, wr = sim_ram(m, "r", width=64, depth=16, granularity=8)
    assert len(wr.en) == 8 and len(rd.data) == 64 and len(rd.addr) == 4
    with pytest.raises(ValueError, match="granularity"):
        sim_ram(m, "r", width=64, depth=16, granularity=24)
    with pytest.raises(ValueError, match="depth"):
        sim_ram(m, "r", width=64, depth=0)
