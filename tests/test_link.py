"""Amaranth-simulator unit tests of the link receiver, the link model and the packet merge."""

import random

import pytest

from hw.link import LinkModel, LinkReceiver
from hw.params import ReqClass, T3Params
from sim.ref.dma import pack_header, receive
from tests.simutil import run_sim

P = T3Params(addr_width=8, tile_width=8, len_width=5, tracker_entries=16)
DEV = 3


def rand_data(rng):
    return rng.randrange(1 << P.data_width)


def make_packet(rng, *, dst=DEV, length=None, fault=None):
    """Beats of one packet; ``fault`` in (None, "early_last", "no_last", "zero_no_last",
    "hdr_last")."""
    if length is None:
        length = rng.choice([0, 1, 2, rng.randrange(1, 1 << P.len_width), (1 << P.len_width) - 1])
    if fault in ("early_last", "no_last", "hdr_last"):
        length = max(length, 2)
    if fault == "zero_no_last":
        length = 0
    hdr = pack_header(P, dst_dev=dst, src_dev=rng.randrange(16), op=rng.randrange(2),
                      length=length, dst_addr=rng.choice([rng.randrange(256), 250]),
                      tile=rng.randrange(256))
    hdr |= rng.randrange(1 << 8) << 60          # junk above the header must be ignored
    if fault == "hdr_last":
        return [(hdr, 1)]
    n = length
    if fault == "early_last":
        n = rng.randrange(1, length)
    if fault in ("no_last", "zero_no_last"):
        n = length + rng.randrange(1, 4)
    beats = [(hdr, int(length == 0 and fault is None))]
    for k in range(n):
        if fault in ("no_last", "zero_no_last"):
            last = k == n - 1
        else:
            last = k == n - 1
        beats.append((rand_data(rng), int(last)))
    return beats


async def drive(ctx, stream, beats, rng, p_valid):
    for data, last in beats:
        while rng.random() > p_valid:
            await ctx.tick()
        ctx.set(stream.payload, {"data": data, "last": last})
        ctx.set(stream.valid, 1)
        await ctx.tick().until(stream.ready)
        ctx.set(stream.valid, 0)


# -- LinkReceiver -------------------------------------------------------------------------------

def test_receiver_bad_arguments():
    with pytest.raises(TypeError):
        LinkReceiver("params")


@pytest.mark.parametrize("seed,p_valid,p_ready", [(1, 0.7, 0.6), (2, 1.0, 1.0), (3, 0.9, 0.3)])
def test_receiver_random(seed, p_valid, p_ready):
    """Good, misrouted and malformed packets mixed, random stalls on rx and mem_req: exact writes,
    error pulse counts, counters, resynchronisation."""
    rng = random.Random(seed)
    beats = []
    for _ in range(40):
        r = rng.random()
        if r < 0.6:
            beats += make_packet(rng)
        elif r < 0.75:
            beats += make_packet(rng, dst=(DEV + rng.randrange(1, 16)) % 16)
        else:
            beats += make_packet(rng, fault=rng.choice(
                ["early_last", "no_last", "zero_no_last", "hdr_last"]))
    beats += make_packet(rng, length=3)
    exp_writes, exp_stats = receive(P, beats, DEV)
    assert exp_stats["misroute"] and exp_stats["malformed"]
    dut = LinkReceiver(P)
    writes = []
    errs = {"misroute": 0, "malformed": 0}
    final = {}

    async def producer(ctx):
        ctx.set(dut.dev_id, DEV)
        await drive(ctx, dut.rx, beats, rng, p_valid)
        for _ in range(200):
            if len(writes) >= len(exp_writes):
                break
            await ctx.tick()
        await ctx.tick().repeat(3)
        final.update(packets=ctx.get(dut.packets), beats=ctx.get(dut.beats))

    async def consumer(ctx):
        while True:
            ctx.set(dut.mem_req.ready, int(rng.random() < p_ready))
            _, _, v, r, q, e1, e2 = await ctx.tick().sample(
                dut.mem_req.valid, dut.mem_req.ready, dut.mem_req.payload,
                dut.err_misroute, dut.err_malformed)
            if v and r:
                assert q.cls == ReqClass.COMM and q.tracked == 1
                writes.append((q.op.value, int(q.addr), int(q.tile), int(q.data)))
            errs["misroute"] += e1
            errs["malformed"] += e2

    run_sim(dut, producer, processes=[consumer], name=f"linkrx_{seed}")
    assert writes == exp_writes
    assert errs == {"misroute": exp_stats["misroute"], "malformed": exp_stats["malformed"]}
    assert final == {"packets": exp_stats["packets"], "beats": exp_stats["beats"]}


