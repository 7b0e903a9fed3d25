"""AXI4-Lite protocol properties of the CSR block (:mod:`hw.t3csr` on the bridge of :mod:`hw.csr`).

The AXI master is assumed to follow the protocol (``AWVALID``/``WVALID``/``ARVALID`` held with
their payload until accepted); ``BREADY``/``RREADY``, the stream ``ready`` inputs and every status
input are unconstrained. Ghost counters in the harness count the handshakes of each channel.

* ``csr.write_response``: one B response per write: a B handshake never happens without an
  accepted AW and W that have not been answered yet; every accepted and unanswered write is held
  by the slave (in its AW/W buffers or as the pending response), so it is answered exactly once.
* ``csr.read_response``: one R response per read: ``RVALID`` only after an AR handshake, at most
  one read outstanding, and every accepted read is answered.
* ``csr.valid_held``: ``BVALID``/``BRESP`` and ``RVALID``/``RDATA``/``RRESP`` are held until
  accepted; so are the ``arm``/``cmd_write``/``doorbell`` stream outputs (valid and payload).
* ``csr.response_bound``: the bound :data:`hw.regmap.RESPONSE_BOUND` (N). For a master that takes
  responses at once (``BREADY`` = ``RREADY`` = 1) and completes every write it starts (offers W
  while the slave holds more addresses than data, AW while it holds more data than addresses),
  and whatever the stream ``ready`` inputs do (a stalled tracker included): ``AWREADY``,
  ``WREADY`` and ``ARREADY`` within N cycles of ``AWVALID``/``WVALID``/``ARVALID``; ``BVALID``
  within N cycles of the cycle in which a write's AW and W both have been accepted; ``RVALID``
  within N cycles of the AR handshake. A cover shows AWVALID waiting N cycles for AWREADY (the
  bound is tight; N - 1 fails the proof), and the mutant ``holds_bus_while_arm_full`` (a write waits for the arm stream, the
  old behaviour) fails the property.
"""

from amaranth.hdl import Assert, Assume, Cover, Mux, Signal, Value

from hw.params import T3Params
from hw.regmap import RESPONSE_BOUND

from .common import (Flatten, Harness, drive_inputs, internals, load_design, block_jobs,
                     subfragment)

PARAMS = T3Params(data_width=32, addr_width=4, tile_width=4, tracker_entries=4, count_width=4,
                  len_width=2, dev_width=2)
PROPS = ("write_response", "read_response", "valid_held", "response_bound")


