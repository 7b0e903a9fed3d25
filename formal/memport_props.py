"""AXI4 master properties of the memory port (:mod:`hw.memport`).

Small instance: 32-bit beats, 2-bit beat addresses (4-bit byte addresses), ``outstanding=2``
(``resp_depth`` = 2, combinational adder); also proven with ``outstanding=3`` (FIFO pointers that
wrap at a depth that is not a power of two), ``resp_depth=2`` and ``alu_stages=1``. The request
stream and the two response streams' ``ready`` are unconstrained. Every ``SyncFIFO`` of the port
is built from flip-flops (:class:`formal.common.FlopMemory`) so the harness can read its entries.

**The AXI slave** drives ``*ready``, ``rvalid``/``rid``/``rdata``/``rresp``/``rlast`` and
``bvalid``/``bid``/``bresp`` freely, constrained only by two rules every legal AXI4 slave follows
(ARM IHI 0022, A3.3.1 dependencies, and the one-beat bursts this master issues):

* an R beat with ``RID = k`` only while an AR with ``ARID = k`` is outstanding (handshaken and not
  yet answered): ``rvalid -> ar_out[rid] > 0``;
* a B response with ``BID = k`` only after the address of a write with ``AWID = k`` and after the
  data of a write: ``bvalid -> aw_pend[bid] > 0 and w_pend > 0``.

Nothing else is assumed: ``rlast``, ``rresp``, ``bresp`` are free, R beats of different IDs, B
responses of different IDs, and the R and B channels come in any order, ``rvalid``/``bvalid``
need not be held (the master's ``rready``/``bready`` are always 1 anyway).

**Ghost counters** (harness registers, updated from handshakes only):

* ``ar_out[k]``: AR handshakes with ``ARID = k`` minus R handshakes with ``RID = k``;
* ``aw_pend[k]``: AW handshakes with ``AWID = k`` minus B handshakes with ``BID = k``
  (``aw_pend``: their sum); ``w_pend``: W handshakes minus B handshakes;
* ``w_ahead``: W handshakes minus AW handshakes since reset (signed: negative while an AW has been
  issued before its W beat);
* ``g_occ``: requests accepted (out of the port's input register) minus completions, a
  completion being an R handshake with
  ``RID`` in {``ID_COMPUTE``, ``ID_COMM``} (a READ) or a B handshake (a STORE or an UPDATE; the R
  beat of an UPDATE's read half completes nothing); ``g_lag``: 1 in the cycle after a READ's R.

Properties:

* ``memport.valid_held``: ``ARVALID`` with ``ARID``/``ARADDR``/``ARLEN``/``ARSIZE``/``ARBURST``,
  ``AWVALID`` with ``AWID``/``AWADDR``/``AWLEN``/``AWSIZE``/``AWBURST``, and ``WVALID`` with
  ``WDATA``/``WSTRB``/``WLAST`` stay asserted and unchanged from a cycle with valid and not ready
  to the next.
* ``memport.w_beats`` (no W beat past LEN): every AR and AW has ``AxLEN = 0``, full-width
  ``AxSIZE``, INCR; every W beat has ``WLAST = 1`` and all ``WSTRB`` bits; and
  ``w_ahead <= aw_level``: the W beats handshaken never exceed the AWs handshaken plus the AWs
  queued in the port (``aw_level``, the entries of its AW queue, which it presents on AW in order).
* ``memport.outstanding``: ``sum(ar_out) + aw_pend <= outstanding`` (AXI transactions issued and
  not completed never exceed the slots); ``occupancy == g_occ + g_lag <= outstanding`` (the
  documented timing: a request counts from the cycle after its acceptance until the cycle after its
  R beat or the cycle of its B response), and ``occupancy`` equals the number of valid slots, so
  one completion frees exactly one slot; no internal queue is ever written while full.

Induction strengtheners (asserted in every proof; left out of the mutant runs, which are BMC from
reset and must fail the property's own assertions): the FIFO pointer relations; every valid slot
appears exactly once among the entries of the READ-slot queues, the UPDATE queues, the adder
pipeline and the B queues, and no entry names a free slot; per ARID, the entries of that ID's
queue equal the ARs of that ID queued + outstanding + in the R register; per AWID, the entries of
that ID's B queue equal the AWs of that ID queued + ``aw_pend[k]``; the B queues together hold
as many entries as the W queue plus ``w_pend``; each class's READ
credits equal its pending READs plus its buffered responses.

Mutants (source patches of ``hw/memport.py``): ``ar_dropped`` (the AR queue pops without
``ARREADY``) and ``wdata_not_held`` (``WDATA`` zero while ``WREADY`` is low) fail ``valid_held``;
``awlen_one`` (AWLEN = 1) and ``store_without_aw`` (a STORE pushes its W beat but no AW) fail
``w_beats``; ``no_slot_check`` (a request accepted with every slot in use) and
``update_read_frees_slot`` (the R beat of an UPDATE's read frees a slot too) fail ``outstanding``.
"""

