"""cocotb bench of T3Ring: a whole GEMM + ring reduce-scatter on N devices, in four modes.

numpy makes each device's partial GEMM output; at the end device ``c`` must hold chunk ``c``
equal to the sum of every device's partial of chunk ``c``, exactly (int32 lanes).

The GEMM *producer* of each device computes output tiles: per tile it reads ``reads`` input
beats (and waits for them: compute needs its operands), computes for ``compute`` cycles, then
writes the tile's ``beats`` beats (fire-and-forget, like GPU stores). Modes:

* ``sequential``: the GEMM stores every chunk locally; then the ring reduce-scatter runs in
  software: doorbells send a chunk's tiles to the next device's staging buffer, a notification
  per arrived tile (a length-0 command fired by the receiver's tracker) lets the receiving
  "reduction kernel" read both copies and write the sum through the compute port (compute-class
  read/read/write traffic, as a GPU kernel would), then ring the doorbell to pass it on.
* ``domino``: the same, with the output split into ``slices`` slices of tiles; the
  reduce-scatter of slice ``i`` runs while the GEMM computes slice ``i+1`` (both share the compute
  port and the memory).
* ``t3``: the fused dataflow: the GEMM writes its chunks in the staggered order, as tracked
  stores (the chunk it originates) or updates (the others); the tracker fires a tile when the
  local and the incoming contribution have both landed; the fired tile's pre-programmed DMA
  command sends it to the next device as updates (applied by its NMC). No compute-port traffic
  for the reduction. Arbiter: round-robin.
* ``t3-mca``: ``t3`` with the T3-MCA arbitration policy.

By default the chunk a device originates is stored locally and sent by the DMA (one local write
+ one local read per beat). With ``direct`` set in the workload (``T3_RING``), the T3 modes
follow the paper's step 1 instead: the GEMM sends that chunk straight to the neighbour as remote
updates, one packet per tile on the unit's ``remote`` port (:meth:`RingProtocol.remote_header`),
so those beats never touch the originating device's memory.
"""

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, Event, RisingEdge

from hw.params import ArbPolicy, MemOp, T3Params
from sim.xval.protocol import OUT_BASE, RingProtocol
from tb.common.bench import bench_env, start_clock_reset
from tb.common.stream import StreamSource, pack
from tb.common.t3 import ComputePort, CsrDriver, int_to_lanes, lanes_to_int

DEFAULT = dict(devices=4, tiles=4, beats=8, reads=4, compute=16, slices=2,
               mca_threshold=4, mca_starvation=32)


