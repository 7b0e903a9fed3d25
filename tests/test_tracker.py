"""Amaranth-simulator unit tests of the tracker's corner cases, scored against sim.ref.tracker."""

import random

import pytest

from hw.params import Kind, ReqClass, T3Params
from hw.tracker import Tracker
from sim.ref.tracker import TrackerRef
from tests.simutil import run_sim, stream_get, stream_put

P = T3Params(tracker_entries=16, tile_width=8, count_width=8)


def track_payload(tile, beats=1):
    return {"tile": tile, "kind": Kind.UPDATE, "source": ReqClass.COMPUTE, "beats": beats}


async def wait_ready(ctx, dut):
    await ctx.tick().until(dut.ready_out)


class EventLog:
    """Collects the tracker's one-cycle error pulses and fire transfers every cycle."""

    def __init__(self, dut):
        self.dut = dut
        self.errors = dict(unarmed=0, collision=0, overshoot=0, bad_arm=0)
        self.fires = []

    def process(self, *, fire_ready=lambda: 1):
        dut = self.dut

        async def proc(ctx):
            async for clk_edge, rst, fv, ft, fr, *errs in ctx.tick().sample(
                    dut.fire.valid, dut.fire.payload.tile, dut.fire.ready,
                    dut.err_unarmed, dut.err_collision, dut.err_overshoot, dut.err_bad_arm):
                if fv and fr:
                    self.fires.append(ft)
                for key, val in zip(self.errors, errs):
                    self.errors[key] += val
                ctx.set(dut.fire.ready, fire_ready())
        return proc


def test_bad_parameters_are_rejected():
    with pytest.raises(TypeError, match="params"):
        Tracker(params=16)
    with pytest.raises(ValueError, match="fire_depth"):
        Tracker(P, fire_depth=1)
    with pytest.raises(ValueError, match="fire_depth"):
        Tracker(P, fire_depth="4")
    with pytest.raises(ValueError, match="tracker_entries"):
        T3Params(tracker_entries=100)
    with pytest.raises(ValueError, match="tracker_entries"):
        T3Params(tracker_entries=512, tile_width=8)


def test_reset_sweep_then_ready():
    dut = Tracker(P)
    seen = {}

    async def tb(ctx):
        ctx.set(dut.arm.valid, 1)
        cycles = 0
        while not ctx.get(dut.arm.ready):
            await ctx.tick()
            cycles += 1
        seen["cycles"] = cycles
        ctx.set(dut.arm.valid, 0)
    run_sim(dut, tb, name="tracker_reset")
    # One cycle per entry cleared, then ready.
    assert seen["cycles"] == P.tracker_entries


@pytest.mark.parametrize("beats", [1, 3])
def test_fires_once_after_exactly_threshold_back_to_back(beats):
    """Back-to-back hits on one entry every cycle: nothing lost, fire exactly at the threshold."""
    dut = Tracker(P)
    log = EventLog(dut)
    threshold = 12 * beats
    stats = {}

    async def tb(ctx):
        await wait_ready(ctx, dut)
        await stream_put(ctx, dut.arm, {"tile": 5, "threshold": threshold})
        # 12 requests in 12 consecutive cycles; fire must not appear before the last one.
        ctx.set(dut.track.valid, 1)
        ctx.set(dut.track.payload, track_payload(5, beats))
        accepted = 0
        cycles = 0
        while accepted < 12:
            _, _, rdy = await ctx.tick().sample(dut.track.ready)
            cycles += 1
            accepted += rdy
            if accepted < 12:
                assert log.fires == [], f"fired after {accepted * beats} of {threshold} beats"
        ctx.set(dut.track.valid, 0)
        stats["cycles"] = cycles
        await ctx.tick().repeat(4)
        stats["tracked"] = ctx.get(dut.tracked)
        stats["pending"] = ctx.get(dut.pending)
    run_sim(dut, tb, processes=[log.process()], name="tracker_b2b")
    assert stats["cycles"] == 12, "tracker must accept one request per cycle"
    assert log.fires == [5]
    assert stats["tracked"] == threshold
    assert stats["pending"] == 0
    assert log.errors == dict(unarmed=0, collision=0, overshoot=0, bad_arm=0)


