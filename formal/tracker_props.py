"""Properties of the tracker (:mod:`hw.tracker`).

Small instance: ``tracker_entries=4``, ``tile_width=3`` (2 index bits, 1 tag bit),
``count_width=4`` (so a 4-bit ``beats`` value is never truncated), the design's default
``fire_depth`` (and, for ``fire_once``, also the smallest one, 2). The table and
the fire queue storage are flip-flops (:class:`formal.common.FlopMemory`, same port semantics as
``lib.memory``) so that the harness can relate them to its reference model.

Reference model: one table entry ``e`` is chosen by an ``AnyConst`` (so the proof covers every
entry and every tile mapping to it). The harness keeps a shadow ``E`` of that entry (valid, tag,
count, threshold), updated in acceptance order by the accepted ``arm``/``track`` transfers with
the T3 rules (arm: refused if ``threshold == 0`` or the tile is already armed, *parked* if the
entry holds another tile; track: counted only on a hit, fires and frees the entry when the count
reaches the threshold, and the fire installs an arm parked on the entry). A shadow ``P`` of an
arm parked on ``e`` follows the design's park register. A two-stage ghost pipeline
delays each accepted request to the cycle where the design commits it; a shadow fire queue
follows the design's fire queue.

* ``tracker.fire_once``: a fire for entry ``e`` is pushed exactly when the reference model fires
  (an armed tile fires exactly once, on the transfer that brings its count of accepted beats to
  ``threshold``; ``err_overshoot`` iff that transfer went past it), with the tile id of the armed
  tile; the ``fire`` stream delivers the pushed fires exactly once, in order, and holds
  ``valid``/``tile`` while stalled.
* ``tracker.no_lost_count``: on back-to-back (and one-apart) requests to one entry the entry
  the read-modify-write stage uses equals the reference entry: forwarding loses no count.
* ``tracker.unarmed_never_fires``: a track that hits no armed tile does not fire, does not
  write the table and raises ``err_unarmed``.
* ``tracker.refused_arm``: an arm of an armed tile, of an entry held by another tile, or with
  ``threshold == 0`` does not write the table (the entry keeps its tile, count and threshold)
  and raises ``err_collision`` / nothing (parked) / ``err_bad_arm``.
* ``tracker.arm_progress`` (the table-full fallback never deadlocks, as a bounded response): a
  parked arm waits only while its entry is held by another tile - zero cycles after the entry
  is freed, because the write that frees the entry (the holding tile's fire) installs the
  parked arm, with count 0 and its threshold; and an arm that is valid while none is parked or
  in the pipeline, the fire queue has room and the sweep is over is accepted in that cycle
  (arm beats track). With ``fire_once`` (an armed tile fires on its threshold-th beat) this
  gives: if every armed tile eventually gets its beats and the fire consumer eventually takes
  fires, every arm is eventually installed and every armed tile fires.
* always (all jobs): the table equals the reference entry outside the reset sweep; the sweep
  clears it with ``arm.ready``/``track.ready`` low.
"""

from amaranth.hdl import Assert, Cat, Cover, Mux, Signal, Value
from amaranth.lib import data

from hw.params import T3Params

from .common import (any_const, assigned_from, fifo_matches_shadow, FlopMemory, Flatten, Harness, Job,
                     drive_inputs, flop_memories, flop_queue_class, internals, load_design,
                     block_jobs)
import types

PARAMS = T3Params(data_width=32, addr_width=2, tile_width=3, tracker_entries=4, count_width=4)
FIRE_DEPTH = None   # the design's default
PROPS = ("fire_once", "no_lost_count", "unarmed_never_fires", "refused_arm", "arm_progress")


