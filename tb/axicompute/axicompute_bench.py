"""cocotb bench: the AXI4 compute port (hw/axicompute.py) between an AXI4 master and the unit.

cocotbext-axi's ``AxiMaster`` is the GPU-side master on ``s_axi``; the unit side is a model of the
unit's compute port written from its documented contract (:class:`hw.unit.T3Unit`): requests are
executed in order (STORE overwrites, UPDATE adds the 32-bit lanes, READ returns the beat), read
data comes back in request order. Both unit-side streams get random back-pressure and gaps, and
the master's B and R channels random back-pressure.

The reference is the module docstring: a burst of ``n`` beats at byte address ``a`` with
``AWUSER`` = (tile, tracked, update) becomes ``n`` requests at beat addresses ``a / 8 + i`` with
that metadata, in order; a read burst, ``n`` READs; a refused burst (FIXED, narrow, unaligned,
a partial ``WSTRB``) answers SLVERR and issues nothing; ``err`` pulses once per SLVERR response.
(A burst past the end of the memory and a misplaced ``WLAST`` cannot be sent by ``AxiMaster``, a
well-behaved master: ``tests/test_axicompute.py`` drives those in Amaranth's simulator.)

1. four writers (IDs 0..3, own address regions, random lengths and metadata) and two readers (of
   a pre-filled region) run concurrently; every writer's request sequence must equal its
   reference, every read must return the model memory's beats;
2. a write then a read of the same beats (posted B): the read returns the written data;
3. refused bursts of each kind, interleaved with good traffic;
4. remote bursts (AWUSER ``remote``): one link packet each on ``remote`` (header fields from the
   burst, the W beats as data, ``last`` on the final one), nothing on ``compute``; a remote burst
   longer than a packet can carry answers SLVERR and sends nothing.
"""

import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBurstType, AxiBus, AxiMaster, AxiResp

from hw.params import MemOp, T3Params
from tb.common.bench import bench_env, random_pause, start_clock_reset
from tb.common.stream import StreamSink, StreamSource, unpack
from tb.common.t3 import int_to_lanes, lanes_to_int

BEAT = 8
LANES = 2


class UnitModel:
    """The unit's compute port as documented: in-order execution, in-order read data."""

    def __init__(self, dut, params, depth):
        self.mem = [random.Random(7).getrandbits(64) ^ (i * 0x9E37) for i in range(depth)]
        self.log = []                                   # every request, in acceptance order
        self.req = StreamSink(dut, "compute", dut.clk, params.mem_request_layout)
        self.resp = StreamSource(dut, "compute_resp", dut.clk, params.mem_response_layout)
        self.req.on_transfer.append(self._on_req)
        self.link = StreamSink(dut, "remote", dut.clk, params.link_layout)
        self.link.set_pause_generator(random_pause(5, 0.3))
        self.req.set_pause_generator(random_pause(1, 0.3))
        self.resp.set_pause_generator(random_pause(2, 0.3))

    def _on_req(self, r):
        self.req.queue.clear()
        op, a = MemOp(r["op"]), r["addr"]
        assert r["cls"] == 0, "the compute port issues class COMPUTE only"
        self.log.append(dict(op=op, addr=a, tile=r["tile"], tracked=r["tracked"], data=r["data"]))
        if op == MemOp.READ:
            self.resp.send_nowait({"cls": 0, "data": self.mem[a]})
        elif op == MemOp.STORE:
            self.mem[a] = r["data"]
        else:
            s = [(x + y) & 0xFFFF_FFFF for x, y in zip(int_to_lanes(self.mem[a], LANES),
                                                       int_to_lanes(r["data"], LANES))]
            self.mem[a] = lanes_to_int(s)


def user(tb, tile, tracked, update, remote=0, dst_dev=0):
    w = tb.tile_width
    return tile | (tracked << w) | (update << (w + 1)) | (remote << (w + 2)) | (dst_dev << (w + 3))