def test_unarmed_collision_overshoot_bad_arm():
    dut = Tracker(P)
    log = EventLog(dut)
    out = {}

    async def tb(ctx):
        await wait_ready(ctx, dut)
        await stream_put(ctx, dut.track, track_payload(3))                # unarmed
        await stream_put(ctx, dut.arm, {"tile": 3, "threshold": 4})
        await stream_put(ctx, dut.arm, {"tile": 3, "threshold": 2})       # collision: live tile
        await stream_put(ctx, dut.arm, {"tile": 4, "threshold": 0})       # bad arm
        await stream_put(ctx, dut.track, track_payload(3 + 16))           # other tag: unarmed
        await stream_put(ctx, dut.track, track_payload(3, 3))
        await stream_put(ctx, dut.track, track_payload(3, 3))             # 6 > 4: overshoot
        await stream_put(ctx, dut.track, track_payload(3))                # fired: unarmed again
        await ctx.tick().repeat(5)
        out["unarmed"] = ctx.get(dut.unarmed)
        out["arms"] = ctx.get(dut.arms)
    run_sim(dut, tb, processes=[log.process()], name="tracker_errors")
    assert log.fires == [3], "old tile keeps counting after a refused arm and fires once"
    assert log.errors == dict(unarmed=3, collision=1, overshoot=1, bad_arm=1)
    assert out == {"unarmed": 3, "arms": 1}


def test_arm_of_a_busy_entry_waits_until_its_tile_fires():
    """The table-full fallback: an arm whose entry holds another tile is parked (arm.ready low
    for the arms behind it) and installed by the track that completes the entry's tile."""
    dut = Tracker(P)
    log = EventLog(dut)
    out = {}

    async def tb(ctx):
        await wait_ready(ctx, dut)
        await stream_put(ctx, dut.arm, {"tile": 3, "threshold": 4})
        await stream_put(ctx, dut.arm, {"tile": 3 + 16, "threshold": 2})  # entry busy: parked
        await ctx.tick().repeat(4)
        out["waiting"] = ctx.get(dut.arm_waiting)
        ctx.set(dut.arm.payload, {"tile": 5, "threshold": 1})
        ctx.set(dut.arm.valid, 1)                                         # waits behind it
        await stream_put(ctx, dut.track, track_payload(3 + 16))           # not installed yet
        await stream_put(ctx, dut.track, track_payload(3, 3))
        await ctx.tick().repeat(6)
        out["blocked"] = not ctx.get(dut.arm.ready)
        out["stall"] = ctx.get(dut.arm_stall)
        await stream_put(ctx, dut.track, track_payload(3, 1))             # 3 fires, 19 installed
        await ctx.tick().until(dut.arm.ready)
        ctx.set(dut.arm.valid, 0)
        await stream_put(ctx, dut.track, track_payload(3 + 16, 2))        # 19 fires
        await stream_put(ctx, dut.track, track_payload(5))
        await ctx.tick().repeat(5)
        out.update(arms=ctx.get(dut.arms), pending=ctx.get(dut.pending),
                   waits=ctx.get(dut.arm_waits), waiting_after=ctx.get(dut.arm_waiting))
    run_sim(dut, tb, processes=[log.process()], name="tracker_arm_wait")
    assert log.fires == [3, 19, 5]
    assert log.errors == dict(unarmed=1, collision=0, overshoot=0, bad_arm=0)
    assert out["waiting"] == 1 and out["blocked"] and out["stall"] >= 10
    assert out["arms"] == 3 and out["pending"] == 0 and out["waits"] == 1
    assert out["waiting_after"] == 0