from amaranth.hdl import Assert, Assume, Cat, Cover, Signal, Value
from hw.lib.axi import BURST_INCR
from hw.params import T3Params

from .common import (Flatten, Harness, _mod, block_jobs, drive_inputs, flop_queue_class,
                     internals, load_design)

PARAMS = T3Params(data_width=32, addr_width=2, tile_width=2, tracker_entries=2, count_width=2,
                  len_width=2, dev_width=1)
PROPS = ("valid_held", "w_beats", "outstanding")
#: The port's queues, in the order ``MemPort.elaborate`` creates them.
FIFOS = ("ar_q", "aw_q", "w_q", "b0_q", "b1_q", "rc_q", "rm_q", "ruc_q", "rum_q", "resp_c",
         "resp_m")
# restated from the docstring of hw.memport
ID_COMPUTE, ID_COMM, ID_UPDATE_COMPUTE, ID_UPDATE_COMM = 0, 1, 2, 3


class MemPortHarness(Harness):
    def __init__(self, prop, mutations=(), params=PARAMS, outstanding=2, resp_depth=None,
                 alu_stages=0):
        super().__init__()
        assert prop in PROPS
        self.prop = prop
        self.params = params
        self.kw = dict(outstanding=outstanding, resp_depth=resp_depth, alu_stages=alu_stages)
        # mutants are checked by BMC from reset: only the property's own assertions
        self.strengthen = not mutations
        self.queue_cls = flop_queue_class()
        self.mod = load_design("memport", mutations, {"Queue": self.queue_cls})

    def elaborate(self, platform):
        m = self.top_module()
        dut = self.mod.MemPort(self.params, **self.kw)
        n = dut.outstanding
        sbits = max(1, (n - 1).bit_length())
        flat = Flatten(dut)
        assert len(self.queue_cls.made) == len(FIFOS), "MemPort's queues changed: update FIFOS"
        fifos = dict(zip(FIFOS, self.queue_cls.made))
        m.submodules.dut = flat
        st = internals(flat.frag)
        drive_inputs(m, dut)
        axi = dut.m_axi
        asserts = []         # the property's own assertions
        strong = []          # induction strengtheners (conditions)

        ar_hs = axi.arvalid & axi.arready
        aw_hs = axi.awvalid & axi.awready
        w_hs = axi.wvalid & axi.wready
        r_hs = axi.rvalid & axi.rready
        b_hs = axi.bvalid & axi.bready
        accept = st["accept"]              # a request leaves the input register, takes a slot

        # -- ghost counters (handshakes only)
        big = 2 * n + 4
        ar_out = [Signal(range(big), name=f"g_ar_out{k}") for k in range(4)]
        for k in range(4):
            m.d.sync += ar_out[k].eq(ar_out[k] + (ar_hs & (axi.arid == k))
                                     - (r_hs & (axi.rid == k)))
        aw_pend_k = [Signal(range(big), name=f"g_aw_pend{k}") for k in range(4)]
        for k in range(4):
            m.d.sync += aw_pend_k[k].eq(aw_pend_k[k] + (aw_hs & (axi.awid == k))
                                        - (b_hs & (axi.bid == k)))
        aw_pend = Signal(range(4 * big))
        m.d.comb += aw_pend.eq(sum(aw_pend_k))
        w_pend = Signal(range(big))
        w_ahead = Signal(range(-big, big))
        m.d.sync += [w_pend.eq(w_pend + w_hs - b_hs), w_ahead.eq(w_ahead + w_hs - aw_hs)]
        read_done = r_hs & ((axi.rid == ID_COMPUTE) | (axi.rid == ID_COMM))
        g_occ = Signal(range(big))
        g_lag = Signal()
        m.d.sync += [g_occ.eq(g_occ + accept - read_done - b_hs), g_lag.eq(read_done)]
        ar_issued = Signal(range(4 * big))
        m.d.comb += ar_issued.eq(sum(ar_out))

        # -- the slave is a legal AXI4 slave (see the module docstring)
        with m.Switch(axi.rid):
            for k in range(4):
                with m.Case(k):
                    m.d.comb += Assume(~axi.rvalid | (ar_out[k] != 0))
        with m.Switch(axi.bid):
            for k in range(4):
                with m.Case(k):
                    m.d.comb += Assume(~axi.bvalid | ((aw_pend_k[k] != 0) & (w_pend != 0)))

        # -- the queues' entries (oldest first) and pointer invariants
        entries = {}
        for name, q in fifos.items():
            depth = q.depth
            produce, consume = q.produce, q.consume
            strong += [q.level <= depth, consume < depth, produce < depth,
                       produce == _mod(m, consume + q.level, depth, f"{name}_prod_exp")]
            ents = []
            for j in range(depth):
                pos = _mod(m, consume + j, depth, f"{name}_pos{j}")
                row = Signal(len(Value.cast(q.r.payload)), name=f"{name}_ent{j}")
                with m.Switch(pos):
                    for i in range(depth):
                        with m.Case(i):
                            m.d.comb += row.eq(q.storage.rows[i])
                ents.append((j < q.level, row))
            entries[name] = ents
        lv = {name: q.level for name, q in fifos.items()}

        # -- strengtheners: slots, per-ID read queues, write queues, credits
        rq_valid, rq_id = st["rq_valid"], st["rq_id"]
        slot_valid = [st[f"slot{i}_valid"] for i in range(n)]
        occ = dut.occupancy
        holders = []                                    # (valid, slot) of every slot holder
        for name in ("rc_q", "rm_q", "b0_q", "b1_q"):
            holders += [(v, row[:sbits]) for v, row in entries[name]]
        for name in ("ruc_q", "rum_q"):                 # slot is the first field
            holders += [(v, row[:sbits]) for v, row in entries[name]]
        for j in range(dut.alu_stages):
            holders.append((st[f"alu{j + 1}_valid"], st[f"alu{j + 1}_slot"]))
        n_holders = Signal(range(8 * n + 8))
        m.d.comb += n_holders.eq(sum(v for v, _ in holders))
        strong.append(n_holders == occ)
        for i in range(n):
            cnt = Signal(range(8 * n + 8), name=f"slot{i}_holders")
            m.d.comb += cnt.eq(sum(v & (s == i) for v, s in holders))
            strong.append(cnt == slot_valid[i])
        arq_cnt = []
        for k in range(4):
            c = Signal(range(n + 2), name=f"arq_id{k}")
            m.d.comb += c.eq(sum(v & (row[:2] == k) for v, row in entries["ar_q"]))
            arq_cnt.append(c)
        for k, qname in ((ID_COMPUTE, "rc_q"), (ID_COMM, "rm_q"), (ID_UPDATE_COMPUTE, "ruc_q"),
                         (ID_UPDATE_COMM, "rum_q")):
            strong.append(lv[qname] == arq_cnt[k] + ar_out[k] + (rq_valid & (rq_id == k)))
        # the AW queue's entries by AWID (the last field of an entry)
        awq_cnt = []
        for k in range(2):
            c = Signal(range(n + 2), name=f"awq_id{k}")
            m.d.comb += c.eq(sum(v & (row[-1] == k) for v, row in entries["aw_q"]))
            awq_cnt.append(c)
        strong += [
            lv["b0_q"] == awq_cnt[0] + aw_pend_k[0],
            lv["b1_q"] == awq_cnt[1] + aw_pend_k[1],
            aw_pend_k[2] == 0, aw_pend_k[3] == 0,
            lv["b0_q"] + lv["b1_q"] == lv["w_q"] + w_pend,
            w_ahead == lv["aw_q"] - lv["w_q"],
            st["reads_c"] == lv["rc_q"] + lv["resp_c"],
            st["reads_m"] == lv["rm_q"] + lv["resp_m"],
            st["reads_c"] <= dut.resp_depth,
            st["reads_m"] <= dut.resp_depth,
            st["reads_c_full"] == (st["reads_c"] == dut.resp_depth),
            st["reads_m_full"] == (st["reads_m"] == dut.resp_depth),
            st["rq_upd"] == (rq_valid & rq_id[1]),
            g_occ <= n, aw_pend <= n, w_pend <= n, ar_issued <= n,
            occ == g_occ + g_lag,
        ]
        n_valid = Signal(range(n + 1))
        m.d.comb += n_valid.eq(sum(slot_valid))
        strong.append(n_valid == occ)
        # the registered free-slot pick names a free slot
        alloc_idx, free_any = st["alloc_idx"], st["free_any"]
        for i in range(n):
            strong.append(~(free_any & (alloc_idx == i)) | ~slot_valid[i])
        strong += [~q.w.valid | q.w.ready for q in fifos.values()]

        # -- the properties
        def held(name, valid, ready, payload):
            pv = Signal(name=f"{name}_stalled")
            pp = Signal(len(payload), name=f"{name}_prev")
            m.d.sync += [pv.eq(valid & ~ready), pp.eq(payload)]
            asserts.append(Assert(~pv | (valid & (payload == pp))))
            return pv

        covers = []
        if self.prop == "valid_held":
            ar_st = held("ar", axi.arvalid, axi.arready,
                         Cat(axi.arid, axi.araddr, axi.arlen, axi.arsize, axi.arburst))
            aw_st = held("aw", axi.awvalid, axi.awready,
                         Cat(axi.awid, axi.awaddr, axi.awlen, axi.awsize, axi.awburst))
            w_st = held("w", axi.wvalid, axi.wready, Cat(axi.wdata, axi.wstrb, axi.wlast))
            covers += [Cover(ar_st & ar_hs & (axi.arid == ID_UPDATE_COMM)),
                       Cover(aw_st & aw_hs & (axi.awid == 1)),
                       Cover(w_st & w_hs & (axi.wdata != 0))]
        elif self.prop == "w_beats":
            size = dut.axi_signature.size
            strb = (1 << (self.params.data_width // 8)) - 1
            asserts += [
                Assert(~axi.arvalid | ((axi.arlen == 0) & (axi.arsize == size)
                                       & (axi.arburst == BURST_INCR))),
                Assert(~axi.awvalid | ((axi.awlen == 0) & (axi.awsize == size)
                                       & (axi.awburst == BURST_INCR))),
                Assert(~axi.wvalid | (axi.wlast & (axi.wstrb == strb))),
                Assert(w_ahead <= lv["aw_q"]),
            ]
            covers += [Cover(w_hs & (w_ahead == 1)),            # a W beat before its AW
                       Cover(aw_hs & (w_ahead == 0) & (lv["aw_q"] == 2)),
                       Cover(b_hs & (aw_pend == 2))]
        elif self.prop == "outstanding":
            asserts += [
                Assert(ar_issued + aw_pend <= n),
                Assert(occ == g_occ + g_lag),
                Assert(occ <= n),
                Assert(n_valid == occ),
            ]
            for q in fifos.values():
                asserts.append(Assert(~q.w.valid | q.w.ready))
            covers += [Cover(occ == n), Cover(ar_issued + aw_pend == n),
                       Cover(g_lag & b_hs & (occ == 2)),        # two slots freed in one cycle
                       Cover(accept & b_hs & (occ == n - 1))]   # one slot taken, one freed

        m.d.comb += asserts + covers
        if self.strengthen:
            m.d.comb += [Assert(c) for c in strong]
        return m


MUTANTS = {
    # the AR queue pops whether or not ARREADY: ARVALID/ARADDR change before the handshake
    "ar_dropped": ("valid_held", [("ar_q.r.ready.eq(axi.arready)", "ar_q.r.ready.eq(1)")]),
    # WDATA driven only while WREADY is high
    "wdata_not_held": ("valid_held", [("axi.wdata.eq(w_q.r.payload)",
                                       "axi.wdata.eq(Mux(axi.wready, w_q.r.payload, 0))")]),
    # a two-beat AW burst for a one-beat write
    "awlen_one": ("w_beats", [("axi.awlen.eq(0)", "axi.awlen.eq(1)")]),
    # a STORE pushes its W beat (and B slot) but no AW
    "store_without_aw": ("w_beats", [("aw_q.w.valid.eq(upd_push | acc_store)",
                                      "aw_q.w.valid.eq(upd_push)")]),
    # a request accepted while every slot is in use
    "no_slot_check": ("outstanding", [("accept.eq(in_valid & free_any & ~in_hazard & op_ok)",
                                       "accept.eq(in_valid & ~in_hazard & op_ok)")]),
    # the R beat of an UPDATE's read half frees a slot as if it were a comm READ
    "update_read_frees_slot": ("outstanding",
                               [("with m.Elif(rq_valid & (rq_id == ID_COMM)):",
                                 "with m.Elif(rq_valid & (rq_id != ID_COMPUTE)):")]),
}

PROVE_DEPTH = 3
COVER_DEPTH = 10
MUTANT_DEPTH = 10

#: Larger instance proven too: three slots (FIFO depth 3), two READ credits, a pipelined adder.
LARGE_LABEL = "o3"
LARGE = dict(outstanding=3, resp_depth=2, alu_stages=1)


def jobs():
    return block_jobs("memport", MemPortHarness, PROPS, MUTANTS, prove_depth=PROVE_DEPTH,
                      cover_depth=COVER_DEPTH, mutant_depth=MUTANT_DEPTH, large=LARGE,
                      large_label=LARGE_LABEL)
