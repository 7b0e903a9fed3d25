"""cocotb bench of the tracker: random arm/track traffic with random stalls on every stream,
scored against the Python reference model ``sim.ref.tracker.TrackerRef``."""

import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from hw.params import Kind, ReqClass, T3Params
from sim.ref.tracker import TrackerRef
from tb.common.bench import bench_env, random_pause, start_clock_reset
from tb.common.coverage import Coverage
from tb.common.stream import StreamSink, StreamSource

TIMEOUT_US = 2000

_ENTRIES = T3Params(**bench_env("T3_PARAMS", {})).tracker_entries
COV = Coverage(f"tracker_e{_ENTRIES}", {
    "arm.armed": 50, "arm.collision": 5, "arm.bad_arm_zero_threshold": 5, "arm.waiting": 5,
    "arm.installed_by_fire": 5,
    "track.hit": 50, "track.hit_multi_beat": 10, "track.fire": 50, "track.fire_exact": 20,
    "track.fire_overshoot": 5, "track.unarmed": 5, "track.unarmed_entry_holds_other_tile": 3,
    "fire.backpressured": 5, "track.backpressured": 5,
})


class TrackerTB:
    """Driver (arm, track), sink (fire), error-pulse monitor and scoreboard."""

    def __init__(self, dut):
        self.dut = dut
        self.params = T3Params(**bench_env("T3_PARAMS", {}))
        p = self.params
        self.arm = StreamSource(dut, "arm", dut.clk, p.arm_layout)
        self.track = StreamSource(dut, "track", dut.clk, p.track_layout)
        self.fire = StreamSink(dut, "fire", dut.clk, p.fire_layout)
        self.ref = TrackerRef(entries=p.tracker_entries)
        self.arm.on_transfer.append(self._on_arm)
        self.track.on_transfer.append(self._on_track)
        self.errors = dict(unarmed=0, collision=0, overshoot=0, bad_arm=0)
        self.last_arm = None
        self._unblocked = None
        self.waiting_cycles = 0         # cycles arm_waiting was high (the fallback's cost)

    # -- coverage sampling (no checks) ------------------------------------------------------
    def _on_arm(self, it):
        ev = self.last_arm = self.ref.arm(it["tile"], it["threshold"])
        COV.hit({"armed": "arm.armed", "collision": "arm.collision", "waiting": "arm.waiting",
                 "bad_arm": "arm.bad_arm_zero_threshold"}[ev.kind])

    def _on_track(self, it):
        entry = self.ref.table.get(it["tile"] % self.ref.entries)
        ev = self.ref.track(it["tile"], it["beats"])
        if ev.installed is not None:
            COV.hit("arm.installed_by_fire")
        if ev.kind == "unarmed":
            COV.hit("track.unarmed")
            if entry is not None:
                COV.hit("track.unarmed_entry_holds_other_tile")
        elif ev.fired is not None:
            COV.hit("track.fire")
            COV.hit("track.fire_overshoot" if ev.overshoot else "track.fire_exact")
        else:
            COV.hit("track.hit")
            if it["beats"] > 1:
                COV.hit("track.hit_multi_beat")

    async def _monitor_errors(self):
        sigs = {k: getattr(self.dut, f"err_{k}") for k in self.errors}
        while True:
            await RisingEdge(self.dut.clk)
            if self.dut.fire__valid.value and not self.dut.fire__ready.value:
                COV.hit("fire.backpressured")
            if self.dut.track__valid.value and not self.dut.track__ready.value:
                COV.hit("track.backpressured")
            if self.dut.arm_waiting.value:
                self.waiting_cycles += 1
            for k, s in sigs.items():
                if s.value:
                    self.errors[k] += 1

    async def start(self):
        await start_clock_reset(self.dut)
        cocotb.start_soon(self._monitor_errors())
        while not self.dut.ready_out.value:
            await RisingEdge(self.dut.clk)

    def set_stalls(self, seed, p_arm, p_track, p_fire):
        self.arm.set_pause_generator(random_pause(seed, p_arm))
        self.track.set_pause_generator(random_pause(seed + 1, p_track))
        self.fire.set_pause_generator(random_pause(seed + 2, p_fire))

    async def arm_and_unblock(self, tile, threshold):
        """Arm ``tile`` and wait until the arm stream is idle (:meth:`settle_arms`)."""
        self.arm.send_nowait({"tile": tile, "threshold": threshold})
        await self.settle_arms()

    async def settle_arms(self):
        """Wait until every queued arm is accepted. Whenever an arm is parked and no track is
        left to send, send the beats the entry's tile still needs (as its producer would), so
        the parked arm is installed and the arms behind it move."""
        while not self.arm.idle():
            await RisingEdge(self.dut.clk)
            waits = self.ref.counters["arm_waits"]
            if self.ref.parked is not None and self.track.idle() and waits != self._unblocked:
                self._unblocked = waits
                held, count, thr = self.ref.table[self.ref.parked[0] % self.ref.entries]
                self.track.send_nowait(track_item(held, thr - count))

    async def drain(self):
        await self.settle_arms()
        await self.track.wait()
        await ClockCycles(self.dut.clk, 20)
        COV.write()

    def check(self):
        fires = [f["tile"] for f in self.fire.queue]
        assert fires == self.ref.fires, f"fires {fires} != reference {self.ref.fires}"
        assert self.errors == self.ref.errors, f"errors {self.errors} != reference {self.ref.errors}"
        assert int(self.dut.pending.value) == self.ref.pending
        for k, v in self.ref.counters.items():
            assert int(getattr(self.dut, k).value) == v, f"counter {k}"


