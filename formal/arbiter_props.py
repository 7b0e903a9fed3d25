"""Properties of the memory-controller arbiter (:mod:`hw.arbiter`).

Proven by k-induction on a small instance (``limit_width=3``, ``occupancy_max=3``, 32-bit data):

* ``arbiter.no_dup_no_drop`` (any policy, any ``out.ready``): at most one grant per cycle; every
  granted request leaves on ``out`` exactly once, in grant order, with its payload intact and
  ``cls`` forced to its port's class (checked against a two-entry shadow queue in the harness);
  ``out.valid``/``out.payload`` are held while ``out.ready`` is low.
* ``arbiter.mca_starvation`` (policy T3-MCA, constant ``starvation_limit``, ``out.ready`` high):
  a pending comm request is granted at the latest in the cycle in which it has waited
  ``starvation_limit`` cycles (it never waits more).
* ``arbiter.compute_first`` (policy COMPUTE_FIRST): comm is never granted while compute is valid.
* ``arbiter.mca_priority`` (policy T3-MCA): comm is not granted while compute is valid, nor while
  ``occupancy >= threshold``, unless it has waited ``starvation_limit`` cycles.
"""

from amaranth.hdl import Assert, Assume, Cover, Elaboratable, Signal, Value

from hw.params import ArbPolicy, ReqClass, T3Params

from .common import any_const, Flatten, Harness, drive_inputs, internals, load_design, block_jobs

PARAMS = T3Params(data_width=32, addr_width=2, tile_width=2, tracker_entries=4, count_width=2)
LIMIT_WIDTH = 3
OCC_MAX = 3

PROPS = ("no_dup_no_drop", "mca_starvation", "mca_starvation_stall", "compute_first",
         "mca_priority")


