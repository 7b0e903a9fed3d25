"""Traffic generator: request sequences vs an independent Python model, timing, registers."""

import random

import pytest
from amaranth.sim import Simulator

from hw.params import MemOp, ReqClass, T3Params
from hw.trafficgen import TG_ID, TG_REGS, TrafficGen, reference
from tests.simutil import axil_read, axil_write

P = T3Params(addr_width=8, tile_width=8, data_width=64)
OKAY, SLVERR = 0, 2


# -- an independent model of the traffic (written from the module docstring) ---------------------

def model(p, num_tiles, beats, first_tile=0, tile_stride=1, base_addr=0, op=0, data=0, order=0,
          tracked=1, seed=0):
    pairs = []
    if order == 0:
        for t in range(num_tiles):
            for b in range(beats):
                pairs.append((t, b))
    else:
        for b in range(beats):
            for t in range(num_tiles):
                pairs.append((t, b))
    words = []
    v = seed
    for n in range(len(pairs)):
        if data == 0:
            words.append((seed + n) % 2**32)
        else:
            words.append(v)
            # x^32 + x^22 + x^2 + x + 1, Galois, shifting right
            fb = v & 1
            v >>= 1
            if fb:
                v ^= (1 << 31) | (1 << 21) | (1 << 1) | 1
    out = []
    for (t, b), w in zip(pairs, words):
        out.append((MemOp.UPDATE.value if op else MemOp.STORE.value, tracked,
                    (base_addr + t * beats + b) % 2**p.addr_width,
                    (first_tile + t * tile_stride) % 2**p.tile_width,
                    w | (w << 32)))
    return out


async def configure(ctx, dut, **cfg):
    mode = (cfg.get("op", 0) | cfg.get("data", 0) << 1 | cfg.get("order", 0) << 2
            | cfg.get("tracked", 1) << 3)
    for name, value in (("NUM_TILES", cfg["num_tiles"]), ("BEATS", cfg["beats"]),
                        ("FIRST_TILE", cfg.get("first_tile", 0)),
                        ("TILE_STRIDE", cfg.get("tile_stride", 1)),
                        ("BASE_ADDR", cfg.get("base_addr", 0)), ("GAP", cfg.get("gap", 0)),
                        ("MODE", mode), ("SEED", cfg.get("seed", 0))):
        assert await axil_write(ctx, dut, TG_REGS[name], value) == OKAY, name


def run(cfg, *, stall=0.0, seed=0, check_timing=False):
    """Program a run over AXI, start it, collect every request; returns (got, cycles, status)."""
    dut = TrafficGen(P)
    got, arrival = [], []
    result = {}
    total = cfg["num_tiles"] * cfg["beats"]

    async def host(ctx):
        await configure(ctx, dut, **cfg)
        assert await axil_write(ctx, dut, TG_REGS["CTRL"], 1) == OKAY
        for _ in range(20 * total + 50 * (cfg.get("gap", 0) + 1) * (total + 1) + 100):
            status, _ = await axil_read(ctx, dut, TG_REGS["STATUS"])
            if status & 2:
                break
        else:
            raise AssertionError("no done")
        result["status"] = status
        result["sent"] = (await axil_read(ctx, dut, TG_REGS["BEATS_SENT"]))[0]
        result["done_port"] = ctx.get(dut.done)

    async def consumer(ctx):
        rng = random.Random(seed)
        cycle = 0
        while True:
            ready = rng.random() >= stall
            ctx.set(dut.mem_req.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.mem_req.valid, dut.mem_req.payload)
            cycle += 1
            result["now"] = cycle
            if valid and ready:
                got.append((payload.op.value, payload.tracked, payload.addr, payload.tile,
                            payload.data))
                assert payload.cls == ReqClass.COMPUTE
                arrival.append(cycle)

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(host)
    sim.add_testbench(consumer, background=True)
    sim.run()
    return got, arrival, result


CASES = [
    dict(num_tiles=3, beats=5),
    dict(num_tiles=4, beats=3, first_tile=250, tile_stride=3, base_addr=250, op=1, data=1,
         seed=0xDEADBEEF),
    dict(num_tiles=5, beats=4, first_tile=7, tile_stride=255, base_addr=9, order=1, data=1,
         seed=1, gap=3),
    dict(num_tiles=1, beats=7, tracked=0, seed=0xFFFFFFFE, gap=2),
    dict(num_tiles=6, beats=1, order=1, gap=1, data=0, seed=5),
]


@pytest.mark.parametrize("stall", [0.0, 0.5])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_sequence_matches_model(case, stall):
    cfg = CASES[case]
    got, _, res = run(cfg, stall=stall, seed=case)
    plain = {k: v for k, v in cfg.items() if k != "gap"}
    want = model(P, **plain)
    assert got == want
    assert res["sent"] == len(want)
    assert res["status"] == 0b10 and res["done_port"] == 1


def test_module_reference_agrees_with_model():
    # hw.trafficgen.reference is what host scripts use to predict data
    for cfg in CASES:
        plain = {k: v for k, v in cfg.items() if k != "gap"}
        ref = [(r["op"].value, r["tracked"], r["addr"], r["tile"], r["data"])
               for r in reference(P, **plain)]
        assert ref == model(P, **plain)


