"""The memory window's error paths (hw/memwindow.py), in Amaranth's simulator: a memory error
response, and the elaboration-time argument checks; its register map against the table in its
docstring. (Data, sharing and refused register writes: tb/memwindow, with cocotbext-axi on both
simulators.)"""

import re

import pytest
from amaranth.sim import Simulator

from hw.lib.axi import AXI4Signature, RESP_OKAY, RESP_SLVERR
from hw.memport import axi_signature
from hw import memwindow
from hw.memwindow import MW_CMD_READ, MW_CMD_WRITE, MW_ERR_MEM, MW_REGS, HostMemPort
from hw.params import T3Params
from tests.simutil import axil_read, axil_write

P = T3Params(addr_width=8)


def _run(resp):
    """Write DATA lane 0, READ then WRITE beat 3 against a memory answering ``resp``; returns the
    two CMD responses, ERR, COUNT and DATA lane 0 afterwards."""
    dut = HostMemPort(P, axi_signature(P))
    out = {}

    async def memory(ctx):
        ax = dut.m_axi
        ctx.set(ax.arready, 1)
        ctx.set(ax.awready, 1)
        ctx.set(ax.wready, 1)
        while True:
            await ctx.tick()
            if ctx.get(ax.arvalid):
                assert ctx.get(ax.araddr) == 3 * 8 and ctx.get(ax.arlen) == 0
                ctx.set(ax.rvalid, 1)
                ctx.set(ax.rdata, 0xAAAA_BBBB_CCCC_DDDD)
                ctx.set(ax.rresp, resp)
                ctx.set(ax.rlast, 1)
                await ctx.tick().until(ax.rready)
                ctx.set(ax.rvalid, 0)
            if ctx.get(ax.wvalid):
                ctx.set(ax.bvalid, 1)
                ctx.set(ax.bresp, resp)
                await ctx.tick().until(ax.bready)
                ctx.set(ax.bvalid, 0)

    async def write(ctx, off, value):
        return await axil_write(ctx, dut, off, value)

    async def read(ctx, off):
        return (await axil_read(ctx, dut, off))[0]

    async def host(ctx):
        assert await write(ctx, MW_REGS["DATA"], 0x1234_5678) == RESP_OKAY
        assert await write(ctx, MW_REGS["ADDR"], 3) == RESP_OKAY
        out["read"] = await write(ctx, MW_REGS["CMD"], MW_CMD_READ)
        out["data0"] = await read(ctx, MW_REGS["DATA"])
        out["write"] = await write(ctx, MW_REGS["CMD"], MW_CMD_WRITE)
        out["err"] = await read(ctx, MW_REGS["ERR"])
        out["count"] = await read(ctx, MW_REGS["COUNT"])
        out["addr"] = await read(ctx, MW_REGS["ADDR"])

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(memory, background=True)
    sim.add_testbench(host)
    sim.run_until(2e-5)
    return out


def test_memory_ok():
    r = _run(RESP_OKAY)
    assert (r["read"], r["write"], r["err"], r["count"]) == (RESP_OKAY, RESP_OKAY, 0, 2)
    assert r["data0"] == 0xCCCC_DDDD and r["addr"] == 3          # no INCR asked


def test_memory_error_is_slverr_and_flagged():
    r = _run(RESP_SLVERR)
    assert r["read"] == r["write"] == RESP_SLVERR
    assert r["err"] == MW_ERR_MEM
    assert r["data0"] == 0x1234_5678, "a failed read must not change DATA"
    assert r["count"] == 2


def test_bad_arguments():
    with pytest.raises(TypeError, match="params"):
        HostMemPort(object(), axi_signature(P))
    with pytest.raises(TypeError, match="axi_signature"):
        HostMemPort(P, None)
    with pytest.raises(ValueError, match="32-bit data"):
        HostMemPort(P, AXI4Signature(addr_width=11, data_width=32, id_width=2))
    with pytest.raises(ValueError, match="cannot reach"):
        HostMemPort(P, AXI4Signature(addr_width=10, data_width=64, id_width=2))


def test_map_matches_its_documented_table():
    """The offsets and access of the docstring's table (what tools/fpga_host.py and host/board.py
    rely on) are those of the map the bridge serves."""
    table = {}
    for m in re.finditer(r"^``0x([0-9A-F]{2})``\s+(RW1C|RW|W|R)\s+``([A-Z]+)``", memwindow.__doc__,
                         re.M):
        table[m.group(3)] = (int(m.group(1), 16), m.group(2))
    assert table == {"ADDR": (0x00, "RW"), "CMD": (0x04, "W"), "ERR": (0x08, "RW1C"),
                     "COUNT": (0x0C, "R"), "DATA": (0x10, "RW")}
    access = {"RW": "RW", "WS": "W", "W1C": "RW1C", "RO": "R"}
    for params in (P, T3Params(data_width=128)):
        rmap = memwindow.build_map(params)
        lanes = params.data_width // 32
        want = {name: table[name] for name in ("ADDR", "CMD", "ERR", "COUNT")}
        want.update({f"DATA{k}": (0x10 + 4 * k, "RW") for k in range(lanes)})
        assert {r.name: (r.offset, access[r.access]) for r in rmap} == want
        assert rmap["ADDR"]["value"].width == params.addr_width
    assert MW_REGS == {name: off for name, (off, _) in table.items()}
    # the legal CMD words are exactly 1, 2, 0x11, 0x12
    cmd = memwindow.build_map(P)["CMD"]
    assert [w for w in range(1 << 8) if cmd.legal(w)] == [1, 2, 0x11, 0x12]
    assert not cmd.legal(1 << 31)
