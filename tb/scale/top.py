"""Simulation-only top of the scale runs: a :class:`hw.ring.T3Ring` with one
:class:`hw.producer.Producer` on every device, driven through the ring's existing per-device ports
(``d<i>_compute``, ``d<i>_compute_resp``, ``d<i>_remote``: the producer's packets of the paper's
step 1, ``d<i>_s_axil_*``). The ring's memories (``memory``: ``"ideal"`` or ``"dram"``, as
:class:`hw.ring.T3Ring`) have no initial contents
(:mod:`hw.simram`): the producers write every beat they later read, and a T3 run clears its
output region first.

Ports (all plain, for a C++ harness or cocotb):

* ``clk``; ``reset`` (registered once here before it reaches the design: Yosys' next-state logic
  reads the reset in every ``always @*`` block, so a top-level reset input makes Verilator
  re-evaluate them on every ``eval()``);
* ``start`` (one bit per device): a pulse on bit ``i`` starts producer ``i`` (registered: the
  producer sees it one cycle later); all bits at once start every producer in the same cycle,
  bits in different cycles give the devices a start skew (:func:`sim.scale.start_skews`);
* ``host_sel`` (registered): 1 gives the host the unit CSR ports ``d<i>_u_s_axil_*``
  (programming before the start, counters after the end), 0 gives them to the producers'
  AXI4-Lite masters (the run);
* ``d<i>_p_s_axil_*``: producer ``i``'s registers;

Every host AXI4-Lite port reaches its block through a 2-entry FIFO per channel
(:func:`_host_slice`), for the harness' speed; the run itself never uses them.
``host_slices=False`` wires them (and ``start``, ``host_sel``) straight through instead, only to
measure what the slices gain (``tools/scale.py --no-host-slices``).
* ``done`` (every producer done), ``work_done`` (every producer's measured work is over).
"""

from amaranth.hdl import Cat, ClockDomain, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from hw.t3csr import axil_members
from hw.params import T3Params
from hw.producer import Producer
from hw.ring import T3Ring

__all__ = ["ScaleTop"]

_MASTER_OUT = ("awaddr", "awprot", "awvalid", "wdata", "wstrb", "wvalid", "bready",
               "araddr", "arprot", "arvalid", "rready")
_SLAVE_OUT = ("awready", "wready", "bresp", "bvalid", "arready", "rdata", "rresp", "rvalid")