def test_receiver_one_beat_per_cycle():
    """With mem_req always ready the receiver takes one beat every cycle."""
    rng = random.Random(4)
    beats = []
    for _ in range(6):
        beats += make_packet(rng, length=10)
    dut = LinkReceiver(P)
    accepted = []

    async def producer(ctx):
        ctx.set(dut.dev_id, DEV)
        ctx.set(dut.mem_req.ready, 1)
        await drive(ctx, dut.rx, beats, rng, 1.0)
        await ctx.tick().repeat(3)
        assert ctx.get(dut.beats) == 60 and ctx.get(dut.packets) == 6

    async def mon(ctx):
        cycle = 0
        async for _, _, v, r in ctx.tick().sample(dut.rx.valid, dut.rx.ready):
            if v and r:
                accepted.append(cycle)
            cycle += 1

    run_sim(dut, producer, processes=[mon], name="linkrx_tput")
    assert accepted == list(range(accepted[0], accepted[0] + len(beats)))


# -- LinkModel ----------------------------------------------------------------------------------

def test_model_bad_arguments():
    with pytest.raises(ValueError):
        LinkModel(P, latency=0)
    with pytest.raises(ValueError):
        LinkModel(P, bw_num=0)
    with pytest.raises(ValueError):
        LinkModel(P, bw_num=3, bw_den=2)
    with pytest.raises(ValueError):
        LinkModel(P, latency=8, depth=8)
    with pytest.raises(TypeError):
        LinkModel(P, latency=1.5)
    with pytest.raises(TypeError):
        LinkModel(None)


def run_model(dut, beats, rng, *, p_valid, o_ready, name, extra_cycles=40):
    """Drive ``beats`` into ``dut.i``; returns (accept cycles, [(out cycle, data, last)])."""
    ins, outs = [], []

    async def producer(ctx):
        await drive(ctx, dut.i, beats, rng, p_valid)
        for _ in range(20 * len(beats) + 200):          # bounded: a lost beat fails, not hangs
            if len(outs) >= len(beats):
                break
            await ctx.tick()
        await ctx.tick().repeat(extra_cycles)

    async def mon(ctx):
        cycle = 0
        while True:
            ctx.set(dut.o.ready, o_ready(cycle))
            _, _, iv, ir, ov, orr, od, ol = await ctx.tick().sample(
                dut.i.valid, dut.i.ready, dut.o.valid, dut.o.ready,
                dut.o.payload.data, dut.o.payload.last)
            if iv and ir:
                ins.append(cycle)
            if ov and orr:
                outs.append((cycle, od, ol))
            cycle += 1

    run_sim(dut, producer, processes=[mon], name=name)
    assert [(d, l) for _, d, l in outs] == beats
    return ins, outs


@pytest.mark.parametrize("latency", [1, 2, 8])
def test_model_exact_latency(latency):
    rng = random.Random(latency)
    beats = [(rand_data(rng), rng.randrange(2)) for _ in range(50)]
    dut = LinkModel(P, latency=latency)
    ins, outs = run_model(dut, beats, rng, p_valid=0.6, o_ready=lambda c: 1,
                          name=f"link_lat_{latency}")
    assert [o - i for i, (o, _, _) in zip(ins, outs)] == [latency] * len(beats)
    # back to back
    ins, outs = run_model(LinkModel(P, latency=latency), beats, rng, p_valid=1.0,
                          o_ready=lambda c: 1, name=f"link_lat_b2b_{latency}")
    assert ins == list(range(ins[0], ins[0] + len(beats)))
    assert [o - i for i, (o, _, _) in zip(ins, outs)] == [latency] * len(beats)