class TrackerHarness(Harness):
    def __init__(self, prop, mutations=(), params=PARAMS, fire_depth=FIRE_DEPTH):
        super().__init__()
        assert prop in PROPS
        self.prop = prop
        self.params, self._fire_depth_arg = params, fire_depth
        self.queue_cls = flop_queue_class()
        self.mod = load_design("tracker", mutations,
                               {"memory": types.SimpleNamespace(Memory=FlopMemory),
                                "Queue": self.queue_cls})

    def elaborate(self, platform):
        m = self.top_module()
        p = self.params
        iw = p.index_width
        cw = p.count_width
        if self._fire_depth_arg is None:       # the design's default
            dut = self.mod.Tracker(p)
        else:
            dut = self.mod.Tracker(p, fire_depth=self._fire_depth_arg)
        self.fire_depth = dut._fire_depth
        with flop_memories() as mems:
            flat = Flatten(dut)
        m.submodules.dut = flat
        table, fstore = mems
        (fire_q,) = self.queue_cls.made
        assert fstore is fire_q.storage
        st = internals(flat.frag)
        drive_inputs(m, dut)
        V = Value.cast
        wr = table.wports[0]
        rd = table.rports[0]

        e = any_const(m, iw)
        row_e = Signal(table.shape)
        with m.Switch(e):
            for i in range(p.tracker_entries):
                with m.Case(i):
                    m.d.comb += row_e.eq(table.rows[i])
        # the row of the entry the parked arm waits for (any entry)
        st0 = internals(flat.frag)
        row_p = Signal(table.shape)
        with m.Switch(st0["park_tile"][:iw]):
            for i in range(p.tracker_entries):
                with m.Case(i):
                    m.d.comb += row_p.eq(table.rows[i])

        # -- ghost pipeline: the accepted request, one and two cycles later
        req = data.StructLayout({"valid": 1, "arm": 1, "tile": p.tile_width, "value": cw})
        g0, g1, g2 = Signal(req), Signal(req), Signal(req)
        acc_a = dut.arm.valid & dut.arm.ready
        acc_t = dut.track.valid & dut.track.ready
        m.d.comb += [
            g0.valid.eq(acc_a | acc_t),
            g0.arm.eq(acc_a),
            g0.tile.eq(Mux(acc_a, dut.arm.payload.tile, dut.track.payload.tile)),
            g0.value.eq(Mux(acc_a, dut.arm.payload.threshold, dut.track.payload.beats)),
        ]
        m.d.sync += [g1.eq(g0), g2.eq(g1)]
        clearing = st["clearing"]
        m.d.comb += [
            Assert(~(acc_a & acc_t)),
            Assert(~clearing | ~(dut.arm.ready | dut.track.ready)),
            Assert(dut.ready_out == ~clearing),
            Assert(g1.valid == st["s1_valid"]),
            Assert(g2.valid == st["s2_valid"]),
            Assert(~g1.valid | ((g1.arm == st["s1_is_arm"]) & (g1.tile == st["s1_tile"])
                                & (g1.value == st["s1_value"]))),
            Assert(~g2.valid | ((g2.arm == st["s2_is_arm"]) & (g2.tile == st["s2_tile"])
                                & (g2.value == st["s2_value"]))),
            Assert(~clearing | ~g1.valid),
        ]

        # -- reference entry E, updated when the request commits (stage 2)
        elay = table.shape
        E = Signal(elay)
        on_e = g2.valid & (g2.tile[:iw] == e)
        tag = g2.tile[iw:]
        hit = E.valid & (E.tag == tag)
        new_count = Signal(cw + 1)
        m.d.comb += new_count.eq(E.count + g2.value)
        spec_fire = on_e & ~g2.arm & hit & (new_count >= E.threshold)
        spec_over = on_e & ~g2.arm & hit & (new_count > E.threshold)
        spec_unarmed = on_e & ~g2.arm & ~hit
        spec_bad = on_e & g2.arm & (g2.value == 0)
        spec_coll = on_e & g2.arm & (g2.value != 0) & hit
        spec_park = on_e & g2.arm & (g2.value != 0) & E.valid & ~hit
        # P: the arm parked on entry e (the design parks one arm at a time, for any entry)
        P = Signal(data.StructLayout({"valid": 1, "tag": p.tile_width - iw, "threshold": cw}))
        spec_install = spec_fire & P.valid
        with m.If(on_e & g2.arm & ~E.valid & (g2.value != 0)):
            m.d.sync += [E.valid.eq(1), E.tag.eq(tag), E.count.eq(0), E.threshold.eq(g2.value)]
        with m.If(spec_park):
            m.d.sync += [P.valid.eq(1), P.tag.eq(tag), P.threshold.eq(g2.value)]
        with m.If(on_e & ~g2.arm & hit):
            with m.If(new_count >= E.threshold):
                m.d.sync += E.valid.eq(0)
                with m.If(P.valid):
                    m.d.sync += [E.valid.eq(1), E.tag.eq(P.tag), E.count.eq(0),
                                 E.threshold.eq(P.threshold), P.valid.eq(0)]
            with m.Else():
                m.d.sync += E.count.eq(new_count)
        # the design's park register against P, and one arm at a time
        park_valid, park_tile, park_thr = st["park_valid"], st["park_tile"], st["park_thr"]
        m.d.comb += [
            Assert(P.valid == (park_valid & (park_tile[:iw] == e))),
            Assert(~P.valid | ((park_tile[iw:] == P.tag) & (park_thr == P.threshold))),
            Assert(~park_valid | (park_thr != 0)),
            Assert(~clearing | ~park_valid),
            Assert(V(g1.valid & g1.arm) + V(g2.valid & g2.arm) + V(park_valid) <= 1),
        ]

        def same(a, b):
            return (a.valid == b.valid) & (~a.valid | ((a.tag == b.tag) & (a.count == b.count)
                                                       & (a.threshold == b.threshold)))

        # table invariants
        clear_idx = st["clear_idx"]
        m.d.comb += [
            Assert(~clearing | ~E.valid),
            Assert(~clearing | (e >= clear_idx) | ~row_e.valid),
            Assert(clearing | same(row_e, E)),
            Assert(~E.valid | (E.threshold != 0)),
            Assert(~E.valid | (E.count < E.threshold)),
        ]
        # forwarding invariants (entry e): the last write is in the table; stage 1 read data /
        # stage 2 forwarding sources hold the entry as it is in the table
        w1_en, w1_idx = assigned_from(flat.frag, wr.en), assigned_from(flat.frag, wr.addr)
        w1_data, w2_data = elay(st["w1_data"]), elay(st["w2_data"])
        s2_ram, fwd1, fwd2 = elay(st["s2_ram"]), st["s2_fwd1"], st["s2_fwd2"]
        m.d.comb += [
            Assert(~(w1_en & (w1_idx == e)) | (V(row_e) == V(w1_data))),
            Assert(~(g1.valid & (g1.tile[:iw] == e) & ~(w1_en & (w1_idx == e)))
                   | same(rd.data, row_e)),
            Assert(~(g2.valid & (g2.tile[:iw] == e)) | (fwd1 == (w1_en & (w1_idx == e)))),
            Assert(~(g2.valid & (g2.tile[:iw] == e) & ~fwd1 & fwd2) | same(w2_data, row_e)),
            Assert(~(g2.valid & (g2.tile[:iw] == e) & ~fwd1 & ~fwd2) | same(s2_ram, row_e)),
        ]

        # -- fire queue shadow (all pushes), and the design's fire-queue storage
        w_rdy, w_en, w_data = fire_q.w.ready, fire_q.w.valid, fire_q.w.payload.tile
        fq_depth = fire_q.depth
        pushed = w_en & w_rdy
        fsq = [Signal(p.tile_width, name=f"fsq{i}") for i in range(fq_depth)]
        fcnt = Signal(range(fq_depth + 2))
        pop = dut.fire.valid & dut.fire.ready
        wpos = Signal(range(fq_depth + 2))
        m.d.comb += wpos.eq(fcnt - pop)
        with m.If(pop):
            for i in range(fq_depth - 1):
                m.d.sync += fsq[i].eq(fsq[i + 1])
        for i in range(fq_depth):
            with m.If(pushed & (wpos == i)):
                m.d.sync += fsq[i].eq(w_data)
        m.d.sync += fcnt.eq(fcnt + pushed - pop)
        m.d.comb += [
            Assert(fcnt <= fq_depth),
            Assert(~w_en | w_rdy),              # a fire always finds room (none dropped)
            Assert(~dut.fire.valid | (fcnt != 0)),
        ]
        fifo_matches_shadow(m, fire_q, fsq, fcnt, dut.fire.payload.tile)
        # how the design keeps room for every fire
        if "outstanding" in st:
            # arms in the pipeline + armed entries + queued fires never exceed the fire queue
            armed = sum(table.rows[i].valid for i in range(p.tracker_entries))
            m.d.comb += [
                Assert(~clearing | ((st["outstanding"] == 0) & (fcnt == 0))),
                Assert(clearing | (st["outstanding"] == (g1.valid & g1.arm) + (g2.valid & g2.arm)
                                   + park_valid + armed + fcnt)),
                Assert(st["outstanding"] <= self.fire_depth),
            ]
            for i in range(p.tracker_entries):
                m.d.comb += Assert(~clearing | (i >= clear_idx) | ~table.rows[i].valid)
        else:
            # tracks wait until the queue has room for their fire and those ahead
            m.d.comb += Assert(fcnt + (g1.valid & ~g1.arm) + (g2.valid & ~g2.arm)
                               <= self.fire_depth)

        # -- the properties
        err_over, err_unarmed, err_coll, err_bad = Signal(), Signal(), Signal(), Signal()
        m.d.sync += [err_over.eq(spec_over), err_unarmed.eq(spec_unarmed),
                     err_coll.eq(spec_coll), err_bad.eq(spec_bad)]
        was_on_e = Signal()
        m.d.sync += was_on_e.eq(on_e)
        if self.prop == "fire_once":
            prev_stall, prev_tile = Signal(), Signal(p.tile_width)
            m.d.sync += [prev_stall.eq(dut.fire.valid & ~dut.fire.ready),
                         prev_tile.eq(dut.fire.payload.tile)]
            m.d.comb += [
                Assert(~prev_stall | (dut.fire.valid & (dut.fire.payload.tile == prev_tile))),
                Assert(~on_e | (pushed == spec_fire)),
                Assert(~spec_fire | (w_data == g2.tile)),
                Assert(~was_on_e | (dut.err_overshoot == err_over)),
                Assert(~pushed | (g2.valid & ~g2.arm)),
                Assert(~dut.fire.valid | (fcnt != 0)),
                Assert(~dut.fire.valid | (dut.fire.payload.tile == fsq[0])),
                Cover(spec_fire & ~spec_over & (E.threshold == 3)),
                Cover(spec_fire & spec_over),
                Cover(pop & (dut.fire.payload.tile[:iw] == e)),
            ]
        elif self.prop == "no_lost_count":
            g2_on_e = g2.valid & (g2.tile[:iw] == e)
            entry = elay(st["entry"])
            m.d.comb += [
                Assert(~g2_on_e | same(entry, E)),
                Cover(g2_on_e & g1.valid & (g1.tile == g2.tile) & ~g2.arm & ~g1.arm
                      & E.valid & (E.count != 0)),
                Cover(g2_on_e & fwd2 & ~fwd1 & E.valid & (E.count != 0)),
            ]
        elif self.prop == "unarmed_never_fires":
            m.d.comb += [
                Assert(~spec_unarmed | (~pushed & ~wr.en)),
                Assert(~was_on_e | (dut.err_unarmed == err_unarmed)),
                Cover(spec_unarmed & E.valid),
            ]
        elif self.prop == "refused_arm":
            m.d.comb += [
                Assert(~(spec_coll | spec_bad | spec_park) | (~wr.en & ~pushed)),
                Assert(~was_on_e | (dut.err_collision == err_coll)),
                Assert(~was_on_e | (dut.err_bad_arm == err_bad)),
                Cover(spec_coll),
                Cover(spec_park),
                Cover(spec_bad),
            ]
        elif self.prop == "arm_progress":
            # a parked arm waits only on an entry held by another tile: the cycle its tile's
            # fire frees the entry, that same write installs the parked arm
            fifo_room = (st["outstanding"] < self.fire_depth) if "outstanding" in st else 1
            in_flight = (g1.valid & g1.arm) | (g2.valid & g2.arm) | park_valid
            m.d.comb += [
                Assert(clearing | ~park_valid | (row_p.valid & (row_p.tag != park_tile[iw:]))),
                Assert(~P.valid | E.valid),
                Assert(~spec_install | (wr.en & (wr.addr == e) & wr.data.valid
                                        & (wr.data.tag == P.tag) & (wr.data.count == 0)
                                        & (wr.data.threshold == P.threshold))),
                Assert(~(dut.arm.valid & ~clearing & ~in_flight & fifo_room) | dut.arm.ready),
                Cover(spec_install),
                Cover(spec_install & g1.valid & ~g1.arm & (g1.tile == Cat(e, P.tag))),
            ]
        return m


