"""Helpers for Amaranth-simulator unit tests: running with opt-in waves, and stream transfers."""

import os
from pathlib import Path

from amaranth.sim import Simulator

__all__ = ["run_sim", "stream_put", "stream_get"]


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
