"""The T3 tracker: a tile-indexed table that counts the writes landing on each GEMM output tile.

Software (or the DMA command set-up) *arms* a tile with a threshold: the number of beats that must
land on it before it is complete. Every write the memory controller accepts is *tracked*: it carries
its tile id as metadata, so the table is indexed by the tile id (no address search). When an armed
tile's count reaches its threshold the tracker *fires* the tile id once, which makes the
pre-programmed DMA command of that tile ready (see :mod:`hw.trigger`).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .lib.queue import Queue
from .params import T3Params

__all__ = ["Tracker"]


class Tracker(wiring.Component):
    """Tile-indexed write tracker.

    The table has ``params.tracker_entries`` entries; tile ``t`` lives in entry
    ``t % tracker_entries`` and the entry stores the remaining high bits of ``t`` as a tag, so two
    tiles that share an entry cannot be tracked at the same time. The table is a :class:`amaranth.lib.memory.Memory` (block RAM on an FPGA); a
    request is handled in three pipeline stages: table read; register the read data (block RAM
    clock-to-out is too slow to add after it in the same cycle); read-modify-write. The entries
    written by the two requests ahead are forwarded (by match flags computed a stage early), so
    back-to-back requests to one entry see each other's counts and one request per cycle is
    sustained.

    **A full table never deadlocks: the arm of a busy entry waits.** An arm of tile ``t`` whose
    entry holds another tile ``u`` (same index, other tag) is *parked* in a one-arm register
    (counted in ``arm_waits``) and installed by the very write that frees the entry: the track
    that completes ``u`` fires ``u`` and writes ``t``'s new entry (count 0) in the same
    read-modify-write. While an arm is parked ``arm.ready`` is low, so later arms wait behind
    it, in order. The cost is the arm stall (the parked arm waits exactly as long as ``u`` has
    beats outstanding); nothing is refused, dropped or applied untracked. This was chosen over
    a spill path (updates applied untracked, the tile completed by a software doorbell) because
    a spilled tile's second contribution comes from another device, which the local software
    cannot observe without a new notification protocol, while the wait needs one register and
    keeps every tile tracked. Progress: a parked arm is installed exactly when its entry's tile
    fires (proved at a small size, ``formal/tracker_props.py``, property ``arm_progress``), so
    if arms are issued in the order in which tiles complete and every write to a tile is issued
    after its arm was installed (``arms`` counts installed arms), the earliest tile not yet
    complete always has its entry and its writes, and the table drains (docs/model.md, "Tracker
    sizing"). Only one arm is in the pipeline at a time (an arm is accepted when none is in
    stages 1-2 or parked): arms are CSR writes, far slower than that.

    After reset the table is cleared by a sweep of ``tracker_entries`` cycles, during which
    ``arm.ready`` and ``track.ready`` are low.

    Parameters
    ----------
    params : T3Params
        Uses ``tracker_entries``, ``tile_width``, ``count_width``.
    fire_depth : int
        Depth of the fire queue (>= 2; default ``tracker_entries``, one block RAM). At most
        ``fire_depth`` tiles are *outstanding* (armed, or fired and not yet taken by the ``fire``
        consumer); ``arm`` waits while that many are. ``track`` is never back-pressured by the
        fire consumer, so a stalled consumer cannot stall the memory port that feeds ``track``.

    Attributes
    ----------
    arm : In(stream.Signature(params.arm_layout))
        Start tracking ``tile``: it fires after ``threshold`` beats. Refused with ``err_bad_arm``
        if ``threshold`` is 0; refused with ``err_collision`` if ``tile`` itself is already
        armed (a second arm of a live tile: the tile keeps counting, unchanged); parked (see
        above) if its entry holds another tile. Takes priority over ``track`` when both are
        valid; not ready while an arm is in the pipeline or parked, nor while ``fire_depth``
        tiles are outstanding (then ``track`` goes first).
    track : In(stream.Signature(params.track_layout))
        One observed write of ``beats`` beats on ``tile``. Counted against the tile if it is armed;
        otherwise counted in ``unarmed`` and flagged with ``err_unarmed``; it never fires.
    fire : Out(stream.Signature(params.fire_layout))
        The id of a tile whose count reached its threshold, once per arming. ``fire.valid`` is high
        from the fourth cycle after the cycle in which the completing ``track`` transfer happened
        (three pipeline stages and the fire queue's output register).
    err_unarmed, err_collision, err_overshoot, err_bad_arm : Out(1)
        One-cycle event pulses, in the third cycle after the offending transfer. ``err_overshoot``: a
        request took the count past the threshold (the tile still fires, once).
    tracked, fires, arms, unarmed, arm_waits : Out(32)
        Counters (wrapping): beats counted on armed tiles, fires, installed arms (a parked arm
        counts when it is installed), requests that hit no armed tile, arms that found their
        entry held by another tile and were parked. Updated in the fourth cycle after the
        transfer that caused the event.
    arm_stall : Out(32)
        Cycles (wrapping) in which an arm waited for an entry: parked, or valid and held because
        ``fire_depth`` tiles are outstanding (not counted: the reset sweep, the two cycles an arm
        waits behind the arm just accepted). Updated one cycle later.
    arm_waiting : Out(1)
        An arm is parked, waiting for its entry (same timing as the counters).
    pending : Out(params.index_width + 1)
        Entries armed and not yet fired (same timing as the counters).
    ready_out : Out(1)
        High once the reset clearing sweep is over.
    """

    #: A completing ``track`` transfer in cycle *c* raises ``fire.valid`` in cycle
    #: *c* + ``FIRE_LATENCY`` (three pipeline stages and the fire queue's output register), when
    #: the fire queue is empty. The cycle-level models read it from here.
    FIRE_LATENCY = 4

    def __init__(self, params=T3Params(), *, fire_depth=None):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if fire_depth is None:
            fire_depth = params.tracker_entries
        if not isinstance(fire_depth, int) or fire_depth < 2:
            raise ValueError(f"fire_depth must be an integer >= 2, not {fire_depth!r}")
        self._params = params
        self._fire_depth = fire_depth
        super().__init__({
            "arm":           In(stream.Signature(params.arm_layout)),
            "track":         In(stream.Signature(params.track_layout)),
            "fire":          Out(stream.Signature(params.fire_layout)),
            "err_unarmed":   Out(1),
            "err_collision": Out(1),
            "err_overshoot": Out(1),
            "err_bad_arm":   Out(1),
            "tracked":       Out(32),
            "fires":         Out(32),
            "arms":          Out(32),
            "unarmed":       Out(32),
            "arm_waits":     Out(32),
            "arm_stall":     Out(32),
            "arm_waiting":   Out(1),
            "pending":       Out(params.index_width + 1),
            "ready_out":     Out(1),
        })

    @property
    def params(self):
        return self._params

    def elaborate(self, platform):
        p = self._params
        m = Module()
        iw = p.index_width
        tag_width = p.tile_width - iw
        # Accumulate counts one bit wider than the threshold so an overshoot cannot wrap.
        entry_layout = data.StructLayout({
            "valid":     1,
            "tag":       unsigned(tag_width),
            "count":     unsigned(p.count_width),
            "threshold": unsigned(p.count_width),
        })

        m.submodules.table = table = memory.Memory(
            shape=entry_layout, depth=p.tracker_entries, init=[])
        wr = table.write_port()
        rd = table.read_port()

        # A buffered Queue of depth 2 is a 1-entry FIFO plus an output register: right after a write
        # into an empty queue its w_rdy is low for a cycle, so two back-to-back fires would not
        # both fit (found by the formal proof at fire_depth=2). Depth 3 and up keep w_rdy high
        # whenever fewer than `fire_depth` fires are queued, which the `outstanding` limit below
        # guarantees.
        m.submodules.fire_q = fire_q = Queue(self.fire.payload.shape(), max(3, self._fire_depth),
                                             buffered=True)
        wiring.connect(m, fire_q.r, wiring.flipped(self.fire))

        # Reset sweep: clear every entry.
        clearing = Signal(init=1)
        clear_idx = Signal(iw)
        m.d.comb += self.ready_out.eq(~clearing)

        # Stage 1 registers (the request whose entry is being read this cycle).
        s1_valid  = Signal()
        s1_is_arm = Signal()
        s1_tile   = Signal(p.tile_width)
        s1_value  = Signal(p.count_width)   # threshold for an arm, beats for a track

        # Stage 2 registers (the request whose entry is modified and written this cycle).
        s2_valid  = Signal()
        s2_is_arm = Signal()
        s2_tile   = Signal(p.tile_width)
        s2_value  = Signal(p.count_width)
        s2_ram    = Signal(entry_layout)    # the entry as read from the table
        s2_fwd1   = Signal()                # ... but the request just ahead wrote it since
        s2_fwd2   = Signal()                # ... or the one two ahead did
        w1_en, w1_idx, w1_data = Signal(), Signal(iw), Signal(entry_layout)   # last cycle's write
        w2_data = Signal(entry_layout)                                        # the one before

        # Stage 0: choose a request. `outstanding` counts the tiles that may still put a fire in
        # the queue or hold one there: arms in the pipeline, armed entries, queued fires. An arm
        # is accepted only while that stays within the fire queue, so a fire always finds room
        # and `track` never waits for the fire consumer (that wait could close a cycle through
        # the memory port: fire -> DMA -> memory reads -> tracked writes -> fire).
        outstanding = Signal(range(self._fire_depth + 1))
        arm_room = Signal()
        m.d.comb += arm_room.eq(outstanding < self._fire_depth)
        # The parked arm (an arm whose entry holds another tile) and whether an arm is in stages
        # 1-2: one arm at a time in the pipeline, so one park register suffices and arms stay in
        # order.
        park_valid = Signal()
        park_tile  = Signal(p.tile_width)
        park_thr   = Signal(p.count_width)
        arm_busy = Signal()
        m.d.comb += arm_busy.eq(park_valid | (s1_valid & s1_is_arm) | (s2_valid & s2_is_arm))
        take_arm   = Signal()
        take_track = Signal()
        m.d.comb += [
            take_arm.eq(~clearing & self.arm.valid & arm_room & ~arm_busy),
            take_track.eq(~clearing & ~take_arm & self.track.valid),
            self.arm.ready.eq(take_arm),
            self.track.ready.eq(take_track),
        ]
        s0_tile = Signal(p.tile_width)
        m.d.comb += [
            s0_tile.eq(Mux(take_arm, self.arm.payload.tile, self.track.payload.tile)),
            rd.addr.eq(s0_tile[:iw]),
            rd.en.eq(1),
        ]
        m.d.sync += [
            s1_valid.eq(take_arm | take_track),
            s1_is_arm.eq(take_arm),
            s1_tile.eq(s0_tile),
            s1_value.eq(Mux(take_arm, self.arm.payload.threshold, self.track.payload.beats)),
        ]

        # Stage 1: the table read completes; register its output (block RAM clock-to-out is
        # slow) and note whether a write issued since the read must override it.
        s1_idx = s1_tile[:iw]
        m.d.sync += [
            s2_valid.eq(s1_valid & ~clearing),
            s2_is_arm.eq(s1_is_arm),
            s2_tile.eq(s1_tile),
            s2_value.eq(s1_value),
            s2_ram.eq(rd.data),
            s2_fwd1.eq(wr.en & (wr.addr == s1_idx)),
            s2_fwd2.eq(w1_en & (w1_idx == s1_idx)),
            w1_en.eq(wr.en),
            w1_idx.eq(wr.addr),
            w1_data.eq(wr.data),
            w2_data.eq(w1_data),
        ]

        # Stage 2: read-modify-write of the entry.
        entry = Signal(entry_layout)
        with m.If(s2_fwd1):
            m.d.comb += entry.eq(w1_data)
        with m.Elif(s2_fwd2):
            m.d.comb += entry.eq(w2_data)
        with m.Else():
            m.d.comb += entry.eq(s2_ram)
        s2_tag = s2_tile[iw:]
        hit = Signal()
        m.d.comb += hit.eq(entry.valid & (entry.tag == s2_tag))
        # The count plus the beats, and whether that completes the tile, are computed for each of
        # the three candidate entries and then selected (the forwarding mux is after the adders
        # and compares, not before them: the read-modify-write path to the table write port).
        # The compare ``count + beats >= threshold`` is the sign of ``count + beats - threshold``,
        # summed carry-save (one LUT level) into a single carry chain, so it does not wait for the
        # sum's own carry chain.
        new_count = Signal(p.count_width + 1)
        complete = Signal()
        sums = []
        width = p.count_width + 2                 # count + beats - threshold, two's complement
        for name, cand in (("fwd1", w1_data), ("fwd2", w2_data), ("ram", s2_ram)):
            c_sum = Signal(p.count_width + 1, name=f"s2_sum_{name}")
            c_done = Signal(name=f"s2_done_{name}")
            x, y, t = Signal(width), Signal(width), Signal(width)
            m.d.comb += [x.eq(cand.count), y.eq(s2_value), t.eq(cand.threshold)]
            z = ~t
            c_xor = x ^ y ^ z
            c_maj = (x & y) | (x & z) | (y & z)
            diff = (c_xor + Cat(1, c_maj[:width - 1]))[:width]   # the +1 of -threshold as bit 0
            m.d.comb += [c_sum.eq(cand.count + s2_value), c_done.eq(~diff[width - 1])]
            sums.append((c_sum, c_done))
        with m.If(s2_fwd1):
            m.d.comb += [new_count.eq(sums[0][0]), complete.eq(sums[0][1])]
        with m.Elif(s2_fwd2):
            m.d.comb += [new_count.eq(sums[1][0]), complete.eq(sums[1][1])]
        with m.Else():
            m.d.comb += [new_count.eq(sums[2][0]), complete.eq(sums[2][1])]

        m.d.comb += [
            wr.addr.eq(s2_tile[:iw]),
            wr.data.tag.eq(s2_tag),
            wr.data.threshold.eq(entry.threshold),
            fire_q.w.payload.tile.eq(s2_tile),
        ]
        # Statistics and `pending` follow the stage-2 outcome one cycle later: the outcome is
        # registered first, so the table compare does not also drive the counters' carry chains.
        pending_inc = Signal()     # an arm took an entry
        pending_dec = Signal()     # a tile fired and freed its entry
        tracked_inc = Signal(p.count_width)
        q_inc, q_dec, q_unarmed, q_wait = Signal(), Signal(), Signal(), Signal()
        q_tracked = Signal(p.count_width)
        m.d.sync += [q_inc.eq(pending_inc), q_dec.eq(pending_dec), q_tracked.eq(tracked_inc)]
        pending = Signal.like(self.pending)
        m.d.comb += self.pending.eq(pending)
        with m.If(q_inc & ~q_dec):
            m.d.sync += pending.eq(pending + 1)
        with m.Elif(q_dec & ~q_inc):
            m.d.sync += pending.eq(pending - 1)
        m.d.sync += [
            self.arms.eq(self.arms + q_inc),
            self.fires.eq(self.fires + q_dec),
            self.unarmed.eq(self.unarmed + q_unarmed),
            self.arm_waits.eq(self.arm_waits + q_wait),
            self.tracked.eq(self.tracked + q_tracked),
        ]

        ev_collision = Signal()
        ev_bad_arm   = Signal()
        ev_unarmed   = Signal()
        ev_overshoot = Signal()
        ev_park      = Signal()
        handover     = Signal()     # a fire frees the parked arm's entry and installs it
        m.d.sync += [
            self.err_collision.eq(ev_collision),
            self.err_bad_arm.eq(ev_bad_arm),
            self.err_unarmed.eq(ev_unarmed),
            self.err_overshoot.eq(ev_overshoot),
        ]

        m.d.sync += [q_unarmed.eq(ev_unarmed), q_wait.eq(ev_park)]
        arm_waiting = Signal()
        m.d.sync += arm_waiting.eq(park_valid)
        with m.If(~clearing & (park_valid | (self.arm.valid & ~arm_room))):
            m.d.sync += self.arm_stall.eq(self.arm_stall + 1)
        m.d.comb += self.arm_waiting.eq(arm_waiting)
        fire_out = self.fire.valid & self.fire.ready
        arm_refused = ev_collision | ev_bad_arm     # a parked arm stays outstanding
        m.d.sync += outstanding.eq(outstanding + take_arm - arm_refused - fire_out)

        with m.If(clearing):
            m.d.comb += [
                wr.en.eq(1),
                wr.addr.eq(clear_idx),
                wr.data.eq(0),
            ]
            m.d.sync += clear_idx.eq(clear_idx + 1)
            with m.If(clear_idx == p.tracker_entries - 1):
                m.d.sync += clearing.eq(0)
        with m.Elif(s2_valid & s2_is_arm):
            with m.If(s2_value == 0):
                m.d.comb += ev_bad_arm.eq(1)
            with m.Elif(hit):
                m.d.comb += ev_collision.eq(1)
            with m.Elif(entry.valid):
                # Held by another tile: park until that tile fires.
                m.d.comb += ev_park.eq(1)
                m.d.sync += [park_valid.eq(1), park_tile.eq(s2_tile), park_thr.eq(s2_value)]
            with m.Else():
                m.d.comb += [
                    wr.en.eq(1),
                    wr.data.valid.eq(1),
                    wr.data.count.eq(0),
                    wr.data.threshold.eq(s2_value),
                    pending_inc.eq(1),
                ]
        with m.Elif(s2_valid):
            with m.If(~hit):
                m.d.comb += ev_unarmed.eq(1)
            with m.Else():
                m.d.comb += tracked_inc.eq(s2_value)
                m.d.comb += wr.en.eq(1)
                with m.If(complete):
                    # Complete: fire once and free the entry (or hand it to the parked arm).
                    m.d.comb += [
                        wr.data.valid.eq(0),
                        wr.data.count.eq(0),
                        fire_q.w.valid.eq(1),
                        pending_dec.eq(1),
                        ev_overshoot.eq(new_count > entry.threshold),
                    ]
                    with m.If(park_valid & (park_tile[:iw] == s2_tile[:iw])):
                        m.d.comb += [
                            handover.eq(1),
                            wr.data.valid.eq(1),
                            wr.data.tag.eq(park_tile[iw:]),
                            wr.data.threshold.eq(park_thr),
                            pending_inc.eq(1),
                        ]
                        m.d.sync += park_valid.eq(0)
                with m.Else():
                    m.d.comb += [
                        wr.data.valid.eq(1),
                        wr.data.count.eq(new_count),
                    ]
        return m


EXPORTS = {"tracker": lambda: Tracker(T3Params())}
