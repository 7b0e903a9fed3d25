"""cocotb bench of the determinism property on a T3Ring with bf16 lanes.

The fused T3 reduce-scatter of ``ring_bench`` (t3 mode), on a ring whose NMC lanes are bf16: the
chunk ``c`` starts at device ``c + 1`` (a tracked store of its partial), and at each following hop
``d`` the local partial (a tracked update from the GEMM side) and the partial sum arriving from the
previous device (a tracked update from the link) both land on the same, zeroed tile slot; the
tracker fires the tile after both, and the last hop (device ``c``) keeps the result.

Every round uses the same partials and a different seed that chooses, for every tile and every
hop, which of the two contributions arrives first at that device. The bench *enforces* each
choice through the unit's ports: "local first" writes the local partial and waits (polling
``CNT_WR_BEATS_COMPUTE``) until it has landed before the previous hop can fire, and checks
(``CNT_WR_BEATS_COMM``) that the incoming one has not; "incoming first" waits until the incoming
partial sum has landed (``CNT_WR_BEATS_COMM``) before writing the local one. The reduced chunks
must be bit-identical across rounds, and equal to the bf16 reference (``sim.ref.nmc``) folded in
ring order. Both orders must have happened at some hop.

Why it holds, and where it stops: a slot receives exactly two contributions per step; ``0 + x``
is ``x`` (after the documented DAZ) and one rounded addition commutes, so the order of two
arrivals cannot change a bit. With more than two contributions per tile per step, rounded bf16
addition is not associative and the result depends on the order (see ``docs/datasheet.md``).
"""

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles

from hw.params import Kind, LaneType, MemOp, T3Params
from sim.ref import nmc as ref
from tb.common.bench import bench_env, start_clock_reset
from tb.common.stream import StreamSource
from tb.common.t3 import ComputePort, CsrDriver, lanes_to_int

DEVICES = 3
TILES, BEATS = 2, 2
ROUNDS = 4
POLL_LIMIT = 2000


