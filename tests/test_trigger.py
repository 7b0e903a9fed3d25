"""Amaranth-simulator unit tests of the trigger (DMA command table + ready-command queue)."""

import random

import pytest

from hw.params import Kind, T3Params
from hw.trigger import Trigger
from tests.simutil import run_sim

P = T3Params(tracker_entries=16, tile_width=8, addr_width=10, len_width=6)
FIELDS = ("src_addr", "length", "dst_dev", "dst_addr", "tile", "op")


def rand_command(rng):
    return {"src_addr": rng.randrange(1 << P.addr_width), "length": rng.randrange(1 << P.len_width),
            "dst_dev": rng.randrange(1 << P.dev_width), "dst_addr": rng.randrange(1 << P.addr_width),
            "tile": rng.randrange(1 << P.tile_width), "op": rng.choice([Kind.STORE, Kind.UPDATE])}


def as_tuple(cmd):
    return tuple(int(cmd[f].value) if f == "op" else cmd[f] for f in FIELDS)


def view_tuple(view):
    return tuple(int(getattr(view, f).value) if f == "op" else int(getattr(view, f))
                 for f in FIELDS)


async def put(ctx, stream, payload):
    ctx.set(stream.payload, payload)
    ctx.set(stream.valid, 1)
    await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def program(ctx, dut, index, cmd):
    await put(ctx, dut.cmd_write,
              {"index": index, "valid": int(cmd is not None), "command": cmd or {}})


class Monitor:
    """Every cycle: handshakes on fire / doorbell / cmd, error pulses, queue level."""

    def __init__(self, dut):
        self.dut = dut
        self.accepted = []       # ("fire", index) / ("door", index) in acceptance order
        self.issued = []
        self.errors = 0
        self.err_cycles = []
        self.both_accepted = 0
        self.max_level = 0
        self.fire_cycles = []

    def process(self):
        dut = self.dut

        async def proc(ctx):
            cycle = 0
            async for _, _, fv, fr, ft, dv, dr, di, cv, cr, cp, err, lvl in ctx.tick().sample(
                    dut.fire.valid, dut.fire.ready, dut.fire.payload.tile,
                    dut.doorbell.valid, dut.doorbell.ready, dut.doorbell.payload.index,
                    dut.cmd.valid, dut.cmd.ready, dut.cmd.payload,
                    dut.err_no_command, dut.queue_level):
                f, d = fv and fr, dv and dr
                if f and d:
                    self.both_accepted += 1
                if f:
                    self.accepted.append(("fire", ft % P.tracker_entries))
                    self.fire_cycles.append(cycle)
                if d:
                    self.accepted.append(("door", di))
                if cv and cr:
                    self.issued.append(view_tuple(cp))
                if err:
                    self.errors += 1
                    self.err_cycles.append(cycle)
                self.max_level = max(self.max_level, lvl)
                cycle += 1
        return proc


def expected(table, accepted):
    cmds = [as_tuple(table[i]) for _, i in accepted if table.get(i) is not None]
    errs = sum(1 for _, i in accepted if table.get(i) is None)
    return cmds, errs


