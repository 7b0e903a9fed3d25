"""Bench-only top for the memory-interference measurement: the unit's memory side (Arbiter ->
MemPort -> AXI4 -> a memory) with two synthetic request streams generated in RTL.

* compute (the GEMM): tiles of ``c_reads`` READs from an input region (sequential beat addresses),
  then ``c_gap`` cycles with no request (the tile's math), then ``c_beats`` STOREs to an output
  region, ``c_tiles`` tiles; every request is offered as soon as the previous one is taken
  (``c_gap = 0``: a bandwidth-bound kernel). ``c_cycles`` counts from ``start`` until its last request is
  accepted; ``c_done`` then rises.
* communication (a device in the ring): a token bucket adds ``m_num`` every cycle and, for every
  ``m_den`` accumulated, makes one *link beat* pending; a link beat is a DMA READ of the next beat
  of a send region and an UPDATE (incoming NMC update) of the next beat of a receive region, so
  ``m_num / m_den`` is the link rate in beats per cycle and the memory sees twice that in
  requests. ``m_num = 0`` disables it. Pending requests wait (unbounded count) until granted.

Counters (from ``start``): ``m_issued`` comm requests accepted; ``m_wait_sum`` the sum over cycles
of the comm requests pending (Little's law: mean wait = ``m_wait_sum / m_issued``);
``m_resp`` comm READ responses; ``stall_c``/``stall_m`` from the arbiter. The arbiter sees the
memory port's occupancy through a register, as in :class:`hw.unit.T3Core`.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.arbiter import Arbiter
from hw.memport import MemPort
from hw.params import ArbPolicy, MemOp, ReqClass, T3Params
from hw.ring import dram_behind
from hw.sram import AxiSram

__all__ = ["InterferenceTop"]


class InterferenceTop(wiring.Component):
    def __init__(self, params=T3Params(), *, memory="ideal", dram_params=None, outstanding=16):
        self._params = params
        self._port = MemPort(params, outstanding=outstanding)
        if memory == "ideal":
            self._mem = AxiSram(params)
        elif memory == "dram":
            self._mem = dram_behind(self._port, dram_params)
        else:
            raise ValueError(f"memory must be 'ideal' or 'dram', not {memory!r}")
        aw = params.addr_width
        super().__init__({
            "start": In(1),
            "policy": In(ArbPolicy),
            "threshold": In(8),
            "starvation": In(16),
            "c_reads": In(8), "c_beats": In(8), "c_tiles": In(16), "c_gap": In(8),
            "c_in_base": In(aw), "c_out_base": In(aw),
            "m_num": In(8), "m_den": In(8),
            "m_send_base": In(aw), "m_recv_base": In(aw), "m_span": In(aw),
            "c_done": Out(1), "c_cycles": Out(32), "c_issued": Out(32),
            "m_issued": Out(32), "m_wait_sum": Out(48), "m_resp": Out(32),
            "stall_c": Out(32), "stall_m": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        m.submodules.arb = arb = Arbiter(p, occupancy_max=255)
        m.submodules.port = port = self._port
        m.submodules.mem = mem = self._mem
        wiring.connect(m, port.m_axi, mem.s_axi)
        wiring.connect(m, arb.out, port.req)
        occ = Signal.like(port.occupancy)
        m.d.sync += occ.eq(port.occupancy)
        m.d.comb += [
            arb.policy.eq(self.policy),
            arb.threshold.eq(self.threshold),
            arb.starvation_limit.eq(self.starvation),
            arb.occupancy.eq(occ),
            port.compute_resp.ready.eq(1),
            port.comm_resp.ready.eq(1),
            self.stall_c.eq(arb.stalled_compute),
            self.stall_m.eq(arb.stalled_comm),
        ]
        running = Signal()
        with m.If(self.start):
            m.d.sync += running.eq(1)

        # -- compute: tiles of reads then stores -----------------------------------------------
        c_tile = Signal(16)
        c_idx = Signal(9)             # index within the tile: reads first, then stores
        c_in = Signal(p.addr_width)
        c_out = Signal(p.addr_width)
        c_writing = c_idx >= self.c_reads
        c_active = running & ~self.c_done
        c_wait = Signal(8)            # the tile's math: cycles left before its stores
        m.d.comb += [
            arb.compute.valid.eq(c_active & (c_wait == 0)),
            arb.compute.payload.op.eq(Mux(c_writing, MemOp.STORE, MemOp.READ)),
            arb.compute.payload.addr.eq(Mux(c_writing, c_out, c_in)),
            arb.compute.payload.data.eq(c_out),
            arb.compute.payload.cls.eq(ReqClass.COMPUTE),
        ]
        with m.If(self.start):
            m.d.sync += [c_tile.eq(0), c_idx.eq(0), c_wait.eq(0), c_in.eq(self.c_in_base),
                         c_out.eq(self.c_out_base), self.c_done.eq(self.c_tiles == 0),
                         self.c_cycles.eq(0), self.c_issued.eq(0)]
        with m.Elif(c_active):
            m.d.sync += self.c_cycles.eq(self.c_cycles + 1)
            with m.If(c_wait != 0):
                m.d.sync += c_wait.eq(c_wait - 1)
            with m.Elif(arb.compute.ready):
                m.d.sync += self.c_issued.eq(self.c_issued + 1)
                with m.If(c_writing):
                    m.d.sync += c_out.eq(c_out + 1)
                with m.Else():
                    m.d.sync += c_in.eq(c_in + 1)
                with m.If(c_idx + 1 == self.c_reads + self.c_beats):
                    m.d.sync += [c_idx.eq(0), c_tile.eq(c_tile + 1)]
                    with m.If(c_tile + 1 == self.c_tiles):
                        m.d.sync += self.c_done.eq(1)
                with m.Else():
                    m.d.sync += c_idx.eq(c_idx + 1)
                    with m.If(c_idx + 1 == self.c_reads):
                        m.d.sync += c_wait.eq(self.c_gap)

        # -- communication: a token bucket of link beats, each a DMA READ and an UPDATE ---------
        acc = Signal(9)
        pending = Signal(24)          # requests generated and not yet accepted
        m_phase = Signal()            # 0: the next request is the READ, 1: the UPDATE
        m_off_r = Signal(p.addr_width)
        m_off_u = Signal(p.addr_width)
        gen = Signal()
        m_on = running & ~self.c_done & (self.m_num != 0)
        with m.If(m_on):
            with m.If(acc + self.m_num >= self.m_den):
                m.d.comb += gen.eq(1)
                m.d.sync += acc.eq(acc + self.m_num - self.m_den)
            with m.Else():
                m.d.sync += acc.eq(acc + self.m_num)
        take = arb.comm.valid & arb.comm.ready
        m.d.sync += pending.eq(pending + (gen * 2) - take)
        m.d.comb += [
            arb.comm.valid.eq(pending != 0),
            arb.comm.payload.op.eq(Mux(m_phase, MemOp.UPDATE, MemOp.READ)),
            arb.comm.payload.addr.eq(Mux(m_phase, self.m_recv_base + m_off_u,
                                         self.m_send_base + m_off_r)),
            arb.comm.payload.data.eq(1),
            arb.comm.payload.cls.eq(ReqClass.COMM),
        ]

        def wrap(v):
            return Mux(v + 1 == self.m_span, 0, v + 1)

        with m.If(self.start):
            m.d.sync += [acc.eq(0), pending.eq(0), m_phase.eq(0), m_off_r.eq(0), m_off_u.eq(0),
                         self.m_issued.eq(0), self.m_wait_sum.eq(0), self.m_resp.eq(0)]
        with m.Else():
            with m.If(take):
                m.d.sync += [self.m_issued.eq(self.m_issued + 1), m_phase.eq(~m_phase)]
                with m.If(m_phase):
                    m.d.sync += m_off_u.eq(wrap(m_off_u))
                with m.Else():
                    m.d.sync += m_off_r.eq(wrap(m_off_r))
            with m.If(running & ~self.c_done):
                m.d.sync += self.m_wait_sum.eq(self.m_wait_sum + pending)
            with m.If(port.comm_resp.valid):
                m.d.sync += self.m_resp.eq(self.m_resp + 1)
        return m
