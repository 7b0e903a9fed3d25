"""AXI4 compute port (hw/axicompute.py): what a well-behaved master (cocotbext-axi's AxiMaster, in
tb/axicompute) cannot send, driven directly in Amaranth's simulator, and the argument checks."""

import pytest

from amaranth.sim import Simulator

from hw.axicompute import AxiComputePort, awuser_layout
from hw.lib.axi import BURST_INCR, RESP_OKAY, RESP_SLVERR
from hw.params import MemOp, T3Params

P = T3Params(addr_width=6, tile_width=4, tracker_entries=16)
BEAT = P.data_width // 8


async def aw(ctx, axi, addr, length, *, awid=0, user=0):
    for sig, v in ((axi.awaddr, addr), (axi.awlen, length), (axi.awsize, 3),
                   (axi.awburst, BURST_INCR), (axi.awid, awid), (axi.awuser, user)):
        ctx.set(sig, v)
    ctx.set(axi.awvalid, 1)
    await ctx.tick().until(axi.awready)
    ctx.set(axi.awvalid, 0)


async def w_beats(ctx, axi, beats, last_at):
    """W beats; ``WLAST`` on beat index ``last_at`` (not necessarily the last)."""
    ctx.set(axi.wstrb, (1 << BEAT) - 1)
    for i, v in enumerate(beats):
        ctx.set(axi.wdata, v)
        ctx.set(axi.wlast, i == last_at)
        ctx.set(axi.wvalid, 1)
        await ctx.tick().until(axi.wready)
    ctx.set(axi.wvalid, 0)


async def b(ctx, axi):
    ctx.set(axi.bready, 1)
    bid, bresp = await ctx.tick().sample(axi.bid, axi.bresp).until(axi.bvalid)
    ctx.set(axi.bready, 0)
    return bid, bresp


def run(body):
    dut = AxiComputePort(P, id_width=2, read_bursts=2)
    seen, errs = [], [0]

    async def sink(ctx):                    # the unit: takes every request
        ctx.set(dut.compute.ready, 1)
        async for clk, rst, valid, req, err in ctx.tick().sample(dut.compute.valid,
                                                                 dut.compute.payload, dut.err):
            if valid:
                seen.append((MemOp(req.op), req.addr, req.tile, req.tracked, req.data))
            errs[0] += err

    async def main(ctx):
        await body(ctx, dut.s_axi)
        await ctx.tick().repeat(4)

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(sink, background=True)
    sim.add_testbench(main)
    sim.run()
    return seen, errs[0]


def test_burst_past_the_end_issues_nothing():
    last = (1 << P.addr_width) - 1

    async def body(ctx, axi):
        await aw(ctx, axi, (last - 1) * BEAT, 3, awid=1)        # beats last-1 .. last+2
        await w_beats(ctx, axi, [1, 2, 3, 4], last_at=3)
        assert await b(ctx, axi) == (1, RESP_SLVERR)
        await aw(ctx, axi, (last - 1) * BEAT, 1, awid=2)        # exactly to the end: fine
        await w_beats(ctx, axi, [5, 6], last_at=1)
        assert await b(ctx, axi) == (2, RESP_OKAY)
    seen, errs = run(body)
    assert [(op, a, d) for op, a, _, _, d in seen] == \
        [(MemOp.STORE, last - 1, 5), (MemOp.STORE, last, 6)]
    assert errs == 1


@pytest.mark.parametrize("last_at", [1, 9])
def test_misplaced_wlast_answers_slverr(last_at):
    """``WLAST`` early (on beat 1 of 4) or missing: the burst answers SLVERR and the beat count
    comes from ``AWLEN``; the beats after an early ``WLAST`` are taken and dropped."""
    user = awuser_layout(P).const({"tile": 9, "tracked": 1, "update": 1}).as_value().value

    async def body(ctx, axi):
        await aw(ctx, axi, 8 * BEAT, 3, awid=3, user=user)
        await w_beats(ctx, axi, [10, 11, 12, 13], last_at=last_at)
        assert await b(ctx, axi) == (3, RESP_SLVERR)
    seen, errs = run(body)
    kept = 4 if last_at > 3 else last_at + 1
    assert seen == [(MemOp.UPDATE, 8 + i, 9, 1, 10 + i) for i in range(kept)]
    assert errs == 1


@pytest.mark.parametrize("kwargs, exc, field", [
    (dict(params=None), TypeError, "params"),
    (dict(params=T3Params(data_width=96)), ValueError, "data_width"),
    (dict(params=P, id_width=0), ValueError, "id_width"),
    (dict(params=P, id_width=17), ValueError, "id_width"),
    (dict(params=P, read_bursts=0), ValueError, "read_bursts"),
    (dict(params=P, read_bursts=2.0), TypeError, "read_bursts"),
])
def test_bad_arguments(kwargs, exc, field):
    with pytest.raises(exc, match=field):
        AxiComputePort(**kwargs)