def test_bad_arguments():
    with pytest.raises(TypeError):
        Trigger(object())
    with pytest.raises(ValueError):
        Trigger(P, queue_depth=1)
    with pytest.raises(TypeError):
        Trigger(P, queue_depth=2.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_fires_doorbells_stalls(seed):
    """Program some entries, fire and ring doorbells with random gaps while cmd has random stalls
    (long ones fill the queue): every ready command issued exactly once, in acceptance order,
    unprogrammed entries flagged; then reprogram / invalidate and do it again."""
    rng = random.Random(seed)
    dut = Trigger(P, queue_depth=4)
    mon = Monitor(dut)
    table = {}
    state = {"active": False, "door_busy": False, "end": False}
    n_events = 60

    async def main(ctx):
        for phase in range(2):
            if phase == 0:
                for idx in rng.sample(range(P.tracker_entries), 11):
                    table[idx] = rand_command(rng)
            else:
                for idx in rng.sample(range(P.tracker_entries), 6):
                    table[idx] = rand_command(rng) if rng.random() < 0.5 else None
            for idx, cmd in table.items():
                await program(ctx, dut, idx, cmd)
            await ctx.tick()
            state["active"] = True
            for _ in range(n_events):
                await put(ctx, dut.fire, {"tile": rng.randrange(1 << P.tile_width)})
                if rng.random() < 0.3:
                    await ctx.tick().repeat(rng.randrange(1, 4))
            state["active"] = False
            while state["door_busy"]:
                await ctx.tick()
            await ctx.tick().until(dut.queue_level == 0)
            await ctx.tick().repeat(6)
            exp, errs = expected(table, mon.accepted)
            assert len(mon.accepted) > n_events
            assert mon.issued == exp
            assert mon.errors == errs
            mon.accepted.clear(), mon.issued.clear()
            mon.errors = 0
        state["end"] = True

    async def doorbells(ctx):
        while not state["end"]:
            await ctx.tick()
            if state["active"] and rng.random() < 0.3:
                state["door_busy"] = True
                await put(ctx, dut.doorbell, {"index": rng.randrange(P.tracker_entries)})
                state["door_busy"] = False

    async def consumer(ctx):
        while True:
            r = rng.random()
            if r < 0.1:
                ctx.set(dut.cmd.ready, 0)
                for _ in range(rng.randrange(8, 20)):           # fills the queue
                    await ctx.tick()
            else:
                ctx.set(dut.cmd.ready, int(r < 0.7))
                await ctx.tick()

    run_sim(dut, main, doorbells, processes=[mon.process(), consumer],
            name=f"trigger_random_{seed}")
    assert mon.max_level == 4            # the queue did fill up
    assert mon.both_accepted == 0


def test_throughput_fairness_backpressure():
    """One fire per cycle sustained when cmd is always ready; fire and doorbell both valid every
    cycle alternate; with cmd stalled the queue fills, ready drops, nothing is lost."""
    dut = Trigger(P, queue_depth=8)
    mon = Monitor(dut)
    table = {i: {"src_addr": i, "length": i + 1, "dst_dev": 1, "dst_addr": 3 * i, "tile": i,
                 "op": Kind.UPDATE} for i in range(P.tracker_entries)}

    async def tb(ctx):
        for idx, cmd in table.items():
            await program(ctx, dut, idx, cmd)
        # 1. throughput: 20 fires back to back, cmd always ready
        ctx.set(dut.cmd.ready, 1)
        for k in range(20):
            await put(ctx, dut.fire, {"tile": k})
            ctx.set(dut.fire.valid, 1)
        ctx.set(dut.fire.valid, 0)
        await ctx.tick().repeat(6)
        assert mon.fire_cycles == list(range(mon.fire_cycles[0], mon.fire_cycles[0] + 20))
        assert mon.issued == [as_tuple(table[k % 16]) for k in range(20)]
        assert ctx.get(dut.issued) == 20
        mon.accepted.clear(), mon.issued.clear()

        # 2. fairness: both valid every cycle for 12 accepts
        ctx.set(dut.fire.valid, 1)
        ctx.set(dut.fire.payload.tile, 5)
        ctx.set(dut.doorbell.valid, 1)
        ctx.set(dut.doorbell.payload.index, 9)
        await ctx.tick().repeat(12)
        ctx.set(dut.fire.valid, 0)
        ctx.set(dut.doorbell.valid, 0)
        await ctx.tick().repeat(6)
        kinds = [k for k, _ in mon.accepted]
        assert len(kinds) == 12
        assert all(a != b for a, b in zip(kinds, kinds[1:]))
        assert mon.issued == [as_tuple(table[5 if k == "fire" else 9]) for k in kinds]
        mon.accepted.clear(), mon.issued.clear()

        # 3. back-pressure: cmd stalled, keep firing
        ctx.set(dut.cmd.ready, 0)
        ctx.set(dut.fire.valid, 1)
        for k in range(30):
            ctx.set(dut.fire.payload.tile, len(mon.accepted) + 100)
            await ctx.tick()
        assert len(mon.accepted) == 9          # 8 in the queue + 1 waiting in stage 1
        assert ctx.get(dut.fire.ready) == 0
        assert ctx.get(dut.queue_level) == 8
        ctx.set(dut.fire.valid, 0)
        ctx.set(dut.cmd.ready, 1)
        await ctx.tick().repeat(15)
        assert mon.issued == [as_tuple(table[(100 + k) % 16]) for k in range(9)]
        assert ctx.get(dut.issued) == 20 + 12 + 9

    run_sim(dut, tb, processes=[mon.process()], name="trigger_tput")


def test_unprogrammed_and_invalidate():
    """Fire on an unprogrammed entry: one err pulse, nothing issued; program, fire, invalidate,
    fire again; a write and a fire of the same entry in the same cycle use the new command."""
    dut = Trigger(P)
    mon = Monitor(dut)
    cmd_a = {"src_addr": 7, "length": 3, "dst_dev": 2, "dst_addr": 40, "tile": 0x23,
             "op": Kind.STORE}
    cmd_b = dict(cmd_a, src_addr=99, op=Kind.UPDATE)

    async def tb(ctx):
        ctx.set(dut.cmd.ready, 1)
        await put(ctx, dut.fire, {"tile": 0x23})
        await ctx.tick().repeat(5)
        assert mon.errors == 1 and mon.issued == []
        await program(ctx, dut, 3, cmd_a)
        await put(ctx, dut.doorbell, {"index": 3})
        await ctx.tick().repeat(5)
        assert mon.issued == [as_tuple(cmd_a)] and mon.errors == 1
        await program(ctx, dut, 3, None)
        await put(ctx, dut.fire, {"tile": 0x13})
        await ctx.tick().repeat(5)
        assert mon.issued == [as_tuple(cmd_a)] and mon.errors == 2
        # same-cycle write and fire
        ctx.set(dut.cmd_write.payload, {"index": 3, "valid": 1, "command": cmd_b})
        ctx.set(dut.cmd_write.valid, 1)
        await put(ctx, dut.fire, {"tile": 0x03})
        ctx.set(dut.cmd_write.valid, 0)
        await ctx.tick().repeat(5)
        assert mon.issued == [as_tuple(cmd_a), as_tuple(cmd_b)] and mon.errors == 2
        # err pulses are single cycles
        assert len(set(mon.err_cycles)) == 2 and mon.err_cycles[1] - mon.err_cycles[0] > 1

    run_sim(dut, tb, processes=[mon.process()], name="trigger_unprog")


@pytest.mark.parametrize("source", ["fire", "doorbell"])
def test_command_latency(source):
    """A fire or doorbell accepted in cycle 0 has its command on ``cmd`` (valid) from cycle 3
    (stage 0, stage 1, the buffered queue), as documented: ``Trigger.CMD_LATENCY``, which the
    cycle-level models read."""
    dut = Trigger(P)
    cmd = {"src_addr": 5, "length": 4, "dst_dev": 1, "dst_addr": 9, "tile": 7, "op": Kind.UPDATE}
    seen = {}

    async def tb(ctx):
        await program(ctx, dut, 7, cmd)
        await ctx.tick().repeat(4)
        ctx.set(dut.cmd.ready, 0)
        stream = dut.fire if source == "fire" else dut.doorbell
        ctx.set(stream.payload, {"tile": 7} if source == "fire" else {"index": 7})
        ctx.set(stream.valid, 1)
        await ctx.tick().until(stream.ready)       # accepted in cycle 0
        ctx.set(stream.valid, 0)
        for cycle in range(1, 7):
            if ctx.get(dut.cmd.valid) and "cmd" not in seen:
                seen["cmd"] = cycle
                assert view_tuple(ctx.get(dut.cmd.payload)) == as_tuple(cmd)
            await ctx.tick()

    run_sim(dut, tb, name=f"trigger_latency_{source}")
    assert seen["cmd"] == Trigger.CMD_LATENCY == 3