def expected_writes(base, beats, tile, tracked, update):
    op = MemOp.UPDATE if update else MemOp.STORE
    return [dict(op=op, addr=base // BEAT + i, tile=tile, tracked=tracked, data=v)
            for i, v in enumerate(beats)]


def to_bytes(beats):
    return b"".join(v.to_bytes(BEAT, "little") for v in beats)


def from_bytes(b):
    return [int.from_bytes(b[i:i + BEAT], "little") for i in range(0, len(b), BEAT)]


class TB:
    pass


@cocotb.test()
async def compute_port(dut):
    cfg = bench_env("T3_AXC")
    params = T3Params(addr_width=cfg["addr_width"], tile_width=cfg["tile_width"])
    depth = 1 << cfg["addr_width"]
    tb = TB()
    tb.tile_width = cfg["tile_width"]
    axi = AxiMaster(AxiBus.from_prefix(dut, "s_axi_"), dut.clk, dut.rst)
    axi.write_if.b_channel.set_pause_generator(random_pause(3, 0.2))
    axi.read_if.r_channel.set_pause_generator(random_pause(4, 0.2))
    unit = UnitModel(dut, params, depth)
    errs = [0]

    async def count_err():
        while True:
            await RisingEdge(dut.clk)
            if dut.err.value.is_resolvable and int(dut.err.value):
                errs[0] += 1
    cocotb.start_soon(count_err())
    await start_clock_reset(dut)
    await ClockCycles(dut.clk, 2)

    # -- 1. concurrent writers and readers ------------------------------------------------------
    region = depth // 8                                  # beats per writer; readers use 4 and 5
    want = {w: [] for w in range(4)}
    initial = list(unit.mem)

    async def writer(w):
        rng = random.Random(100 + w)
        a = w * region
        while a < (w + 1) * region - 40:
            n = rng.randint(1, 40)
            beats = [rng.getrandbits(64) for _ in range(n)]
            tile, tracked, update = rng.getrandbits(tb.tile_width), rng.getrandbits(1), \
                rng.getrandbits(1)
            r = await axi.write(a * BEAT, to_bytes(beats), awid=w, user=user(tb, tile, tracked,
                                                                             update))
            assert r.resp == AxiResp.OKAY, (w, a, n, r.resp)
            want[w] += expected_writes(a * BEAT, beats, tile, tracked, update)
            a += n + rng.randint(0, 3)

    async def reader(k):
        rng = random.Random(200 + k)
        lo = (4 + k) * region
        for _ in range(12):
            a, n = lo + rng.randint(0, region - 33), rng.randint(1, 32)
            r = await axi.read(a * BEAT, n * BEAT, arid=8 + k)
            assert r.resp == AxiResp.OKAY
            assert from_bytes(r.data) == initial[a:a + n], (k, a, n)

    tasks = [cocotb.start_soon(writer(w)) for w in range(4)] + \
        [cocotb.start_soon(reader(k)) for k in range(2)]
    for t in tasks:
        await t
    writes = [r for r in unit.log if r["op"] != MemOp.READ]
    for w in range(4):
        got = [r for r in writes if w * region <= r["addr"] < (w + 1) * region]
        assert got == want[w], f"writer {w}: requests differ from the reference"
    assert sum(len(v) for v in want.values()) == len(writes)
    reads = sum(1 for r in unit.log if r["op"] == MemOp.READ)
    dut._log.info("concurrent: %d write beats, %d read beats, %d cycles of requests",
                  len(writes), reads, len(unit.log))

    # -- 2. a posted write, then a read of the same beats ----------------------------------------
    beats = [0x1111_0000_2222_0000 + i for i in range(9)]
    a = 6 * region + 3
    assert (await axi.write(a * BEAT, to_bytes(beats), awid=1)).resp == AxiResp.OKAY
    assert from_bytes((await axi.read(a * BEAT, 9 * BEAT, arid=1)).data) == beats

    # -- 3. refused bursts: SLVERR, nothing issued ------------------------------------------------
    n0, e0 = len(unit.log), errs[0]
    bad = [
        ("write FIXED", axi.write(a * BEAT, to_bytes(beats[:2]), burst=AxiBurstType.FIXED)),
        ("write narrow", axi.write(a * BEAT, to_bytes(beats[:2]), size=2)),
        ("write partial WSTRB", axi.write(a * BEAT, b"\xAA\xBB")),
        ("write unaligned", axi.write(a * BEAT + 2, b"\xAA\xBB")),
        ("read FIXED", axi.read(a * BEAT, 2 * BEAT, burst=AxiBurstType.FIXED)),
        ("read narrow", axi.read(a * BEAT, 8, size=2)),
    ]
    for name, op in bad:
        r = await op
        assert r.resp == AxiResp.SLVERR, f"{name}: {r.resp}"
        if hasattr(r, "data"):
            assert set(r.data) <= {0}, f"{name}: a refused read returns zeros"
        # a good access between refusals still works
        assert from_bytes((await axi.read(a * BEAT, BEAT)).data) == beats[:1]
    await ClockCycles(dut.clk, 4)
    issued = unit.log[n0:]
    assert all(r["op"] == MemOp.READ and r["addr"] == a for r in issued), \
        "a refused burst issued a request"
    assert len(issued) == len(bad)
    assert errs[0] - e0 == len(bad), f"err pulsed {errs[0] - e0} times for {len(bad)} SLVERRs"
    assert unit.mem[a:a + 9] == beats, "a refused write changed memory"

    # -- 4. remote bursts: link packets, no local request ------------------------------------------
    n0 = len(unit.log)
    hdr_layout = params.link_header_layout
    sent = []
    for k, (n, update, dst) in enumerate([(5, 1, 3), (1, 0, 1), (40, 1, 2)]):
        beats = [random.Random(300 + k).getrandbits(64) for _ in range(n)]
        a = 6 * region + 20 + 30 * k
        r = await axi.write(a * BEAT, to_bytes(beats), awid=2,
                            user=user(tb, 20 + k, 0, update, remote=1, dst_dev=dst))
        assert r.resp == AxiResp.OKAY
        sent.append((dict(dst_dev=dst, src_dev=0, op=update, length=n, dst_addr=a, tile=20 + k),
                     beats))
    e0 = errs[0]
    r = await axi.write(0, to_bytes(list(range(256))), awid=2,
                        user=user(tb, 1, 0, 1, remote=1, dst_dev=1))
    assert r.resp == AxiResp.SLVERR, "a remote burst longer than a packet"
    await ClockCycles(dut.clk, 10)
    assert errs[0] - e0 == 1
    assert len(unit.log) == n0, "a remote burst issued a local request"
    got = list(unit.link.queue)
    for head, beats in sent:
        h, *data = got[:1 + len(beats)]
        del got[:1 + len(beats)]
        assert unpack(hdr_layout, h["data"] & ((1 << hdr_layout.size) - 1)) == head
        assert [d["data"] for d in data] == beats
        assert [x["last"] for x in [h, *data]] == [0] * len(beats) + [1]
    assert not got, f"{len(got)} beats more on the link than the packets sent"