class ScaleTop(wiring.Component):
    def __init__(self, params=T3Params(), *, devices=4, link_latency=8, link_bw=(1, 1),
                 memory="ideal", host_slices=True):
        if not isinstance(host_slices, bool):
            raise TypeError(f"host_slices must be a bool, not {host_slices!r}")
        self._host_slices = host_slices
        self._params = params
        self._devices = devices
        # memories without initial contents (hw/simram.py): the export stays small at any depth
        self._ring = T3Ring(params, devices=devices, link_latency=link_latency, link_bw=link_bw,
                            memory=memory, uninitialized_memory=True)
        self._prods = [Producer(params) for _ in range(devices)]
        members = {"clk": In(1), "reset": In(1), "start": In(devices), "host_sel": In(1),
                   "done": Out(1), "work_done": Out(1)}
        for i in range(devices):
            members.update(axil_members(f"d{i}_u_s_axil"))
            members.update(axil_members(f"d{i}_p_s_axil"))
        super().__init__(members)

    @property
    def devices(self):
        return self._devices

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain()
        m.domains.ext = ext = ClockDomain(reset_less=True)
        rst_q = Signal(init=1)
        m.d.comb += [sync.clk.eq(self.clk), ext.clk.eq(self.clk), sync.rst.eq(rst_q)]
        m.d.ext += rst_q.eq(self.reset)
        # start and host_sel registered too: no top-level input reaches the design's logic
        # combinationally except through the host slices below
        if self._host_slices:
            start_q, sel = Signal(self._devices), Signal(init=1)
            m.d.ext += [start_q.eq(self.start), sel.eq(self.host_sel)]
            slice_ = _host_slice
        else:                                # direct wiring (to measure the slices' gain)
            start_q, sel, slice_ = self.start, self.host_sel, _host_wire

        m.submodules.ring = ring = self._ring
        dones, works = [], []
        for i, prod in enumerate(self._prods):
            m.submodules[f"prod{i}"] = prod
            wiring.connect(m, prod.mem_req, getattr(ring, f"d{i}_compute"))
            wiring.connect(m, getattr(ring, f"d{i}_compute_resp"), prod.mem_resp)
            # the paper's step 1 (producer MODE.direct): its packets on the unit's remote port
            wiring.connect(m, prod.remote, getattr(ring, f"d{i}_remote"))
            slice_(m, f"d{i}_p", lambda s: getattr(self, f"d{i}_p_s_axil_{s}"),
                        lambda s: getattr(prod, f"s_axil_{s}"))
            hu = {s: Signal(len(getattr(self, f"d{i}_u_s_axil_{s}")), name=f"d{i}_hu_{s}")
                  for s in _MASTER_OUT + _SLAVE_OUT}
            slice_(m, f"d{i}_u", lambda s: getattr(self, f"d{i}_u_s_axil_{s}"),
                        lambda s: hu[s])
            for s in _MASTER_OUT:
                unit_in = getattr(ring, f"d{i}_s_axil_{s}")
                host = hu[s]
                mst = getattr(prod, f"m_axil_{s}")
                m.d.comb += unit_in.eq(sel.replicate(len(host)) & host
                                       | ~sel.replicate(len(host)) & mst)
            for s in _SLAVE_OUT:
                unit_out = getattr(ring, f"d{i}_s_axil_{s}")
                valid_like = s in ("awready", "wready", "bvalid", "arready", "rvalid")
                host = hu[s]
                mst = getattr(prod, f"m_axil_{s}")
                if valid_like:
                    m.d.comb += [host.eq(unit_out & sel), mst.eq(unit_out & ~sel)]
                else:
                    m.d.comb += [host.eq(unit_out), mst.eq(unit_out)]
            m.d.comb += prod.start.eq(start_q[i])
            dones.append(prod.done)
            works.append(prod.work_done)
        all_work = Signal()
        acc_w, acc_d = works[0], dones[0]
        for w, d in zip(works[1:], dones[1:]):
            acc_w, acc_d = acc_w & w, acc_d & d
        m.d.comb += [all_work.eq(acc_w), self.work_done.eq(acc_w), self.done.eq(acc_d)]
        for prod in self._prods:
            m.d.comb += prod.check_go.eq(all_work)
        return m


#: AXI4-Lite channels: (valid, ready, payload), and whether the host drives them
_CHANNELS = (("awvalid", "awready", ("awaddr", "awprot"), True),
             ("wvalid", "wready", ("wdata", "wstrb"), True),
             ("arvalid", "arready", ("araddr", "arprot"), True),
             ("bvalid", "bready", ("bresp",), False),
             ("rvalid", "rready", ("rdata", "rresp"), False))


def _host_wire(m, name, host, dut):
    """The same join as :func:`_host_slice` with wires only."""
    for valid, ready, payload, forward in _CHANNELS:
        src, dst = (host, dut) if forward else (dut, host)
        m.d.comb += [dst(valid).eq(src(valid)), src(ready).eq(dst(ready)),
                     *(dst(p).eq(src(p)) for p in payload)]


def _host_slice(m, name, host, dut):
    """Join an AXI4-Lite port of the top (``host(signal name)``) to one inside
    (``dut(signal name)``) through a 2-entry FIFO per channel, so that the host's inputs drive
    only the FIFOs' write side: Verilator re-evaluates the logic reachable from top-level inputs
    on every ``eval()``, and without these slices that was the unit CSR blocks' and the
    producers' address decoders (19% of the harness' profile). Full AXI4-Lite handshakes on both
    sides, one cycle more per channel; only the set-up and the read-back use these ports."""
    for valid, ready, payload, forward in _CHANNELS:
        src, dst = (host, dut) if forward else (dut, host)
        width = sum(len(src(p)) for p in payload)
        fifo = SyncFIFO(width=width, depth=2)
        m.submodules[f"{name}_{valid[:-5]}_slice"] = fifo
        m.d.comb += [fifo.w_data.eq(Cat(*(src(p) for p in payload))), fifo.w_en.eq(src(valid)),
                     src(ready).eq(fifo.w_rdy), dst(valid).eq(fifo.r_rdy),
                     fifo.r_en.eq(dst(ready))]
        lo = 0
        for p in payload:
            n = len(dst(p))
            m.d.comb += dst(p).eq(fifo.r_data[lo:lo + n])
            lo += n
