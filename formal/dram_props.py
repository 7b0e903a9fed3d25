"""Properties of the DRAM timing model's scheduler (:mod:`hw.dram`).

Small instance: 2 banks x 2 rows x 4 beats of 8 bits, bursts of up to 2 beats, a 3-entry queue,
FR-FCFS with ``age_cap = 3``, every timing 1 or 2 cycles and refresh every 8 cycles. All AXI
inputs are free in every cycle (no protocol assumed). Storage and FIFOs are flip-flops
(:class:`formal.common.FlopMemory`).

Ghost model in the harness: one accepted request, chosen by an ``AnyConst`` acceptance number, is
followed from its AR/AW handshake to its column command; its queue position is tracked from the
collapse rule (the entry issued leaves, the younger ones move up by one), its age from the
cycle after its handshake.

* ``dram.age_cap``: once the followed request has waited ``age_cap`` cycles or more, no younger
  request receives a column command or a row command (ACT/PRE) before it is issued: a request is
  never overtaken past its age cap. Helper invariants proven with it: the queue's valid entries
  are a prefix of length ``occupancy``, ages do not increase towards the tail, and the followed
  request sits at its ghost position with its ghost age.
"""

from amaranth.hdl import Array, Assert, Cover, Signal

from hw.dram_params import DramParams

from .common import (any_const, FlopMemory, Flatten, Harness, block_jobs, drive_inputs,
                     flop_memories, internals, load_design)

PARAMS = DramParams(banks=2, rows=2, cols=4, interleave=4, data_width=8, addr_width=5,
                    id_width=1, max_burst=2, queue_depth=3, read_buffer=2, age_cap=3,
                    tRCD=1, tRP=1, tRAS=2, tCL=2, tCWL=1, tCCD=1, tWTR=1, tRTW=2, tRRD=1,
                    tFAW=2, tWR=1, tRTP=1, tREFI=8, tRFC=2)
PROPS = ("age_cap",)


class DramHarness(Harness):
    def __init__(self, prop, mutations=(), params=PARAMS):
        super().__init__()
        assert prop in PROPS
        self.prop, self.params = prop, params
        self.mod = load_design("dram", mutations, {"Memory": FlopMemory})

    def elaborate(self, platform):
        m = self.top_module()
        p = self.params
        Q, cap = p.queue_depth, p.age_cap
        dut = self.mod.DramModel(p)
        with flop_memories():
            flat = Flatten(dut)
        m.submodules.dut = flat
        st = internals(flat.frag)
        drive_inputs(m, dut)
        ax = dut.s_axi
        valid = [st[f"q{i}_valid"] for i in range(Q)]
        age = [st[f"q{i}_age"] for i in range(Q)]
        count, col_fire, col_idx = st["count"], st["col_fire"], st["col_idx"]
        row_fire, row_idx = st["row_fire"], st["row_idx"]

        # design invariants: valid entries form a prefix, ages non-increasing towards the tail
        for i in range(Q):
            m.d.comb += Assert(valid[i] == (count > i))
            if i + 1 < Q:
                m.d.comb += Assert(~valid[i + 1] | (age[i] >= age[i + 1]))
            m.d.comb += Assert(age[i] <= cap)

        # ghost: follow the request accepted as number `tag`
        tag = any_const(m, 4)
        accepted = Signal(5)
        ins = (ax.arvalid & ax.arready) | (ax.awvalid & ax.awready)
        tag_in, pos = Signal(), Signal(range(Q))
        tag_age = Signal(range(cap + 1))
        with m.If(ins & (accepted != 31)):
            m.d.sync += accepted.eq(accepted + 1)
        with m.If(tag_in):
            m.d.sync += tag_age.eq(tag_age + (tag_age != cap))
            with m.If(col_fire & (col_idx == pos)):
                m.d.sync += tag_in.eq(0)
            with m.Elif(col_fire & (col_idx < pos)):
                m.d.sync += pos.eq(pos - 1)
        with m.If(ins & (accepted == tag)):
            m.d.sync += [tag_in.eq(1), pos.eq(count - col_fire), tag_age.eq(0)]

        m.d.comb += [
            Assert(~tag_in | (Array(valid)[pos] & (Array(age)[pos] == tag_age))),
            # the property: past its age cap, nothing younger is served before it
            Assert(~(tag_in & (tag_age >= cap) & col_fire) | (col_idx <= pos)),
            Assert(~(tag_in & (tag_age >= cap) & row_fire) | (row_idx <= pos)),
            Cover(tag_in & (tag_age >= cap) & col_fire & (col_idx == pos)),
            Cover(tag_in & (tag_age < cap) & col_fire & (col_idx > pos)),
        ]
        return m


MUTANTS = {
    # the age cap is never applied: FR-FCFS keeps serving younger row hits
    "age_cap_ignored": ("age_cap", [("m.d.comb += strict.eq(valid[0] & (age[0] >= p.age_cap))",
                                     "m.d.comb += strict.eq(0)")]),
}


def jobs():
    return block_jobs("dram", DramHarness, PROPS, MUTANTS, prove_depth=6, cover_depth=16,
                      mutant_depth=16)