@pytest.mark.parametrize("num,den", [(1, 2), (3, 7), (2, 3)])
def test_model_bandwidth(num, den):
    rng = random.Random(num * 10 + den)
    n = 60
    beats = [(rand_data(rng), 0) for _ in range(n)]
    dut = LinkModel(P, latency=3, bw_num=num, bw_den=den)
    ins, outs = run_model(dut, beats, rng, p_valid=1.0, o_ready=lambda c: 1,
                          name=f"link_bw_{num}_{den}")
    # at most num beats in any window of den consecutive cycles
    for k, c in enumerate(ins):
        assert sum(1 for x in ins[k:] if x < c + den) <= num
    # long-run rate num/den: the span of n beats is about n*den/num cycles
    span = ins[-1] - ins[0]
    assert abs(span - (n - 1) * den / num) <= den
    assert all(o - i >= 3 for i, (o, _, _) in zip(ins, outs))


@pytest.mark.parametrize("seed", [1, 2])
def test_model_stalls_lose_nothing(seed):
    """Random and long stalls on o with a continuously offered input: order kept, nothing lost
    or duplicated, never earlier than the latency, i.ready falls when the FIFO is full."""
    rng = random.Random(seed)
    beats = [(rand_data(rng), rng.randrange(2)) for _ in range(150)]
    stall = {"left": 0}

    def o_ready(cycle):
        if stall["left"]:
            stall["left"] -= 1
            return 0
        if rng.random() < 0.05:
            stall["left"] = rng.randrange(10, 40)
        return int(rng.random() < 0.6)

    dut = LinkModel(P, latency=5, bw_num=4, bw_den=5, depth=7)
    ins, outs = run_model(dut, beats, rng, p_valid=0.9, o_ready=o_ready, name=f"link_stall_{seed}")
    assert all(o - i >= 5 for i, (o, _, _) in zip(ins, outs))
    assert max(o - i for i, (o, _, _) in zip(ins, outs)) > 20   # long stalls did happen


def test_packet_merge_keeps_packets_whole_and_alternates():
    """PacketMerge: two inputs with packets of random lengths, random gaps and back-pressure;
    the output is the packets of both, each whole (no beat of another packet inside it), each
    input's packets in their order, and the inputs alternate while both have packets waiting."""
    import itertools

    from amaranth.sim import Simulator

    from hw.link import PacketMerge
    p = T3Params()
    dut = PacketMerge(p)
    rng = random.Random(4)
    packets = {name: [[(k << 16) | (i << 8) | j for j in range(rng.randint(1, 6))]
                      for k in range(12)] for i, name in enumerate("ab")}
    got = []

    def source(name):
        port = getattr(dut, name)

        async def run(ctx):
            for pkt in packets[name]:
                for j, word in enumerate(pkt):
                    while rng.random() < 0.2:
                        ctx.set(port.valid, 0)
                        await ctx.tick()
                    ctx.set(port.payload, {"data": word, "last": int(j == len(pkt) - 1)})
                    ctx.set(port.valid, 1)
                    await ctx.tick().until(port.ready)
                ctx.set(port.valid, 0)
        return run

    async def sink(ctx):
        total = sum(len(x) for v in packets.values() for x in v)
        while len(got) < total:
            ctx.set(dut.out.ready, int(rng.random() < 0.7))
            _, _, valid, ready, payload = await ctx.tick().sample(dut.out.valid, dut.out.ready,
                                                                  dut.out.payload)
            if valid and ready:
                got.append((payload.data, payload.last))
    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(source("a"))
    sim.add_testbench(source("b"))
    sim.add_testbench(sink)
    sim.run()
    out, cur = [], []
    for word, last in got:
        cur.append(word)
        if last:
            out.append(cur)
            cur = []
    assert not cur
    for i, name in enumerate("ab"):
        assert [x for x in out if (x[0] >> 8) & 0xFF == i] == packets[name], name
    owners = [(x[0] >> 8) & 0xFF for x in out]
    assert all(x == [(x[0] & ~0xFF) | j for j in range(len(x))] for x in out), "a packet mixed"
    runs = max(len(list(g)) for _, g in itertools.groupby(owners[:16]))
    assert runs <= 2, f"no alternation while both wait: {owners}"