class DetTB:
    def __init__(self, dut):
        self.dut = dut
        self.params = T3Params(**{"lane": LaneType.BF16, **bench_env("T3_PARAMS", {})})
        if self.params.lane is not LaneType.BF16:
            raise ValueError("the determinism bench needs bf16 lanes")
        self.n = DEVICES
        self.lanes = self.params.data_width // 16
        self.csr = [CsrDriver(dut, f"d{i}_s_axil", dut.clk, dut.rst) for i in range(self.n)]
        self.port = [ComputePort(dut, f"d{i}_", dut.clk, self.params) for i in range(self.n)]
        # the ring's GEMM-originated packet ports are unused here: held idle (valid low)
        self.remote = [StreamSource(dut, f"d{i}_remote", dut.clk, self.params.link_layout)
                       for i in range(self.n)]
        self.orders_seen = {"local_first": 0, "incoming_first": 0}

    def tile(self, c, t):
        return c * TILES + t

    def addr(self, c, t, b=0):
        return self.tile(c, t) * BEATS + b

    def word(self, lanes):
        return lanes_to_int([int(x) for x in lanes], width=16)

    async def counter(self, d, name):
        return await self.csr[d].read(f"CNT_{name.upper()}")

    async def wait_counter(self, d, name, value, what):
        for _ in range(POLL_LIMIT):
            if await self.counter(d, name) >= value:
                return
            await ClockCycles(self.dut.clk, 2)
        raise AssertionError(f"device {d}: {what}: CNT_{name.upper()} did not reach {value}")

    async def program(self):
        n = self.n
        for g in range(n):
            await self.csr[g].configure(g)
            for k in range(1, n + 1):                      # device g holds chunk c at step k
                c = (g - k) % n
                for t in range(TILES):
                    if k < n:
                        assert await self.csr[g].program(
                            self.tile(c, t), src_addr=self.addr(c, t), length=BEATS,
                            dst_dev=(g + 1) % n, dst_addr=self.addr(c, t), tile=self.tile(c, t),
                            op=Kind.UPDATE) == 0
                    else:
                        assert await self.csr[g].program(self.tile(c, t), src_addr=0, length=0,
                                                         dst_dev=g, dst_addr=0, tile=0) == 0

    async def clear(self):
        for g in range(self.n):
            for a in range(self.n * TILES * BEATS):
                self.port[g].write(a, 0)
        for g in range(self.n):
            await self.port[g].req.wait()
        await ClockCycles(self.dut.clk, 20)

    async def local_write(self, d, c, t, partial, hop):
        """Device ``d``'s contribution to tile (c, t); returns once the memory took every beat."""
        before = await self.counter(d, "wr_beats_compute")
        for b in range(BEATS):
            self.port[d].write(self.addr(c, t, b), self.word(partial[d, c, t, b]),
                               op=MemOp.STORE if hop == 0 else MemOp.UPDATE,
                               tile=self.tile(c, t), tracked=True)
        await self.wait_counter(d, "wr_beats_compute", before + BEATS, "local write")

    async def chain(self, c, t, partial, local_first):
        """Reduce tile (c, t) along the ring with the given order at each hop 1..n-1."""
        n = self.n
        origin = (c + 1) % n
        dev = [(origin + h) % n for h in range(n)]
        comm_target = {}
        written = set()

        async def write(h):
            d = dev[h]
            await self.local_write(d, c, t, partial, h)
            written.add(h)
            if h > 0 and local_first[h]:
                got = await self.counter(d, "wr_beats_comm")
                assert got < comm_target[d], \
                    f"hop {h}: the incoming sum landed before the local partial"
                self.orders_seen["local_first"] += 1

        async def before_completing(j):
            """Before the event that lets hop j fire: write every following local-first hop."""
            h = j + 1
            while h < n and local_first[h]:
                if h not in written:
                    await write(h)
                h += 1

        for h in range(1, n):
            comm_target[dev[h]] = await self.counter(dev[h], "wr_beats_comm") + BEATS
        await before_completing(0)
        await write(0)
        for h in range(1, n):
            d = dev[h]
            await self.wait_counter(d, "wr_beats_comm", comm_target[d], f"incoming at hop {h}")
            if not local_first[h]:
                self.orders_seen["incoming_first"] += 1
                await before_completing(h)
                await write(h)

    async def arm(self):
        n = self.n
        for g in range(n):
            for k in range(1, n + 1):
                c = (g - k) % n
                for t in range(TILES):
                    assert await self.csr[g].arm(self.tile(c, t), BEATS if k == 1 else 2 * BEATS) == 0

    async def result(self):
        out = np.zeros((self.n, TILES, BEATS, self.lanes), dtype=np.uint32)
        for c in range(self.n):
            words = await self.port[c].read_many([self.addr(c, t, b) for t in range(TILES)
                                                  for b in range(BEATS)])
            for i, w in enumerate(words):
                out[c, i // BEATS, i % BEATS] = ref.split_lanes(w, 16, self.params.data_width)
        return out


def reference(partial, n):
    """Chunk c folded along the ring, in bf16: the origin stores its partial; at every later hop
    the zeroed slot receives the local partial, then the incoming sum."""
    out = np.zeros(partial.shape[1:], dtype=np.uint32)
    for c in range(n):
        origin = (c + 1) % n
        s = partial[origin, c]
        for h in range(1, n):
            d = (origin + h) % n
            s = ref.bf16_add(ref.bf16_add(np.zeros_like(s), partial[d, c]), s)
        out[c] = s
    return out


@cocotb.test(timeout_time=100, timeout_unit="ms")
async def bf16_reduce_scatter_is_order_independent(dut):
    tb = DetTB(dut)
    await start_clock_reset(dut)
    await ClockCycles(dut.clk, tb.params.tracker_entries + 4)
    n = tb.n
    await tb.program()
    vals = np.random.default_rng(16)
    # bf16 partials of similar magnitude and mixed signs (rounding happens at every add)
    exp = vals.integers(120, 136, (n, n, TILES, BEATS, tb.lanes))
    partial = ((vals.integers(0, 2, exp.shape) << 15) | (exp << 7)
               | vals.integers(0, 128, exp.shape)).astype(np.uint32)
    want = reference(partial, n)
    rounds = []
    for seed in range(1, ROUNDS + 1):
        rng = np.random.default_rng(seed)
        await tb.clear()
        await tb.arm()
        done = [await tb.counter(g, "notifications") for g in range(n)]
        chains = [(c, t) for c in range(n) for t in range(TILES)]
        for i in rng.permutation(len(chains)):
            c, t = chains[i]
            local_first = [False] + [bool(x) for x in rng.integers(0, 2, n - 1)]
            await tb.chain(c, t, partial, local_first)
        for g in range(n):
            await tb.wait_counter(g, "notifications", done[g] + TILES, "notifications")
        got = await tb.result()
        for g in range(n):
            assert await tb.csr[g].read("ERR") == 0, f"round {seed}: device {g}: error flags"
        bad = np.argwhere(got != want)
        assert len(bad) == 0, f"round {seed}: {len(bad)} lanes differ from the reference, " \
                              f"first at {bad[0].tolist()}"
        rounds.append(got)
        dut._log.info(f"round {seed}: reduced chunks equal the reference; orders so far "
                      f"{tb.orders_seen}")
    for r in rounds[1:]:
        assert np.array_equal(r, rounds[0]), "reduced chunks differ between rounds"
    assert tb.orders_seen["local_first"] > 0 and tb.orders_seen["incoming_first"] > 0, \
        f"both arrival orders must occur: {tb.orders_seen}"
