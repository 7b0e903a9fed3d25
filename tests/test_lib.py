"""The interface library hw/lib: Queue and SkidBuffer against independent references, and the
signatures' parameter checks."""

import random

import pytest
from amaranth.hdl import Elaboratable, Fragment, Module
from amaranth.lib import data
from amaranth.lib.fifo import SyncFIFO, SyncFIFOBuffered

from hw.lib.queue import Queue
from tests.simutil import run_sim


class _Pair(Elaboratable):
    """A Queue and the Amaranth FIFO it must match, fed the same inputs."""

    def __init__(self, depth, buffered):
        self.q = Queue(8, depth, buffered=buffered)
        self.f = (SyncFIFOBuffered if buffered else SyncFIFO)(width=8, depth=depth)

    def elaborate(self, platform):
        m = Module()
        m.submodules.q, m.submodules.f = self.q, self.f
        m.d.comb += [self.f.w_en.eq(self.q.w.valid), self.f.w_data.eq(self.q.w.payload),
                     self.f.r_en.eq(self.q.r.ready)]
        return m


@pytest.mark.parametrize("buffered,depth", [(False, 1), (False, 2), (False, 3), (False, 4),
                                            (True, 2), (True, 3), (True, 4), (True, 5)])
def test_queue_matches_amaranth_fifo_cycle_by_cycle(buffered, depth):
    rng = random.Random(depth * 2 + buffered)
    pair = _Pair(depth, buffered)
    q, f = pair.q, pair.f
    seen = []

    async def bench(ctx):
        for cycle in range(300):
            burst = (cycle // 40) % 3        # phases: fill, drain, mixed
            ctx.set(q.w.valid, rng.random() < (0.9, 0.1, 0.5)[burst])
            ctx.set(q.w.payload, rng.randrange(256))
            ctx.set(q.r.ready, rng.random() < (0.1, 0.9, 0.5)[burst])
            got = (ctx.get(q.w.ready), ctx.get(q.r.valid), ctx.get(q.level))
            want = (ctx.get(f.w_rdy), ctx.get(f.r_rdy), ctx.get(f.level))
            assert got == want, f"cycle {cycle}: queue {got}, fifo {want}"
            if want[1]:
                assert ctx.get(q.r.payload) == ctx.get(f.r_data), f"cycle {cycle}"
                if ctx.get(q.r.ready):
                    seen.append(ctx.get(q.r.payload))
            await ctx.tick()

    run_sim(pair, bench, name=f"queue_{buffered}_{depth}")
    assert len(seen) > 30          # the stimulus did move data through


def test_queue_checks_its_parameters():
    with pytest.raises(TypeError, match="depth must be an integer"):
        Queue(8, "4")
    with pytest.raises(ValueError, match="depth must be >= 2 for a buffered queue"):
        Queue(8, 1, buffered=True)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        Queue(8, 0)
    with pytest.raises(TypeError, match="shape must be shape-castable"):
        Queue("x", 2)


def test_queue_payload_has_the_layout():
    lay = data.StructLayout({"a": 3, "b": 5})
    q = Queue(lay, 2)
    Fragment.get(q, None)
    assert q.r.payload.shape() == lay and q.w.payload.shape() == lay
