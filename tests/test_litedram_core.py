# amaranth: UnusedElaboratable=no
"""The LiteDRAM core generator (tools/litedram_core.py) and its Amaranth attachment: ports, the
SDRAM init sequence against the SDR SDRAM power-up procedure, argument checks. Fast: Migen
elaboration only (the bench with the SDRAM model is ``make litedram``)."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import litedram_core  # noqa: E402

from hw.fpga_top import FpgaCore, FpgaTop  # noqa: E402
from hw.litedram import AXI_MEMBERS, CORE_ADDR_WIDTH, LiteDramSim  # noqa: E402
from hw.params import T3Params  # noqa: E402


def ports(text, top):
    """``{name: (direction, width)}`` of module ``top`` in Verilog ``text``."""
    head = re.search(rf"module {top} \((.*?)\);", text, re.S).group(1)
    out = {}
    for mo in re.finditer(r"(input|output|inout)\s+(?:wire|reg)\s+(?:\[(\d+):0\]\s+)?(\w+)", head):
        out[mo.group(3)] = (mo.group(1), int(mo.group(2) or 0) + 1)
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("litedram")
    res = {}
    for target in ("sim", "board"):
        path = d / f"{target}.v"
        info = litedram_core.generate(target, path)
        res[target] = (path.read_text(), info)
    return res


# AXI4 directions seen from the slave (the core): what the master drives is an input.
_IN = {"awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "wdata", "wstrb", "wlast",
       "wvalid", "bready", "arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "rready"}
_WIDTH = {"awid": 2, "arid": 2, "bid": 2, "rid": 2, "awaddr": CORE_ADDR_WIDTH,
          "araddr": CORE_ADDR_WIDTH, "awlen": 8, "arlen": 8, "awsize": 3, "arsize": 3,
          "awburst": 2, "arburst": 2, "wdata": 64, "rdata": 64, "wstrb": 8, "bresp": 2,
          "rresp": 2}


@pytest.mark.parametrize("target", ["sim", "board"])
def test_axi_ports_match_the_unit(generated, target):
    text, info = generated[target]
    p = ports(text, litedram_core.TOP_NAMES[target])
    assert set(AXI_MEMBERS) == {n[len("s_axi_"):] for n in p if n.startswith("s_axi_")}
    for name in AXI_MEMBERS:
        direction, width = p[f"s_axi_{name}"]
        assert direction == ("input" if name in _IN else "output"), name
        assert width == _WIDTH.get(name, 1), name
    assert p["init_done"] == ("output", 1)
    # Every signal has a Verilog name (Migen names an unnamed signal by guessing, "0" at worst).
    assert not re.search(r"^reg\s+(\[\d+:0\]\s+)?\d+\s*=", text, re.M)
    # 32 MB of 16-bit SDRAM: 25 byte-address bits, as the Amaranth side assumes.
    assert info["sdram_bytes"] == 32 << 20 and info["axi_addr_width"] == CORE_ADDR_WIDTH


def test_board_pins_and_clocking(generated):
    text, info = generated["board"]
    p = ports(text, "t3_litedram")
    assert p["sdram_dq"] == ("inout", 16)           # the data pads are bidirectional
    assert p["sdram_a"] == ("output", 13) and p["sdram_ba"] == ("output", 2)
    assert p["sdram_dm"] == ("output", 2)
    for pin in ("sdram_clk", "sdram_cke", "sdram_cs_n", "sdram_ras_n", "sdram_cas_n",
                "sdram_we_n", "sys_clk", "sys_rst"):
        assert p[pin] == ("output", 1), pin
    assert p["clk25"] == ("input", 1)
    for prim in ("EHXPLLL", "ODDRX1F", "TRELLIS_IO", "OFS1P3BX", "IFS1P3BX"):
        assert re.search(rf"^{prim}\b", text, re.M), prim
    assert p.keys().isdisjoint({"sys_clk_in"})
    sim_text, _ = generated["sim"]
    assert ports(sim_text, "t3_litedram_sim")["sys_clk"] == ("input", 1)
    assert "EHXPLLL" not in sim_text and "TRELLIS_IO" not in sim_text


def test_init_sequence_follows_sdr_power_up(generated):
    """JEDEC SDR SDRAM power-up (e.g. Micron MT48LC16M16A2 data sheet, 'Initialization'):
    CKE high after >= 100 us of stable clock, PRECHARGE ALL (A10 high), two AUTO REFRESH, then
    LOAD MODE REGISTER with the CAS latency in A[6:4] and burst length 1 (A[2:0] = 0),
    sequential, standard operation (A[8:7] = 0), programmed burst writes (A9 = 0)."""
    _, info = generated["board"]
    steps = info["init_sequence"]
    f = info["sys_clk_freq"]
    # (a, ba, cs, ras, cas, we, cke, wait)
    first = steps[0]
    assert first[2:6] == [0, 0, 0, 0] and first[6] == 1
    assert first[7] >= 100e-6 * f
    # Wait after each command (MT48LC16M16A2-75): tRP 20 ns, tRFC 66 ns, tMRD 2 clocks.
    need = {"PRE": 20e-9 * f, "REF": 66e-9 * f, "MRS": 2}
    kinds = []
    for a, ba, cs, ras, cas, we, cke, wait in steps[1:]:
        kinds.append({(1, 0, 1): "PRE", (1, 1, 0): "REF", (1, 1, 1): "MRS"}[(ras, cas, we)])
        assert cke == 1 and cs == 1 and wait >= need[kinds[-1]], (kinds[-1], wait)
        if kinds[-1] == "PRE":
            assert a & (1 << 10), "PRECHARGE ALL needs A10 high"
    first_pre = kinds.index("PRE")
    refs = [i for i, k in enumerate(kinds) if k == "REF"]
    assert len(refs) >= 2 and first_pre < refs[0]
    last = steps[-1]
    assert kinds[-1] == "MRS" and refs[-1] < len(kinds) - 1
    cl = info["cl"]
    assert cl * 1e9 / f >= 15, "CL too short for 50 MHz (tAC <= 6 ns needs CL >= 2 at 20 ns)"
    assert last[0] == cl << 4 and last[1] == 0
    # The PHY returns read data CL + 1 cycles after the READ (its input register).
    assert info["read_latency"] == cl + 1
    assert info["init_cycles"] >= sum(s[7] for s in steps)


def test_bad_arguments():
    with pytest.raises(ValueError, match="target"):
        litedram_core.build_core("fpga")
    with pytest.raises(ValueError, match="module"):
        litedram_core.build_core("sim", module="DDR3")
    with pytest.raises(ValueError, match="data_width"):
        litedram_core.build_core("sim", data_width=48)
    with pytest.raises(ValueError, match="sys_clk_freq"):
        litedram_core.build_core("sim", sys_clk_freq=200e6)
    with pytest.raises(ValueError, match="powerup_us"):
        litedram_core.build_core("sim", powerup_us=0)
    with pytest.raises(ValueError, match="memory"):
        FpgaTop(memory="ddr")
    with pytest.raises(ValueError, match="memory"):
        FpgaCore(T3Params(), memory="sdram")
    with pytest.raises(ValueError, match="data_width"):
        LiteDramSim(T3Params(data_width=128))


def test_external_memory_port():
    core = FpgaCore(T3Params(), memory="external")
    assert core.m_axi.signature.data_width == 64 and core.m_axi.signature.id_width == 2
    assert "m_axi" not in FpgaCore(T3Params()).signature.members