class ArbiterHarness(Harness):
    """Harness: free inputs, assumptions of the selected property, its assertions and covers."""

    def __init__(self, prop, mutations=(), params=PARAMS, limit_width=LIMIT_WIDTH,
                 occupancy_max=OCC_MAX):
        assert prop in PROPS
        super().__init__()
        self.prop = prop
        self.params, self.lw, self.occ_max = params, limit_width, occupancy_max
        # a mutation ("lib.skid", old, new) breaks the skid buffer of the output stage
        skid = load_design("lib.skid", [mu[1:] for mu in mutations if len(mu) == 3])

        class RecordingSkid(skid.SkidBuffer):
            made = []

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                RecordingSkid.made.append(self)

        self.skid_cls = RecordingSkid
        self.mod = load_design("arbiter", [mu for mu in mutations if len(mu) == 2],
                               {"SkidBuffer": RecordingSkid})

    def elaborate(self, platform):
        m = self.top_module()
        dut = self.mod.Arbiter(self.params, occupancy_max=self.occ_max, limit_width=self.lw)
        flat = Flatten(dut)
        m.submodules.dut = flat
        st = internals(flat.frag)
        (buf,) = self.skid_cls.made          # the output stage
        st = dict(st, skid_valid=buf.skid_valid, skid=buf.skid, main_valid=buf.o.valid,
                  main=buf.o.payload)
        drive_inputs(m, dut)

        cv, mv = dut.compute.valid, dut.comm.valid
        gc = cv & dut.compute.ready
        gm = mv & dut.comm.ready
        layout = self.params.mem_request_layout

        # design-internal invariants (hold under every policy)
        m.d.comb += Assert(~st["skid_valid"] | st["main_valid"])

        # ghost: consecutive cycles the present comm request has waited
        mw = Signal(self.lw)
        with m.If(gm | ~mv):
            m.d.sync += mw.eq(0)
        with m.Elif(mw != (1 << self.lw) - 1):
            m.d.sync += mw.eq(mw + 1)
        m.d.comb += Assert(mw == st["wait"])

        # ghost: requests held by the output stage (grants minus output transfers)
        occ = Signal(range(4))
        granted = gc | gm
        pop = dut.out.valid & dut.out.ready
        m.d.sync += occ.eq(occ + granted - pop)
        m.d.comb += [
            Assert(occ <= 2),
            Assert(dut.out.valid == (occ != 0)),
            Assert(st["skid_valid"] == (occ == 2)),
        ]

        if self.prop == "no_dup_no_drop":
            # shadow queue of granted requests (cls forced), depth 2
            q = [Signal(layout, name=f"q{i}") for i in range(2)]
            new = Signal(layout)
            with m.If(gm):
                m.d.comb += [new.eq(dut.comm.payload), new.cls.eq(ReqClass.COMM)]
            with m.Else():
                m.d.comb += [new.eq(dut.compute.payload), new.cls.eq(ReqClass.COMPUTE)]
            m.d.comb += [
                Assert(~(dut.compute.ready & dut.comm.ready)),
                Assert(~dut.out.valid | (Value.cast(dut.out.payload) == Value.cast(q[0]))),
                Assert(~st["main_valid"] | (Value.cast(st["main"]) == Value.cast(q[0]))),
                Assert(~st["skid_valid"] | (Value.cast(st["skid"]) == Value.cast(q[1]))),
            ]
            idx = Signal(range(4))
            m.d.comb += idx.eq(occ - pop)
            with m.If(pop):
                m.d.sync += q[0].eq(q[1])
            with m.If(granted & (idx == 0)):
                m.d.sync += q[0].eq(new)
            with m.If(granted & (idx == 1)):
                m.d.sync += q[1].eq(new)
            # a stalled output keeps its request
            prev_stall = Signal()
            prev_payload = Signal(layout)
            m.d.sync += [prev_stall.eq(dut.out.valid & ~dut.out.ready),
                         prev_payload.eq(dut.out.payload)]
            m.d.comb += Assert(~prev_stall | (dut.out.valid & (Value.cast(dut.out.payload)
                                                              == Value.cast(prev_payload))))
            m.d.comb += [Cover(occ == 2), Cover(granted & pop & (occ == 1))]

        elif self.prop == "mca_starvation":
            limit = any_const(m, self.lw)
            m.d.comb += [
                dut.starvation_limit.eq(limit),
                Assume(dut.policy == ArbPolicy.T3_MCA),
                Assume(dut.out.ready),
                Assert(~st["skid_valid"]),
                Assert(mw <= limit),
                Assert(~(mv & (mw >= limit)) | dut.comm.ready),
                Cover(gm & cv), Cover(gm & cv & (mw == limit) & (limit == 5)),
            ]

        elif self.prop == "mca_starvation_stall":
            # any out.ready: the wait exceeds the limit only by the cycles the output stage was
            # full (B in the design's documentation)
            limit = any_const(m, self.lw)
            full_cycles = Signal(self.lw + 3)
            with m.If(gm | ~mv):
                m.d.sync += full_cycles.eq(0)
            with m.Elif(occ == 2):
                m.d.sync += full_cycles.eq(full_cycles + 1)
            m.d.comb += [
                dut.starvation_limit.eq(limit),
                Assume(dut.policy == ArbPolicy.T3_MCA),
                Assume(full_cycles < (1 << self.lw)),   # keeps the ghost from wrapping
                Assert(~(mv & (mw >= limit) & (occ < 2)) | dut.comm.ready),
                Assert(~mv | (mw <= limit + full_cycles) | (mw == (1 << self.lw) - 1)),
                Cover(gm & cv & (full_cycles == 2) & (limit == 2)),
            ]

        elif self.prop == "compute_first":
            m.d.comb += [
                Assume(dut.policy == ArbPolicy.COMPUTE_FIRST),
                Assert(~(cv & dut.comm.ready)),
                Cover(gm),
                Cover(gc & mv),
            ]

        elif self.prop == "mca_priority":
            m.d.comb += [
                Assume(dut.policy == ArbPolicy.T3_MCA),
                Assert(~(mv & (mw < dut.starvation_limit) & cv) | ~dut.comm.ready),
                Assert(~(mv & (mw < dut.starvation_limit)
                         & (dut.occupancy >= dut.threshold)) | ~dut.comm.ready),
                Cover(gm & ~cv & (dut.occupancy < dut.threshold)),
                Cover(gm & cv),
            ]
        return m


MUTANTS = {
    # T3-MCA starvation limit ignored
    "starvation_ignored": ("mca_starvation",
                           [("starving  = mv & (wait >= self.starvation_limit)",
                             "starving  = mv & (wait >= self.starvation_limit) & 0")]),
    # the same, checked against the bound under output back-pressure
    "starvation_ignored_stall": ("mca_starvation_stall",
                                 [("starving  = mv & (wait >= self.starvation_limit)",
                                   "starving  = mv & (wait >= self.starvation_limit) & 0")]),
    # compute-first grants comm even when compute is pending
    "compute_first_grants_comm": ("compute_first",
                                  [("grant_m.eq(mv & ~cv)]", "grant_m.eq(mv)]")]),
    # T3-MCA ignores the occupancy threshold
    "mca_threshold_ignored": ("mca_priority",
                              [("grant_m.eq(starving | (mv & ~cv & eligible))",
                                "grant_m.eq(starving | (mv & ~cv))")]),
    # a grant into a full main register is lost (skid buffer not filled)
    "skid_drops": ("no_dup_no_drop",
                   [("lib.skid", "m.d.sync += skid_valid.eq(1)",
                     "m.d.sync += skid_valid.eq(0)")]),
}


#: Larger instance proven too: the default T3Params (64-bit data), 16-bit wait counter.
LARGE_LABEL = "default"
LARGE = dict(params=T3Params(), limit_width=16, occupancy_max=64)


def jobs():
    return block_jobs("arbiter", ArbiterHarness, PROPS, MUTANTS, prove_depth=4, cover_depth=12,
                      mutant_depth=12, large=LARGE, large_label=LARGE_LABEL)
