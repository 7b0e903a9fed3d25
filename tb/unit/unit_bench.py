"""cocotb bench of one T3Unit (the drop-in IP) with its link looped back by the bench.

Every port is driven by cocotbext-axi: ``AxiMaster`` on the compute port ``s_axi``,
``AxiLiteMaster`` on the registers, ``AxiRam`` as the memory on ``m_axi``, ``AxiStreamSink`` +
``AxiStreamMonitor`` on the outgoing link ``m_axis`` (the monitor checks ``tdest``/``tuser``
against every packet's header) and ``AxiStreamSource`` on the incoming ``s_axis``. The unit sends
tiles to itself (destination device = its own id), so one unit exercises the whole path: CSR
programming, tracked writes, fire, DMA command, DMA reads through the arbiter, link packets,
link receive, NMC updates, notifications. Random stalls on every channel; a Python memory model
is the scoreboard.
"""

import json
import os
import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiRam

from hw.params import Kind, MemOp, T3Params
from tb.common.bench import bench_env, random_pause, start_clock_reset
from tb.common.t3 import AxiCompute, AxisRx, AxisTx, CsrDriver, int_to_lanes, lanes_to_int

TIMEOUT_US = 5000


class UnitTB:
    def __init__(self, dut):
        self.dut = dut
        self.params = T3Params(**bench_env("T3_PARAMS", {}))
        p = self.params
        self.csr = CsrDriver(dut, "s_axil", dut.clk, dut.rst)
        self.compute = AxiCompute(dut, "s_axi_", dut.clk, dut.rst, p)
        self.tx = AxisTx(dut, "m_axis_", dut.clk, dut.rst, p)
        self.rx = AxisRx(dut, "s_axis_", dut.clk, dut.rst, p)
        # The unit's memory: cocotbext-axi's AxiRam on the AXI4 master port.
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi_"), dut.clk, dut.rst,
                          size=(1 << p.addr_width) * p.data_width // 8)
        self.tx.on_packet.append(self._loop)
        self.loop_enabled = True
        self.mem = {}                   # scoreboard: address -> int word
        self.lanes = p.data_width // 32

    def _loop(self, beats):
        if self.loop_enabled:
            self.rx.send_packet(beats)

    async def start(self):
        await start_clock_reset(self.dut)
        await ClockCycles(self.dut.clk, self.params.tracker_entries + 4)   # tracker sweep

    def set_stalls(self, seed, p):
        self.tx.set_pause_generator(random_pause(seed, p))
        self.rx.set_pause_generator(random_pause(seed + 1, p))
        self.compute.set_stalls(lambda k: random_pause(seed + 20 + k, p))
        for i, ch in enumerate((self.ram.write_if.aw_channel, self.ram.write_if.w_channel,
                                self.ram.write_if.b_channel, self.ram.read_if.ar_channel,
                                self.ram.read_if.r_channel)):
            ch.set_pause_generator(random_pause(seed + 4 + i, p))

    def add(self, a, b):
        return lanes_to_int([x + y for x, y in zip(int_to_lanes(a, self.lanes),
                                                    int_to_lanes(b, self.lanes))])

    def rand_word(self, rng):
        return lanes_to_int([rng.randrange(-1000, 1000) for _ in range(self.lanes)])

    async def wait_counter(self, name, value, limit=20000):
        for _ in range(limit // 20):
            if await self.csr.read(name) >= value:
                return
            await ClockCycles(self.dut.clk, 20)
        cnt = await self.csr.counters()
        status = self.csr.map["STATUS"].decode(await self.csr.read("STATUS"))
        err = self.csr.map["ERR"].decode(await self.csr.read("ERR"))
        raise AssertionError(f"{name} did not reach {value}: counters {cnt}, status {status}, "
                             f"errors {err}, compute calls pending {self.compute.pending()}, "
                             f"link tx/rx {self.tx.count}/{self.rx.count}")


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(stall=[0.0, 0.3])
async def tiles_loop_back_through_dma_and_nmc(dut, stall):
    """Tiles written as tracked stores fire, are sent as update packets to a second region that
    already holds data, and land there added lane-wise; the last tile of each destination tile
    raises a notification. Checked word for word against the Python scoreboard."""
    tb = UnitTB(dut)
    await tb.start()
    tb.set_stalls(3, stall)
    rng = random.Random(int(stall * 10) + 1)
    tiles, beats, dst_base = 12, 8, 1024
    await tb.csr.configure(dev_id=2)
    # Destination region: known initial values written untracked.
    for t in range(tiles):
        for b in range(beats):
            w = tb.rand_word(rng)
            tb.mem[dst_base + t * beats + b] = w
            tb.compute.write(dst_base + t * beats + b, w)
    for t in range(tiles):
        src_tile, dst_tile = t, 64 + t
        assert await tb.csr.program(src_tile, src_addr=t * beats, length=beats, dst_dev=2,
                                    dst_addr=dst_base + t * beats, tile=dst_tile,
                                    op=Kind.UPDATE) == 0
        assert await tb.csr.program(dst_tile, src_addr=0, length=0, dst_dev=2, dst_addr=0,
                                    tile=0) == 0          # notification only
        assert await tb.csr.arm(src_tile, beats) == 0
        assert await tb.csr.arm(dst_tile, beats) == 0
    # The producer: each tile's beats as tracked stores, tiles interleaved.
    order = [(t, b) for t in range(tiles) for b in range(beats)]
    rng.shuffle(order)
    order.sort(key=lambda tb_: tb_[1] // 2)      # roughly in order, interleaved across tiles
    for t, b in order:
        w = tb.rand_word(rng)
        tb.compute.write(t * beats + b, w, tile=t, tracked=True)
        dst = dst_base + t * beats + b
        tb.mem[dst] = tb.add(tb.mem[dst], w)
    await tb.wait_counter("CNT_NOTIFICATIONS", tiles)
    got = await tb.compute.read_many(sorted(tb.mem))
    want = [tb.mem[a] for a in sorted(tb.mem)]
    assert got == want, "destination region differs from the scoreboard"
    cnt = await tb.csr.counters()
    assert cnt["fires"] == 2 * tiles
    assert cnt["dma_commands"] == tiles
    assert cnt["link_tx_beats"] == tiles * (beats + 1)
    assert cnt["link_rx_beats"] == tiles * (beats + 1)
    assert cnt["rd_beats_comm"] == tiles * beats
    assert cnt["wr_beats_comm"] == tiles * beats
    assert cnt["updates_applied"] == tiles * beats
    assert cnt["wr_beats_compute"] == 2 * tiles * beats
    assert await tb.csr.read("ERR") == 0
    assert await tb.csr.field("DONE") == 1


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def bad_input_is_flagged_and_loses_nothing(dut):
    tb = UnitTB(dut)
    await tb.start()
    await tb.csr.configure(dev_id=1)
    err = tb.csr.map["ERR"]
    # Malformed command: SLVERR (2), ERR.bad_command, nothing installed.
    assert await tb.csr.program(3, src_addr=4090, length=16, dst_dev=1, dst_addr=0, tile=3) == 2
    assert err.decode(await tb.csr.read("ERR"))["bad_command"] == 1
    # Unmapped address: SLVERR.
    resp = await tb.csr.axil.write(0xFF0, b"\0\0\0\0")
    assert resp.resp == 2
    # A fire for an index with no command: ERR.no_command, no packet. (The command table is RAM:
    # it keeps its entries across resets, so software invalidates what it does not program.)
    assert await tb.csr.write("CMD_COMMIT", index=3, valid=0) == 0
    await tb.csr.arm(3, 1)
    tb.compute.write(10, 5, tile=3, tracked=True)
    # An update for an unarmed tile: ERR.unarmed.
    tb.compute.write(11, 5, tile=9, tracked=True)
    # A colliding arm (a second arm of a live tile).
    await tb.csr.arm(40, 4)
    await tb.csr.arm(40, 4)
    # A packet for another device: ERR.misroute, nothing written.
    hdr = tb.params.link_header_layout
    from tb.common.stream import pack
    tb.rx.send_nowait({"data": pack(hdr, {"dst_dev": 5, "src_dev": 0, "op": 0, "length": 1,
                                          "dst_addr": 12, "tile": 0}), "last": 0})
    tb.rx.send_nowait({"data": 77, "last": 1})
    tb.compute.write(12, 1234)
    await ClockCycles(dut.clk, 50)
    flags = err.decode(await tb.csr.read("ERR"))
    assert flags["no_command"] == 1 and flags["unarmed"] == 1
    assert flags["collision"] == 1 and flags["misroute"] == 1 and flags["bad_address"] == 1
    assert tb.tx.count == 0, "no packet may leave for a fire without a command"
    assert await tb.compute.read(12) == 1234
    # W1C: clearing all flags leaves none set.
    await tb.csr.axil.write(err.offset, (0xFFFFFFFF).to_bytes(4, "little"))
    assert await tb.csr.read("ERR") == 0


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def soft_reset_mid_traffic_then_a_clean_run(dut):
    """A soft reset in the middle of traffic: the unit recovers and a new run completes."""
    tb = UnitTB(dut)
    await tb.start()
    await tb.csr.configure(dev_id=0)
    beats = 8
    for t in range(4):
        await tb.csr.program(t, src_addr=t * beats, length=beats, dst_dev=0,
                             dst_addr=2048 + t * beats, tile=100 + t, op=Kind.STORE)
        await tb.csr.program(100 + t, src_addr=0, length=0, dst_dev=0, dst_addr=0, tile=0)
    for t in range(4):
        await tb.csr.arm(t, beats)
        await tb.csr.arm(100 + t, beats)
    for t in range(4):
        for b in range(beats):
            tb.compute.write(t * beats + b, 1000 + b, tile=t, tracked=True)
    # the outgoing link is stalled until after the reset: the packets in flight are inside the
    # unit (the bench's AXI-Stream sink keeps a partial frame across a reset of the DUT's
    # sender, which a real link's receiver would resynchronise from)
    tb.tx.set_pause_generator(iter(lambda: True, None))
    await ClockCycles(dut.clk, 12)
    tb.loop_enabled = False            # packets in flight are lost with the reset
    await tb.csr.write("CTRL", enable=1, dev_id=0, soft_reset=1)
    tb.rx.flush()
    await tb.compute.wait()
    await ClockCycles(dut.clk, tb.params.tracker_entries + 20)
    tb.loop_enabled = True
    tb.tx.clear_pause_generator()
    assert int(await tb.csr.field("STATUS", "tracker_pending")) == 0
    # New run on the same commands.
    await tb.csr.write("DONE", value=1)
    rng = random.Random(5)
    expect = {}
    for t in range(4):
        await tb.csr.arm(t, beats)
        await tb.csr.arm(100 + t, beats)
    for t in range(4):
        for b in range(beats):
            w = tb.rand_word(rng)
            expect[2048 + t * beats + b] = w
            tb.compute.write(t * beats + b, w, tile=t, tracked=True)
    await tb.wait_counter("CNT_NOTIFICATIONS", 4)
    got = await tb.compute.read_many(sorted(expect))
    assert got == [expect[a] for a in sorted(expect)]


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def remote_bursts_go_to_the_link(dut):
    """The paper's step 1 on the drop-in IP: AXI4 bursts with AWUSER ``remote`` leave on
    ``m_axis`` as one packet each (the monitor checks ``tdest``/``tuser`` against the header),
    without touching this device's memory; looped back, they land as tracked updates, fire the
    destination tile and add to the data already there."""
    tb = UnitTB(dut)
    await tb.start()
    await tb.csr.configure(dev_id=1)
    rng = random.Random(9)
    tiles, beats, base = 3, 8, 512
    for t in range(tiles):
        assert await tb.csr.program(40 + t, src_addr=0, length=0, dst_dev=1, dst_addr=0,
                                    tile=0) == 0              # notification only
        assert await tb.csr.arm(40 + t, beats) == 0
        for b in range(beats):
            w = tb.rand_word(rng)
            tb.mem[base + t * beats + b] = w
            tb.compute.write(base + t * beats + b, w)      # the destination's data
    await tb.compute.wait()
    before = await tb.csr.counters()
    for t in range(tiles):
        words = [tb.rand_word(rng) for _ in range(beats)]
        tb.compute.write_burst(base + t * beats, words, op=MemOp.UPDATE, tile=40 + t, remote=1)
        for b, w in enumerate(words):
            tb.mem[base + t * beats + b] = tb.add(tb.mem[base + t * beats + b], w)
    await tb.wait_counter("CNT_NOTIFICATIONS", before["notifications"] + tiles)
    got = await tb.compute.read_many(sorted(tb.mem))
    assert got == [tb.mem[a] for a in sorted(tb.mem)], "remote updates differ from the scoreboard"
    cnt = await tb.csr.counters()
    d = {k: cnt[k] - before[k] for k in cnt}
    assert d["link_tx_beats"] == d["link_rx_beats"] == tiles * (beats + 1)
    assert d["wr_beats_compute"] == 0, "a remote burst wrote this device's memory"
    assert d["updates_applied"] == d["wr_beats_comm"] == tiles * beats
    assert d["dma_commands"] == 0 and d["fires"] == tiles
    assert tb.tx.packets >= tiles
    assert await tb.csr.read("ERR") == 0


class Soak:
    """Waves of tiles through the loop-back path with a Python scoreboard of the destination.

    Each wave arms ``tiles`` source tiles (fire -> DMA update to the destination region) and
    their destination tiles (fire -> notification), writes every source beat as a tracked store
    with random data, and waits for the wave's notifications. Contributions accumulate in the
    destination region across waves, so a lost or duplicated packet or update shows up as a
    wrong sum at the end.
    """

    def __init__(self, tb, tiles=16, beats=8, dst_base=2048, seed=1):
        self.tb, self.tiles, self.beats, self.dst_base = tb, tiles, beats, dst_base
        self.rng = random.Random(seed)
        self.waves = 0

    async def setup(self):
        tb = self.tb
        for t in range(self.tiles):
            for b in range(self.beats):
                tb.mem[self.dst(t, b)] = 0
                tb.compute.write(self.dst(t, b), 0)
            assert await tb.csr.program(t, src_addr=t * self.beats, length=self.beats,
                                        dst_dev=0, dst_addr=self.dst(t, 0), tile=128 + t,
                                        op=Kind.UPDATE) == 0
            assert await tb.csr.program(128 + t, src_addr=0, length=0, dst_dev=0, dst_addr=0,
                                        tile=0) == 0
        await tb.compute.wait()
        self.notified = await tb.csr.read("CNT_NOTIFICATIONS")

    def dst(self, t, b):
        return self.dst_base + t * self.beats + b

    async def wave(self):
        tb, rng = self.tb, self.rng
        for t in range(self.tiles):
            assert await tb.csr.arm(t, self.beats) == 0
            assert await tb.csr.arm(128 + t, self.beats) == 0
        order = [(t, b) for t in range(self.tiles) for b in range(self.beats)]
        rng.shuffle(order)
        order.sort(key=lambda x: x[1])
        for t, b in order:
            w = tb.rand_word(rng)
            tb.compute.write(t * self.beats + b, w, tile=t, tracked=True)
            tb.mem[self.dst(t, b)] = tb.add(tb.mem[self.dst(t, b)], w)
        self.notified += self.tiles
        await tb.wait_counter("CNT_NOTIFICATIONS", self.notified, limit=200000)
        self.waves += 1

    async def check(self):
        tb = self.tb
        addrs = sorted(tb.mem)
        got = await tb.compute.read_many(addrs)
        bad = [a for a, g in zip(addrs, got) if g != tb.mem[a]]
        assert not bad, f"{len(bad)} destination beats wrong (lost or duplicated contributions)"
        assert await tb.csr.read("ERR") == 0


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def link_stalled_10000_cycles(dut):
    """The outgoing link stalls for 10,000 cycles under traffic: everything backs up, nothing
    hangs or is lost, and the run completes exactly once the link moves again."""
    tb = UnitTB(dut)
    await tb.start()
    await tb.csr.configure(dev_id=0)
    soak = Soak(tb, tiles=8, seed=7)
    await soak.setup()
    tb.tx.set_pause_generator(iter(lambda: True, None))
    task = cocotb.start_soon(soak.wave())
    await ClockCycles(dut.clk, 10000)
    assert not task.done(), "the wave cannot finish while the link is stalled"
    assert tb.tx.count == 0
    status = tb.csr.map["STATUS"].decode(await tb.csr.read("STATUS"))
    assert status["busy"] == 1
    tb.tx.clear_pause_generator()
    await task
    await soak.check()


@cocotb.test(timeout_time=60, timeout_unit="sec")
async def soak(dut):
    """Random soak: waves of tiles for ``T3_SOAK_CYCLES`` cycles with random stalls on the link
    (both directions), the compute requests and the compute responses."""
    cycles = bench_env("T3_SOAK_CYCLES", 0)
    if not cycles:
        return
    tb = UnitTB(dut)
    await tb.start()
    tb.set_stalls(11, 0.25)
    await tb.csr.configure(dev_id=0, policy=2, threshold=4, starvation=16)
    s = Soak(tb, tiles=16, seed=3)
    await s.setup()
    start = int(cocotb.utils.get_sim_time("ns")) // 10
    while int(cocotb.utils.get_sim_time("ns")) // 10 - start < cycles:
        await s.wave()
    await s.check()
    ran = int(cocotb.utils.get_sim_time("ns")) // 10 - start
    cnt = await tb.csr.counters()
    contributions = s.waves * s.tiles * s.beats
    out = os.environ.get("T3_SOAK_OUT")
    if out:
        with open(out, "w") as f:
            json.dump({"cycles": ran, "waves": s.waves, "contributions": contributions,
                       "updates_applied": cnt["updates_applied"], "fires": cnt["fires"],
                       "starvation_grants": cnt["starvation_grants"],
                       "stall_compute": cnt["stall_compute"], "stall_comm": cnt["stall_comm"]},
                      f, indent=2)
    dut._log.info(f"soak: {ran} cycles, {s.waves} waves, {contributions} contributions exact")


@cocotb.test(timeout_time=TIMEOUT_US * 10, timeout_unit="us")
async def chunk_larger_than_the_table(dut):
    """A chunk of ``tracker_entries + tracker_entries // 16`` tiles (272 on the default 256
    entries: T-NLG at TP 8) reduced as a ring device reduces a chunk: every output tile gets two
    contributions of ``B`` beats, tracked NMC updates from the compute port (the local GEMM) and
    an update packet on the link (the neighbour's DMA), threshold ``2 B``; its fire starts a
    notification (every command entry holds the same notification, so entries can be shared).
    Software arms the tiles in order through the CSR, running ahead; an arm waits while the
    table (fire queue) is full or its entry holds an earlier tile. The neighbour is a chunk
    behind: it starts once the GEMM has filled the table and an arm waits. The GEMM and the neighbour
    write a tile only once its arm is installed (``CNT_ARMS``), as the fallback requires. Checks:
    every tile notified once, memory = the lane-wise sum of both contributions, ERR clear,
    ``CNT_ARM_STALL`` > 0."""
    tb = UnitTB(dut)
    await tb.start()
    p = tb.params
    E = p.tracker_entries
    T, B = E + E // 16, 2
    await tb.csr.configure(dev_id=0)
    for i in range(E):
        assert await tb.csr.program(i, src_addr=0, length=0, dst_dev=0, dst_addr=0, tile=0) == 0
    tb.loop_enabled = False
    rng = random.Random(9)
    local = {t * B + b: tb.rand_word(rng) for t in range(T) for b in range(B)}
    remote = {a: tb.rand_word(rng) for a in local}
    for a in local:
        tb.mem[a] = tb.add(local[a], remote[a])
    start = int(cocotb.utils.get_sim_time("ns")) // 10
    armed = {"n": 0}

    async def software():
        for t in range(T):
            assert await tb.csr.arm(t, 2 * B) == 0

    async def poll_arms():
        while armed["n"] < T:
            armed["n"] = await tb.csr.read("CNT_ARMS")
            await ClockCycles(dut.clk, 8)

    async def gemm():
        for t in range(T):
            while armed["n"] < t + 1:
                await RisingEdge(dut.clk)
            for b in range(B):
                tb.compute.write(t * B + b, local[t * B + b], op=MemOp.UPDATE, tile=t,
                                 tracked=True)

    async def neighbour():
        from tb.common.stream import pack
        hdr = p.link_header_layout
        # a chunk behind, as on the ring: the neighbour's contributions start once the table is
        # full (the first arm is waiting), so the GEMM's tiles fill every entry first
        while await tb.csr.read("CNT_ARM_STALL") == 0:
            await ClockCycles(dut.clk, 16)
        for t in range(T):
            while armed["n"] < t + 1:
                await RisingEdge(dut.clk)
            tb.rx.send_nowait({"data": pack(hdr, {"dst_dev": 0, "src_dev": 1,
                                                   "op": Kind.UPDATE.value, "length": B,
                                                   "dst_addr": t * B, "tile": t}), "last": 0})
            for b in range(B):
                tb.rx.send_nowait({"data": remote[t * B + b], "last": int(b == B - 1)})
    tasks = [cocotb.start_soon(f()) for f in (software, poll_arms, gemm, neighbour)]
    for task in tasks:
        await task
    await tb.wait_counter("CNT_NOTIFICATIONS", T, limit=400000)
    cycles = int(cocotb.utils.get_sim_time("ns")) // 10 - start
    cnt = await tb.csr.counters()
    got = await tb.compute.read_many(sorted(tb.mem))
    bad = sum(g != tb.mem[a] for a, g in zip(sorted(tb.mem), got))
    assert bad == 0, f"{bad} of {len(got)} beats differ from the sum of the two contributions"
    assert cnt["notifications"] == T and cnt["fires"] == T and cnt["arms"] == T
    assert cnt["tracked_beats"] == 2 * B * T and cnt["updates_applied"] == 2 * B * T
    assert await tb.csr.read("ERR") == 0, tb.csr.map["ERR"].decode(await tb.csr.read("ERR"))
    assert cnt["arm_stall"] > 0, "the chunk must make an arm wait"
    out = os.environ.get("T3_CHUNK_OUT")
    if out:
        with open(out, "w") as f:
            json.dump({"tiles": T, "entries": E, "beats_per_contribution": B, "cycles": cycles,
                       "arm_stall": cnt["arm_stall"], "fires": cnt["fires"],
                       "beats_exact": len(got)}, f, indent=2)
    dut._log.info(f"{T} tiles on {E} entries: {cycles} cycles, CNT_ARM_STALL {cnt['arm_stall']}, "
                  f"{len(got)} beats exact")