class RingTB:
    def __init__(self, dut, cfg):
        self.dut = dut
        self.cfg = cfg
        self.params = T3Params(**bench_env("T3_PARAMS", {}))
        self.n = cfg["devices"]
        self.T, self.B = cfg["tiles"], cfg["beats"]
        #: the protocol (address map, commands, arms, chunk order), shared with the CL model
        self.proto = RingProtocol(self.n, self.T, self.B, cfg["reads"])
        self.lanes = self.params.data_width // 32
        self.csr = [CsrDriver(dut, f"d{i}_s_axil", dut.clk, dut.rst) for i in range(self.n)]
        self.port = [ComputePort(dut, f"d{i}_", dut.clk, self.params) for i in range(self.n)]
        self.remote = [StreamSource(dut, f"d{i}_remote", dut.clk, self.params.link_layout)
                       for i in range(self.n)]
        self.direct = bool(cfg.get("direct", False))

    # -- addresses and ids (sim.xval.protocol) ----------------------------------------------
    def out_addr(self, c, t, b=0):
        return self.proto.out_addr(c, t, b)

    def stage_addr(self, c, t, b=0):
        return self.proto.stage_addr(c, t, b)

    def out_tile(self, c, t):
        return self.proto.out_tile(c, t)

    # -- data -------------------------------------------------------------------------------
    def make_partials(self, seed):
        rng = np.random.default_rng(seed)
        # partial[g, c, t, b, lane]
        return rng.integers(-2**20, 2**20, size=(self.n, self.n, self.T, self.B, self.lanes),
                            dtype=np.int64)

    def word(self, lanes):
        return lanes_to_int([int(x) for x in lanes])

    async def start(self):
        await start_clock_reset(self.dut)
        await ClockCycles(self.dut.clk, self.params.tracker_entries + 4)
        if hasattr(self.dut, "mem_ready"):      # memories with an init sequence (LiteDRAM)
            while not self.dut.mem_ready.value:
                await RisingEdge(self.dut.clk)

    async def clear_and_snapshot(self):
        """Zero the output regions (not measured) and snapshot the counters."""
        for g in range(self.n):
            for a in range(OUT_BASE, OUT_BASE + self.n * self.T * self.B):
                self.port[g].write(a, 0)
        for g in range(self.n):
            await self.port[g].req.wait()
        await ClockCycles(self.dut.clk, 20)
        return [await c.counters() for c in self.csr]

    # -- the GEMM producer -------------------------------------------------------------------
    async def gemm_tile(self, g, c, t, partial, *, op, tracked):
        port, cfg = self.port[g], self.cfg
        if cfg["reads"]:
            await port.read_many(self.proto.input_addrs(c, t))
        await ClockCycles(self.dut.clk, cfg["compute"])
        for b in range(self.B):
            port.write(self.out_addr(c, t, b), self.word(partial[g, c, t, b]), op=op,
                       tile=self.out_tile(c, t), tracked=tracked)

    async def remote_tile(self, g, c, t, partial):
        """Step 1 as in the paper: the tile's partial goes to the neighbour as remote updates
        (one packet on ``d<g>_remote``), not into this device's memory."""
        if self.cfg["reads"]:
            await self.port[g].read_many(self.proto.input_addrs(c, t))
        await ClockCycles(self.dut.clk, self.cfg["compute"])
        hdr = self.proto.remote_header(g, c, t)
        self.remote[g].send_nowait({"data": pack(self.params.link_header_layout, hdr), "last": 0})
        for b in range(self.B):
            self.remote[g].send_nowait({"data": self.word(partial[g, c, t, b]),
                                        "last": int(b == self.B - 1)})

    # -- software reduce-scatter (sequential and Domino) -------------------------------------
    async def program(self, fused):
        """Every device's DMA command table (:meth:`RingProtocol.commands`)."""
        for g in range(self.n):
            for index, cmd in self.proto.commands(g, fused):
                await self.csr[g].program(index, **cmd)

    async def arm(self, fused, direct=False):
        """Every device's tracker arms (:meth:`RingProtocol.arms`)."""
        for g in range(self.n):
            for tile, threshold in self.proto.arms(g, fused, direct):
                await self.csr[g].arm(tile, threshold)

    async def wait_notifications(self, g, count):
        while await self.csr[g].read("CNT_NOTIFICATIONS") - self.base[g]["notifications"] < count:
            await ClockCycles(self.dut.clk, 4)

    async def reduce_tile(self, g, c, t):
        """The reduction kernel: out += staging, through the compute port."""
        port = self.port[g]
        addrs = [self.out_addr(c, t, b) for b in range(self.B)]
        saddrs = [self.stage_addr(c, t, b) for b in range(self.B)]
        words = await port.read_many([a for pair in zip(addrs, saddrs) for a in pair])
        for b in range(self.B):
            x, y = int_to_lanes(words[2 * b], self.lanes), int_to_lanes(words[2 * b + 1], self.lanes)
            port.write(addrs[b], lanes_to_int([u + v for u, v in zip(x, y)]))
        await port.req.wait()

    async def software_rs(self, g, tiles, arrivals_before):
        """Ring reduce-scatter of ``tiles`` (a list of tile indices) on device ``g``."""
        n, csr, P = self.n, self.csr[g], self.proto
        for t in tiles:                                          # step 1: send chunk g-1
            await csr.doorbell(self.out_tile(P.first_chunk(g), t))
        arrived = arrivals_before
        for k in range(1, n):
            c = P.staging_chunk(g, k)                           # the chunk arriving at step k
            for t in tiles:
                arrived += 1
                await self.wait_notifications(g, arrived)
                await self.reduce_tile(g, c, t)
                if k < n - 1:
                    await csr.doorbell(self.out_tile(c, t))
        return arrived

    # -- modes -------------------------------------------------------------------------------
    async def run_sequential(self, partial, slices=1):
        n = self.n
        await self.program(fused=False)
        per = self.proto.slices(slices)
        self.base = await self.clear_and_snapshot()
        # every device arms the staging tiles it will receive (each ``(chunk, tile)`` arrives
        # once) before any device rings a doorbell: the receiver posts its buffers before the
        # collective starts, as the t3 mode arms its tiles before the start. Arming a staging
        # tile from inside the reduce-scatter would race the sender: a tile that lands before
        # its arm is counted as unarmed and never notifies (seen with Domino on DRAM timing).
        await self.arm(fused=False)
        start = self.now()

        async def device(g):
            arrived = 0
            rs = None
            for s, tiles in enumerate(per):
                for c in range(n):
                    for t in tiles:
                        await self.gemm_tile(g, c, t, partial, op=MemOp.STORE, tracked=False)
                await self.port[g].req.wait()
                if rs is not None:
                    arrived = await rs
                rs = cocotb.start_soon(self.software_rs(g, tiles, arrived))
            await rs
        tasks = [cocotb.start_soon(device(g)) for g in range(n)]
        for task in tasks:
            await task
        return self.now() - start

    async def run_t3(self, partial):
        n, T = self.n, self.T
        await self.program(fused=True)
        self.base = await self.clear_and_snapshot()
        await self.arm(fused=True, direct=self.direct)
        start = self.now()

        async def device(g):
            for k in range(1, n + 1):                       # staggered chunk order
                c = self.proto.t3_chunk(g, k)
                for t in range(T):
                    if k == 1 and self.direct:
                        await self.remote_tile(g, c, t, partial)
                        continue
                    await self.gemm_tile(g, c, t, partial, op=MemOp.STORE if k == 1 else MemOp.UPDATE,
                                         tracked=True)
            await self.wait_notifications(g, T)
        tasks = [cocotb.start_soon(device(g)) for g in range(n)]
        for task in tasks:
            await task
        return self.now() - start

    def now(self):
        return int(cocotb.utils.get_sim_time("ns")) // 10

    async def check(self, partial):
        want = partial.sum(axis=0)                          # [c, t, b, lane]
        for c in range(self.n):
            addrs = [self.out_addr(c, t, b) for t in range(self.T) for b in range(self.B)]
            got = await self.port[c].read_many(addrs)
            got = np.array([int_to_lanes(w, self.lanes) for w in got]).reshape(self.T, self.B,
                                                                               self.lanes)
            assert np.array_equal(got, want[c]), f"device {c}: chunk {c} is not the exact sum"

    async def deltas(self):
        out = []
        for g in range(self.n):
            now = await self.csr[g].counters()
            out.append({k: now[k] - self.base[g][k] for k in now})
        return out


