"""StreamMerge (the comm-class merge in T3Core): every transfer once, per-input order kept,
alternation under conflict, full throughput, no loss under random output stalls."""

import random

import pytest

from hw.unit import StreamMerge
from tests.simutil import run_sim

LAYOUT = 16


@pytest.mark.parametrize("seed,p_idle,p_stall", [(1, 0.0, 0.0), (2, 0.3, 0.4), (3, 0.6, 0.7)])
def test_merge_scoreboard(seed, p_idle, p_stall):
    rng = random.Random(seed)
    dut = StreamMerge(LAYOUT)
    sent = {"a": [0x1000 + i for i in range(150)], "b": [0x2000 + i for i in range(150)]}
    got = []
    stats = {"cycles": 0}

    def producer(name):
        port = getattr(dut, name)

        async def proc(ctx):
            for item in sent[name]:
                while rng.random() < p_idle:
                    await ctx.tick()
                ctx.set(port.payload, item)
                ctx.set(port.valid, 1)
                await ctx.tick().until(port.ready)
                ctx.set(port.valid, 0)
        return proc

    async def consumer(ctx):
        while len(got) < 300:
            ready = rng.random() >= p_stall
            ctx.set(dut.out.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.out.valid, dut.out.payload)
            stats["cycles"] += 1
            if valid and ready:
                got.append(payload)
            assert stats["cycles"] < 5000, "merge hung"

    run_sim(dut, producer("a"), producer("b"), consumer, name=f"merge_{seed}")
    assert sorted(got) == sorted(sent["a"] + sent["b"])
    assert [x for x in got if x < 0x2000] == sent["a"]
    assert [x for x in got if x >= 0x2000] == sent["b"]
    if p_idle == 0 and p_stall == 0:
        assert stats["cycles"] <= 302, "one transfer per cycle"
        sources = [x >> 12 for x in got[:20]]
        assert all(s != t for s, t in zip(sources, sources[1:])), "alternate on conflict"