MUTANTS = {
    # fire threshold compare off by one (fires one beat late)
    "threshold_off_by_one": ("fire_once",
                             [("(c_xor + Cat(1, c_maj[:width - 1]))",
                               "(c_xor + Cat(0, c_maj[:width - 1]))")]),
    # no forwarding from the request just ahead: back-to-back hits lose a count
    "no_forwarding": ("no_lost_count",
                      [("s2_fwd1.eq(wr.en & (wr.addr == s1_idx))", "s2_fwd1.eq(0)")]),
    # the tag is not compared: a track of another tile sharing the entry counts (and fires)
    "no_tag_check": ("unarmed_never_fires",
                     [("hit.eq(entry.valid & (entry.tag == s2_tag))", "hit.eq(entry.valid)")]),
    # an arm of a busy entry overwrites it
    # an arm of an entry held by another tile overwrites it instead of waiting
    "collision_overwrites": ("refused_arm",
                             [("            with m.Elif(entry.valid):\n"
                               "                # Held by another tile: park until that tile fires.",
                               "            with m.Elif(0):\n"
                               "                # Held by another tile: park until that tile fires.")]),
    # the fire that frees a parked arm's entry does not install it: the arm waits forever
    "parked_arm_forgotten": ("arm_progress",
                             [("with m.If(park_valid & (park_tile[:iw] == s2_tile[:iw])):",
                               "with m.If(0):")]),
}