def test_stalled_fire_consumer_never_blocks_track():
    """Fire stalled: every track is accepted at once (the memory port never waits for the fire
    consumer); arms beyond ``fire_depth`` outstanding tiles wait; nothing is lost."""
    dut = Tracker(P, fire_depth=8)
    stalled = {"on": True}
    log = EventLog(dut)
    res = {}

    async def tb(ctx):
        await wait_ready(ctx, dut)
        for t in range(8):
            await stream_put(ctx, dut.arm, {"tile": t, "threshold": 1})
        ctx.set(dut.track.valid, 1)
        refused = 0
        for t in range(8):
            ctx.set(dut.track.payload, track_payload(t))
            while True:
                _, _, rdy = await ctx.tick().sample(dut.track.ready)
                if rdy:
                    break
                refused += 1
        ctx.set(dut.track.valid, 0)
        res["track_refused"] = refused
        # Eight tiles fired and held: a ninth arm must wait for the consumer.
        ctx.set(dut.arm.payload, {"tile": 9, "threshold": 1})
        ctx.set(dut.arm.valid, 1)
        waited = 0
        while True:
            _, _, rdy = await ctx.tick().sample(dut.arm.ready)
            if rdy:
                break
            waited += 1
            if waited == 30:
                stalled["on"] = False
        ctx.set(dut.arm.valid, 0)
        res["arm_waited"] = waited
        await stream_put(ctx, dut.track, track_payload(9))
        await ctx.tick().repeat(20)
    run_sim(dut, tb, processes=[log.process(fire_ready=lambda: 0 if stalled["on"] else 1)],
            name="tracker_fire_stall")
    assert res["track_refused"] == 0, "track must not wait for the fire consumer"
    assert res["arm_waited"] >= 30, "arm must wait while fire_depth tiles are outstanding"
    assert log.fires == list(range(8)) + [9]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_traffic_against_reference(seed):
    rng = random.Random(seed)
    dut = Tracker(P)
    ref = TrackerRef(entries=P.tracker_entries)
    log = EventLog(dut)
    accepted = []      # ("arm"/"track", args) in the order the RTL accepted them
    arms_done = []

    async def arm_driver(ctx):
        await wait_ready(ctx, dut)
        for _ in range(60):
            for _ in range(rng.randint(0, 6)):
                await ctx.tick()
            tile, thr = rng.randrange(40), rng.choice([0, 1, 2, 3, 5, 8])
            ctx.set(dut.arm.payload, {"tile": tile, "threshold": thr})
            ctx.set(dut.arm.valid, 1)
            await ctx.tick().until(dut.arm.ready)
            accepted.append(("arm", tile, thr))
            ctx.set(dut.arm.valid, 0)
        arms_done.append(True)

    async def track_driver(ctx):
        await wait_ready(ctx, dut)
        for _ in range(400):
            if rng.random() < 0.3:
                await ctx.tick().repeat(rng.randint(1, 3))
            tile, beats = rng.randrange(40), rng.choice([1, 1, 1, 2, 3])
            ctx.set(dut.track.payload, track_payload(tile, beats))
            ctx.set(dut.track.valid, 1)
            await ctx.tick().until(dut.track.ready)
            accepted.append(("track", tile, beats))
            ctx.set(dut.track.valid, 0)
        # An arm parked behind a tile that the random tracks never complete: complete every
        # tile (8 beats >= any threshold) until the arm driver is through.
        while not arms_done:
            for tile in range(40):
                ctx.set(dut.track.payload, track_payload(tile, 8))
                ctx.set(dut.track.valid, 1)
                await ctx.tick().until(dut.track.ready)
                accepted.append(("track", tile, 8))
                ctx.set(dut.track.valid, 0)
        await ctx.tick().repeat(30)

    run_sim(dut, arm_driver, track_driver,
            processes=[log.process(fire_ready=lambda: rng.random() < 0.6)],
            name=f"tracker_random_{seed}")
    # Both drivers are testbenches: transfers accepted on the same edge are appended in an
    # arbitrary order, but arm has priority, so an arm and a track never complete together.
    for op, tile, val in accepted:
        (ref.arm if op == "arm" else ref.track)(tile, val)
    assert log.fires == ref.fires
    assert log.errors == ref.errors
    assert len(ref.fires) > 10, "traffic too sparse to exercise fires"
    assert ref.counters["arm_waits"] > 0, "traffic must park an arm behind a busy entry"


def test_fire_latency_is_four_cycles():
    """``fire.valid`` in the 4th cycle after the completing ``track`` transfer, as documented:
    ``Tracker.FIRE_LATENCY``, which the cycle-level models read."""
    dut = Tracker(P)
    seen = {}

    async def tb(ctx):
        await wait_ready(ctx, dut)
        await stream_put(ctx, dut.arm, {"tile": 9, "threshold": 1})
        await ctx.tick().repeat(3)
        ctx.set(dut.fire.ready, 0)
        ctx.set(dut.track.payload, track_payload(9))
        ctx.set(dut.track.valid, 1)
        await ctx.tick().until(dut.track.ready)     # transfer in cycle 0
        ctx.set(dut.track.valid, 0)
        for cycle in range(1, 6):
            if ctx.get(dut.fire.valid) and "fire" not in seen:
                seen["fire"] = cycle
            await ctx.tick()
    run_sim(dut, tb, name="tracker_latency")
    assert seen["fire"] == Tracker.FIRE_LATENCY == 4
