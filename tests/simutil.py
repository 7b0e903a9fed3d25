"""Helpers for Amaranth-simulator unit tests: running with opt-in waves, stream transfers, and
single AXI4-Lite accesses on a component's ``s_axil_*`` ports."""

import os
from pathlib import Path

from amaranth.sim import Simulator

__all__ = ["run_sim", "stream_put", "stream_get", "axil_write", "axil_read"]


def run_sim(dut, *testbenches, processes=(), name="sim", deadline=None):
    """Simulate ``dut`` with a 1 GHz clock and run the async ``testbenches`` to completion.

    Waves are written only when ``T3_WAVES`` names a directory: ``$T3_WAVES/<name>.vcd``.
    """
    sim = Simulator(dut)
    sim.add_clock(1e-9)
    for tb in testbenches:
        sim.add_testbench(tb)
    for proc in processes:
        sim.add_process(proc)
    waves = os.environ.get("T3_WAVES")
    if waves:
        Path(waves).mkdir(parents=True, exist_ok=True)
        with sim.write_vcd(str(Path(waves) / f"{name}.vcd")):
            sim.run_until(deadline) if deadline else sim.run()
    else:
        sim.run_until(deadline) if deadline else sim.run()


async def stream_put(ctx, stream, payload):
    """Drive one transfer on ``stream`` (valid held until ready), then drop valid."""
    ctx.set(stream.payload, payload)
    ctx.set(stream.valid, 1)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream):
    """Wait for one transfer on ``stream`` (ready held until valid); return its payload."""
    ctx.set(stream.ready, 1)
    payload, = await ctx.tick().sample(stream.payload).until(stream.valid)
    ctx.set(stream.ready, 0)
    return payload


async def axil_write(ctx, dut, addr, value, strb=0xF):
    """One AXI4-Lite write on ``dut.s_axil_*`` (AW and W together); returns BRESP."""
    ctx.set(dut.s_axil_awaddr, addr)
    ctx.set(dut.s_axil_wdata, value)
    ctx.set(dut.s_axil_wstrb, strb)
    ctx.set(dut.s_axil_awvalid, 1)
    ctx.set(dut.s_axil_wvalid, 1)
    await ctx.tick().until(dut.s_axil_awready & dut.s_axil_wready)
    ctx.set(dut.s_axil_awvalid, 0)
    ctx.set(dut.s_axil_wvalid, 0)
    ctx.set(dut.s_axil_bready, 1)
    resp, = await ctx.tick().sample(dut.s_axil_bresp).until(dut.s_axil_bvalid)
    ctx.set(dut.s_axil_bready, 0)
    return resp


async def axil_read(ctx, dut, addr):
    """One AXI4-Lite read on ``dut.s_axil_*``; returns ``(RDATA, RRESP)``."""
    ctx.set(dut.s_axil_araddr, addr)
    ctx.set(dut.s_axil_arvalid, 1)
    await ctx.tick().until(dut.s_axil_arready)
    ctx.set(dut.s_axil_arvalid, 0)
    ctx.set(dut.s_axil_rready, 1)
    data, resp = await ctx.tick().sample(dut.s_axil_rdata, dut.s_axil_rresp).until(dut.s_axil_rvalid)
    ctx.set(dut.s_axil_rready, 0)
    return data, resp