class CsrHarness(Harness):
    def __init__(self, prop, mutations=(), params=PARAMS):
        super().__init__()
        assert prop in PROPS
        self.prop = prop
        self.params = params
        # a mutation ("lib.axil", old, new) breaks the AXI4-Lite front end the block uses
        front = [mu[1:] for mu in mutations if len(mu) == 3]
        own = [mu for mu in mutations if len(mu) == 2]
        axil = load_design("lib.axil", front)
        bridge = load_design("csr.bridge", own, {"AXI4LiteSlave": axil.AXI4LiteSlave})
        self.mod = load_design("t3csr", (),
                               {"AXI4LiteRegisterBridge": bridge.AXI4LiteRegisterBridge})

    def elaborate(self, platform):
        m = self.top_module()
        dut = self.mod.Csr(self.params)
        flat = Flatten(dut)
        m.submodules.dut = flat
        st = internals(subfragment(subfragment(flat.frag, "bridge"), "axil"))      # the AXI4-Lite front end
        drive_inputs(m, dut)
        V = Value.cast
        a = lambda name: getattr(dut, f"s_axil_{name}")   # noqa: E731

        def held(valid, ready, payload, assume):
            pv = Signal()
            pp = Signal(len(payload))
            m.d.sync += [pv.eq(valid & ~ready), pp.eq(payload)]
            cond = ~pv | (valid & (payload == pp))
            m.d.comb += (Assume(cond) if assume else Assert(cond))

        # the master follows the protocol
        held(a("awvalid"), a("awready"), a("awaddr"), True)
        held(a("wvalid"), a("wready"), a("wdata"), True)
        held(a("wvalid"), a("wready"), a("wstrb"), True)
        held(a("arvalid"), a("arready"), a("araddr"), True)

        aw_hs = a("awvalid") & a("awready")
        w_hs = a("wvalid") & a("wready")
        b_hs = a("bvalid") & a("bready")
        ar_hs = a("arvalid") & a("arready")
        r_hs = a("rvalid") & a("rready")
        aw_out = Signal(range(4))    # accepted addresses not answered yet
        w_out = Signal(range(4))
        ar_out = Signal(range(4))
        m.d.sync += [
            aw_out.eq(aw_out + aw_hs - b_hs),
            w_out.eq(w_out + w_hs - b_hs),
            ar_out.eq(ar_out + ar_hs - r_hs),
        ]
        streams = (dut.arm, dut.cmd_write, dut.doorbell)

        # design invariants (induction strengtheners)
        m.d.comb += [
            Assert(aw_out <= 2), Assert(w_out <= 2), Assert(ar_out <= 1),
            # every accepted, unanswered request is held by the slave (so it is answered once)
            Assert(aw_out == st["aw_full"] + st["b_valid"]),
            Assert(w_out == st["w_full"] + st["b_valid"]),
            Assert(ar_out == st["r_valid"]),
            Assert(~st["b_wait"]), Assert(~st["r_wait"]),   # the block answers at once
        ]

        if self.prop == "write_response":
            m.d.comb += [
                Assert(~a("bvalid") | ((aw_out != 0) & (w_out != 0))),
                Cover(b_hs & aw_hs & w_hs),
                Cover(b_hs & (a("bresp") == 0) & (aw_out == 1)),
                Cover(streams[0].valid & streams[0].ready),
            ]
        elif self.prop == "read_response":
            m.d.comb += [
                Assert(~a("rvalid") | (ar_out == 1)),
                Assert(ar_out == a("rvalid")),
                Cover(r_hs & (a("rresp") == 0)),
                Cover(r_hs & (a("rresp") == 2)),
            ]
        elif self.prop == "response_bound":
            n = RESPONSE_BOUND
            m.d.comb += [
                Assume(a("bready")), Assume(a("rready")),
                Assume(~(aw_out > w_out) | a("wvalid")),
                Assume(~(w_out > aw_out) | a("awvalid")),
            ]
            waits = {}
            for name, cond in (("aw", a("awvalid") & ~a("awready")),
                               ("w", a("wvalid") & ~a("wready")),
                               ("ar", a("arvalid") & ~a("arready")),
                               ("b", (aw_out != 0) & (w_out != 0) & ~a("bvalid")),
                               ("r", (ar_out != 0) & ~a("rvalid"))):
                wait = Signal(range(n + 2), name=f"{name}_wait")   # consecutive cycles of cond
                m.d.sync += wait.eq(Mux(cond, Mux(wait == n + 1, wait, wait + 1), 0))
                m.d.comb += Assert(~cond | (wait < n))
                m.d.comb += Assert(wait <= n)
                waits[name] = (wait, cond)
            aw_wait, aw_cond = waits["aw"]
            m.d.comb += [
                Cover(aw_cond & (aw_wait == n - 1)),
                Cover(b_hs & (a("bresp") == 2) & streams[0].valid),
                Cover(streams[0].valid & ~streams[0].ready & b_hs & (a("bresp") == 0)),
            ]
        elif self.prop == "valid_held":
            held(a("bvalid"), a("bready"), a("bresp"), False)
            held(a("rvalid"), a("rready"), a("rdata"), False)
            held(a("rvalid"), a("rready"), a("rresp"), False)
            for s in streams:
                held(s.valid, s.ready, V(s.payload), False)
            m.d.comb += [
                Cover(a("bvalid") & ~a("bready")),
                Cover(streams[1].valid & ~streams[1].ready),
            ]
        return m


MUTANTS = {
    # the slave answers a write twice (BVALID not cleared by the B handshake)
    "answers_twice": ("write_response",
                      [("lib.axil", "with m.If(b_valid & bus(\"bready\")):\n"
                        "            m.d.sync += b_valid.eq(0)",
                        "with m.If(b_valid & bus(\"bready\")):\n"
                        "            m.d.sync += b_valid.eq(1)")]),
    # AWREADY high while the AW buffer is full: an address is accepted and dropped
    "awready_always": ("write_response",
                       [("lib.axil", 'bus("awready").eq(~aw_full)', 'bus("awready").eq(1)')]),
    # a read response without a read request (RVALID raised when ARVALID is low)
    "spurious_read": ("read_response",
                      [("lib.axil", 'rd.valid.eq(bus("arvalid") & ~r_busy)', "rd.valid.eq(~r_busy)")]),
    # the old behaviour: no write executes while the arm stream holds a transfer, so a stalled
    # tracker holds AWREADY/WREADY/BVALID low without bound
    "holds_bus_while_arm_full": ("response_bound",
                                 [("m.d.comb += wr.ready.eq(1)",
                                   "m.d.comb += wr.ready.eq(~self.arm.valid)")]),
    # RVALID dropped without RREADY
    "rvalid_not_held": ("valid_held",
                        [("lib.axil", 'with m.If(r_valid & bus("rready")):', "with m.If(r_valid):")]),
}


#: Larger instance proven too: the default T3Params.
LARGE_LABEL = "default"
LARGE = dict(params=T3Params())


def jobs():
    return block_jobs("csr", CsrHarness, PROPS, MUTANTS, prove_depth=3, cover_depth=8,
                      mutant_depth=8, large=LARGE, large_label=LARGE_LABEL)