MODES = ("sequential", "domino", "t3", "t3-mca")


@cocotb.test(timeout_time=200, timeout_unit="ms")
@cocotb.parametrize(mode=list(MODES))
async def gemm_reduce_scatter(dut, mode):
    cfg = dict(DEFAULT, **bench_env("T3_RING", {}))
    tb = RingTB(dut, cfg)
    await tb.start()
    policy = ArbPolicy.T3_MCA if mode == "t3-mca" else ArbPolicy.ROUND_ROBIN
    for g in range(tb.n):
        await tb.csr[g].configure(g, policy=int(policy.value), threshold=cfg["mca_threshold"],
                                  starvation=cfg["mca_starvation"])
    partial = tb.make_partials(seed=MODES.index(mode) + 1)
    if mode == "sequential":
        cycles = await tb.run_sequential(partial)
    elif mode == "domino":
        cycles = await tb.run_sequential(partial, slices=cfg["slices"])
    else:
        cycles = await tb.run_t3(partial)
    delta = await tb.deltas()
    await tb.check(partial)
    for g in range(tb.n):
        assert await tb.csr[g].read("ERR") == 0, f"device {g}: error flags set"
    total = {k: sum(d[k] for d in delta) for k in delta[0]}
    result = {
        "mode": mode, "cycles": cycles,
        "mem_reads": total["rd_beats_compute"] + total["rd_beats_comm"],
        "mem_writes": total["wr_beats_compute"] + total["wr_beats_comm"],
        "link_beats": total["link_tx_beats"], "counters": total, "config": cfg,
    }
    out = os.environ.get("T3_RING_OUT")
    if out:
        path = f"{out}.{mode}.json"
        with open(path, "w") as f:
            json.dump(result, f, indent=2)
    dut._log.info(f"{mode}: {cycles} cycles, {result}")
