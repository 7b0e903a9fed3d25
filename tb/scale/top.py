"""Simulation-only top of the scale runs: a :class:`hw.ring.T3Ring` with one
:class:`hw.producer.Producer` on every device, driven through the ring's existing per-device ports
(``d<i>_compute``, ``d<i>_compute_resp``, ``d<i>_s_axil_*``).

Ports (all plain, for a C++ harness or cocotb):

* ``clk``; ``reset`` (registered once here before it reaches the design: Yosys' next-state logic
  reads the reset in every ``always @*`` block, so a top-level reset input makes Verilator
  re-evaluate them on every ``eval()``);
* ``start``: one pulse starts every producer in the same cycle;
* ``host_sel``: 1 gives the host the unit CSR ports ``d<i>_u_s_axil_*`` (programming before the
  start, counters after the end), 0 gives them to the producers' AXI4-Lite masters (the run);
* ``d<i>_p_s_axil_*``: producer ``i``'s registers;
* ``done`` (every producer done), ``work_done`` (every producer's measured work is over).
"""

from amaranth.hdl import ClockDomain, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.csr import axil_members
from hw.params import T3Params
from hw.producer import Producer
from hw.ring import T3Ring

__all__ = ["ScaleTop"]

_MASTER_OUT = ("awaddr", "awprot", "awvalid", "wdata", "wstrb", "wvalid", "bready",
               "araddr", "arprot", "arvalid", "rready")
_SLAVE_OUT = ("awready", "wready", "bresp", "bvalid", "arready", "rdata", "rresp", "rvalid")


class ScaleTop(wiring.Component):
    def __init__(self, params=T3Params(), *, devices=4, link_latency=8, link_bw=(1, 1)):
        self._params = params
        self._devices = devices
        self._ring = T3Ring(params, devices=devices, link_latency=link_latency, link_bw=link_bw)
        self._prods = [Producer(params) for _ in range(devices)]
        members = {"clk": In(1), "reset": In(1), "start": In(1), "host_sel": In(1),
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

        m.submodules.ring = ring = self._ring
        dones, works = [], []
        for i, prod in enumerate(self._prods):
            m.submodules[f"prod{i}"] = prod
            wiring.connect(m, prod.mem_req, getattr(ring, f"d{i}_compute"))
            wiring.connect(m, getattr(ring, f"d{i}_compute_resp"), prod.mem_resp)
            for name in prod.signature.members:
                if name.startswith("s_axil_"):
                    outer = getattr(self, f"d{i}_p_{name}")
                    if prod.signature.members[name].flow == In:
                        m.d.comb += getattr(prod, name).eq(outer)
                    else:
                        m.d.comb += outer.eq(getattr(prod, name))
            sel = self.host_sel
            for s in _MASTER_OUT:
                unit_in = getattr(ring, f"d{i}_s_axil_{s}")
                host = getattr(self, f"d{i}_u_s_axil_{s}")
                mst = getattr(prod, f"m_axil_{s}")
                m.d.comb += unit_in.eq(sel.replicate(len(host)) & host
                                       | ~sel.replicate(len(host)) & mst)
            for s in _SLAVE_OUT:
                unit_out = getattr(ring, f"d{i}_s_axil_{s}")
                valid_like = s in ("awready", "wready", "bvalid", "arready", "rvalid")
                host = getattr(self, f"d{i}_u_s_axil_{s}")
                mst = getattr(prod, f"m_axil_{s}")
                if valid_like:
                    m.d.comb += [host.eq(unit_out & sel), mst.eq(unit_out & ~sel)]
                else:
                    m.d.comb += [host.eq(unit_out), mst.eq(unit_out)]
            m.d.comb += prod.start.eq(self.start)
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