@pytest.mark.parametrize("order", [0, 1])
def test_gap_timing(order):
    """Back to back within a tile (or round), exactly GAP idle cycles between them."""
    tiles, beats, gap = 3, 4, 5
    _, arrival, _ = run(dict(num_tiles=tiles, beats=beats, gap=gap, order=order))
    inner = beats if order == 0 else tiles
    deltas = [b - a for a, b in zip(arrival, arrival[1:])]
    want = [gap + 1 if (i + 1) % inner == 0 else 1 for i in range(len(arrival) - 1)]
    assert deltas == want


def test_empty_runs_end_at_once():
    for cfg in (dict(num_tiles=0, beats=4), dict(num_tiles=3, beats=0)):
        got, _, res = run(cfg)
        assert got == [] and res["sent"] == 0 and res["status"] == 0b10


def test_registers_stop_and_errors():
    dut = TrafficGen(P)

    async def host(ctx):
        assert await axil_read(ctx, dut, TG_REGS["ID"]) == (TG_ID, OKAY)
        assert (await axil_read(ctx, dut, TG_REGS["TILE_STRIDE"]))[0] == 1     # reset values
        assert (await axil_read(ctx, dut, TG_REGS["MODE"]))[0] == 0b1000
        assert (await axil_read(ctx, dut, 0x40))[1] == SLVERR                # unmapped
        assert await axil_write(ctx, dut, 0x40, 1) == SLVERR
        assert await axil_write(ctx, dut, TG_REGS["ID"], 1) == SLVERR        # read-only
        assert await axil_write(ctx, dut, TG_REGS["GAP"], 9, strb=0b0011) == SLVERR
        assert (await axil_read(ctx, dut, TG_REGS["GAP"]))[0] == 0
        assert await axil_write(ctx, dut, TG_REGS["BASE_ADDR"], 0xFFFF_FF12) == OKAY
        assert (await axil_read(ctx, dut, TG_REGS["BASE_ADDR"]))[0] == 0x12   # addr_width bits
        await configure(ctx, dut, num_tiles=100, beats=100)
        assert await axil_write(ctx, dut, TG_REGS["CTRL"], 1) == OKAY
        status, _ = await axil_read(ctx, dut, TG_REGS["STATUS"])
        assert status == 0b01
        assert await axil_write(ctx, dut, TG_REGS["BEATS"], 3) == SLVERR      # busy
        assert (await axil_read(ctx, dut, TG_REGS["BEATS"]))[0] == 100
        assert await axil_write(ctx, dut, TG_REGS["CTRL"], 2) == OKAY         # stop
        await ctx.tick().repeat(3)
        status, _ = await axil_read(ctx, dut, TG_REGS["STATUS"])
        assert status == 0b10
        sent = (await axil_read(ctx, dut, TG_REGS["BEATS_SENT"]))[0]
        assert 0 < sent < 10000 and sent == ctx.get(dut.beats)
        cycles = (await axil_read(ctx, dut, TG_REGS["CYCLES"]))[0]
        assert cycles >= sent
        # A hardware start pulse restarts with the same configuration.
        await configure(ctx, dut, num_tiles=2, beats=2)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        await ctx.tick()
        assert ctx.get(dut.busy) == 1 and ctx.get(dut.done) == 0
        await ctx.tick().until(dut.done)
        assert ctx.get(dut.beats) == 4

    async def consumer(ctx):
        ctx.set(dut.mem_req.ready, 1)

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(host)
    sim.add_testbench(consumer, background=True)
    sim.run()


def test_holds_payload_under_backpressure():
    """While ready is low, valid and payload do not change."""
    dut = TrafficGen(P)

    async def host(ctx):
        await configure(ctx, dut, num_tiles=2, beats=3, data=1, seed=77)
        assert await axil_write(ctx, dut, TG_REGS["CTRL"], 1) == OKAY
        await ctx.tick().until(dut.mem_req.valid)
        held = ctx.get(dut.mem_req.payload.as_value())
        for _ in range(10):
            await ctx.tick()
            assert ctx.get(dut.mem_req.valid) == 1
            assert ctx.get(dut.mem_req.payload.as_value()) == held

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(host)
    sim.run()


def test_bad_params():
    with pytest.raises(TypeError, match="params"):
        TrafficGen("x")


def test_start_latency():
    """First request 2 cycles after a start pulse, 3 after the CTRL.start write is accepted."""
    dut = TrafficGen(P)

    async def host(ctx):
        await configure(ctx, dut, num_tiles=1, beats=1)
        ctx.set(dut.start, 1)
        await ctx.tick()                       # pulse taken at this edge
        ctx.set(dut.start, 0)
        assert ctx.get(dut.mem_req.valid) == 0
        await ctx.tick()
        assert ctx.get(dut.mem_req.valid) == 1
        await ctx.tick().until(dut.done)
        ctx.set(dut.s_axil_awaddr, TG_REGS["CTRL"])
        ctx.set(dut.s_axil_wdata, 1)
        ctx.set(dut.s_axil_wstrb, 0xF)
        ctx.set(dut.s_axil_awvalid, 1)
        ctx.set(dut.s_axil_wvalid, 1)
        await ctx.tick()                       # write accepted at this edge
        ctx.set(dut.s_axil_awvalid, 0)
        ctx.set(dut.s_axil_wvalid, 0)
        ctx.set(dut.s_axil_bready, 1)
        for _ in range(2):
            assert ctx.get(dut.mem_req.valid) == 0
            await ctx.tick()
        assert ctx.get(dut.mem_req.valid) == 1

    async def consumer(ctx):
        ctx.set(dut.mem_req.ready, 1)

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(host)
    sim.add_testbench(consumer, background=True)
    sim.run()