def track_item(tile, beats=1):
    return {"tile": tile, "kind": Kind.UPDATE, "source": ReqClass.COMM, "beats": beats}


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(stalls=[(0.0, 0.0, 0.0), (0.3, 0.3, 0.5)])
async def random_traffic(dut, stalls):
    """Random arms (incl. collisions and zero thresholds) and tracks (incl. unarmed tiles)."""
    tb = TrackerTB(dut)
    await tb.start()
    tb.set_stalls(7, *stalls)
    rng = random.Random(11)
    n_tiles = 3 * tb.params.tracker_entries // 2
    for _ in range(300):
        # A tile with its expected beats, and noise: colliding arms, zero thresholds, unarmed
        # tracks and overshooting multi-beat tracks all happen at random. Arms run at most a few
        # tracks ahead, as a GEMM arms the tiles it is about to write.
        while len(tb.track.queue) > 6:
            await RisingEdge(dut.clk)
        tile, thr = rng.randrange(n_tiles), rng.choice([0, 1, 2, 4, 7])
        await tb.arm_and_unblock(tile, thr)
        tracks, beats = [], 0
        while beats < thr:
            b = rng.choice([1, 1, 2, 3])
            tracks.append(track_item(tile, b))
            beats += b
        if rng.random() < 0.2:
            tracks.insert(rng.randrange(len(tracks) + 1), track_item(rng.randrange(n_tiles)))
        if thr and rng.random() < 0.1:
            # The tile's entry with another tag, while the tile holds it: an arm that waits
            # until the tile fires, and a track that must not count against the tile (it
            # counts on the alias if it comes after the tile fired).
            alias = (tile + tb.params.tracker_entries) % (1 << tb.params.tile_width)
            tb.arm.send_nowait({"tile": alias, "threshold": 1})
            tracks.insert(rng.randrange(len(tracks)), track_item(alias))
        if thr and rng.random() < 0.05:
            tb.arm.send_nowait({"tile": tile, "threshold": 1})     # second arm of a live tile
        for item in tracks:
            tb.track.send_nowait(item)
    await tb.drain()
    tb.check()
    assert len(tb.ref.fires) > 60, "traffic must exercise fires"


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def sustained_one_per_cycle(dut):
    """Back-to-back requests to one entry and to many entries: one accepted per cycle."""
    tb = TrackerTB(dut)
    await tb.start()
    for t in range(8):
        tb.arm.send_nowait({"tile": t, "threshold": 64})
    await tb.arm.wait()
    start = tb.track.count
    for i in range(8 * 64):   # tiles 0-3: 64 hits in a row each; tiles 4-7: interleaved
        tb.track.send_nowait(track_item(i // 64 if i < 256 else 4 + i % 4))
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    cycles = 0
    while not tb.track.idle():
        await RisingEdge(dut.clk)
        cycles += 1
    await tb.drain()
    tb.check()
    assert tb.track.count - start == 8 * 64
    assert cycles <= 8 * 64 + 2, f"{8 * 64} requests took {cycles} cycles"
    assert [f["tile"] for f in tb.fire.queue] == list(range(8))


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def fire_stall_never_blocks_track(dut):
    """A stalled fire consumer never back-pressures track (which would stall the memory port);
    once ``tracker_entries`` tiles are outstanding, arm waits instead. Nothing is lost."""
    tb = TrackerTB(dut)
    await tb.start()
    entries = tb.params.tracker_entries
    tb.fire.set_pause_generator(iter(lambda: True, None))       # stalled
    tiles = list(range(entries))
    for t in tiles:
        tb.arm.send_nowait({"tile": t, "threshold": 1})
    await tb.arm.wait()
    for t in tiles:
        tb.track.send_nowait(track_item(t))
    await RisingEdge(dut.clk)
    cycles = 0
    while not tb.track.idle():
        await RisingEdge(dut.clk)
        cycles += 1
    assert cycles <= entries + 2, f"{entries} tracks took {cycles} cycles with fire stalled"
    tb.arm.send_nowait({"tile": entries + 1, "threshold": 1})   # same entry as tile 1: fired
    await ClockCycles(dut.clk, 100)
    assert not tb.arm.idle(), "arm must wait while every fire-queue slot is taken"
    tb.fire.clear_pause_generator()
    await tb.arm.wait()
    tb.track.send_nowait(track_item(entries + 1))
    await tb.drain()
    for _ in range(2 * entries):                   # the held fires drain one per cycle
        if len(tb.fire.queue) == entries + 1:
            break
        await RisingEdge(dut.clk)
    tb.check()
    assert [f["tile"] for f in tb.fire.queue] == tiles + [entries + 1]


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(stalls=[(0.0, 0.0, 0.0), (0.3, 0.3, 0.5)])
async def chunk_larger_than_the_table(dut, stalls):
    """A chunk of ``tracker_entries + tracker_entries // 16`` tiles (272 on 256 entries: T-NLG
    at TP 8; 18 on 16) in two interleaved chunks, as a ring device's tracker sees them: tile ids
    ``c * T + t`` (``T`` tiles per chunk, so the chunks' ids wrap the table at different
    points), armed in production order by software that runs ahead of the GEMM, and a producer
    that writes each tile (``BEATS`` one-beat writes, chunks interleaved tile by tile) only after
    the tile's arm was installed (``arms``). Every arm whose entry still holds an earlier tile
    waits (parked) instead of being refused: every tile fires once, in production order, with
    exact counts, and ``arm_stall`` counts the wait."""
    tb = TrackerTB(dut)
    await tb.start()
    tb.set_stalls(5, *stalls)
    E = tb.params.tracker_entries
    T, BEATS = E + E // 16, 4
    order = [c * T + t for t in range(T) for c in range(2)]      # production order
    start = cocotb.utils.get_sim_time("ns")

    async def software():
        for tile in order:
            tb.arm.send_nowait({"tile": tile, "threshold": BEATS})
            await tb.arm.wait()
    arms = cocotb.start_soon(software())
    for i, tile in enumerate(order):
        while int(dut.arms.value) < i + 1:         # the tile's arm is installed
            await RisingEdge(dut.clk)
        for _ in range(BEATS):
            tb.track.send_nowait(track_item(tile))
    await arms
    await tb.drain()
    cycles = int(cocotb.utils.get_sim_time("ns") - start) // 10
    tb.check()
    assert [f["tile"] for f in tb.fire.queue] == order, "tiles must fire once each, in order"
    assert tb.ref.counters["tracked"] == BEATS * len(order)
    assert tb.ref.errors == dict(unarmed=0, collision=0, overshoot=0, bad_arm=0)
    waits = int(dut.arm_waits.value)
    stall = int(dut.arm_stall.value)
    assert waits >= 1, "the chunk must exercise the wait"
    assert stall >= tb.waiting_cycles, "arm_stall must count every parked cycle"
    dut._log.info(f"{len(order)} tiles ({T} per chunk) on {E} entries: {cycles} cycles, "
                  f"{waits} arms parked, arm_stall {stall} cycles ({tb.waiting_cycles} parked), "
                  f"{tb.ref.counters['tracked']} beats exact")