PROVE_DEPTH = 4
MUTANT_DEPTH = 14
#: arms not limited by the fire queue: more tiles outstanding than the queue holds (arms are one
#: per 3 cycles, so overfilling the 4-deep queue takes about 20 cycles: a deeper check)
ARM_ROOM_MUTANT = ("fire_once", [("m.d.comb += arm_room.eq(outstanding < self._fire_depth)",
                                  "m.d.comb += arm_room.eq(1)")])
ARM_ROOM_DEPTH = 22


#: Larger instance proven too: 16 entries, 8-bit tile ids and counts, fire depth 4.
LARGE_LABEL = "e16"
LARGE = dict(params=T3Params(tracker_entries=16, tile_width=8, count_width=8), fire_depth=4)

#: The smallest fire queue the design accepts.
MIN_FIRE_DEPTH = 2


def jobs():
    # base case deep enough for two armed tiles to fire
    fd2 = Job(f"tracker.fire_once@fd{MIN_FIRE_DEPTH}", "tracker", "fire_once",
              lambda: TrackerHarness("fire_once", fire_depth=MIN_FIRE_DEPTH), mode="prove", depth=12)
    prop, muts = ARM_ROOM_MUTANT
    arm_room = Job("tracker.mutant.arm_room_ignored", "tracker", prop,
                   lambda: TrackerHarness(prop, muts), mode="bmc", depth=ARM_ROOM_DEPTH,
                   expect="fail")
    return block_jobs("tracker", TrackerHarness, PROPS, MUTANTS, prove_depth=PROVE_DEPTH,
                      cover_depth=16, mutant_depth=MUTANT_DEPTH, large=LARGE,
                      large_label=LARGE_LABEL, extra=[fd2]) + [arm_room]
