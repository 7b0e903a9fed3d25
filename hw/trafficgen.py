"""Synthesizable GEMM-producer traffic generator: tracked writes of output tiles, set up by registers.

The generator stands in for the GEMM kernel of one device: it writes ``num_tiles`` output tiles of
``beats`` beats each on a ``mem_request`` stream (the :class:`hw.unit.T3Core` ``compute`` port), with
tile ids, addresses, operation, order, compute gaps and data set at run time through an AXI4-Lite
register block. The data is a counter or an LFSR, so a host (or a testbench) can predict every word.

Traffic definition (all arithmetic modulo the field widths)
-----------------------------------------------------------
Tile *i* (``0 <= i < NUM_TILES``) has tile id ``FIRST_TILE + i * TILE_STRIDE`` (mod
``2**tile_width``) and its beat *b* (``0 <= b < BEATS``) goes to beat address
``BASE_ADDR + i * BEATS + b`` (mod ``2**addr_width``). Emission order (``MODE.order``):

* ``0`` *tile-major*: tile 0 beats 0..BEATS-1, then tile 1, ...; ``GAP`` idle cycles after each tile
  (the compute time of the next tile);
* ``1`` *interleaved*: beat 0 of tiles 0..NUM_TILES-1, then beat 1 of every tile, ...; ``GAP`` idle
  cycles after each such round (many tiles in flight at once, as with a GEMM's k-loop).

The *n*-th request emitted (``n = 0, 1, ...`` in emission order) carries the 32-bit value ``v(n)`` in
every 32-bit lane of ``data``:

* ``MODE.data = 0`` (counter): ``v(n) = (SEED + n) mod 2**32``;
* ``MODE.data = 1`` (LFSR): ``v(0) = SEED``, ``v(n+1) = v(n) >> 1`` XOR ``0x80200003`` if bit 0 of
  ``v(n)`` is set (Galois form of x^32 + x^22 + x^2 + x + 1, maximal length; seed 0 stays 0).

Every request has ``cls = COMPUTE``, ``op = STORE`` or ``UPDATE`` (``MODE.op``) and
``tracked = MODE.tracked``. :func:`reference` is the same definition in Python.

Register map (:func:`build_map`, declared with the register model of :mod:`hw.csr` and served by
its AXI4-Lite bridge; 32-bit registers, byte offsets; unmapped addresses, writes to read-only
registers and writes with ``WSTRB != 0b1111`` answer ``SLVERR`` and change nothing; reserved bits
read 0). Writes to the configuration registers while a run is busy are refused with ``SLVERR``
(the run keeps the configuration it started with). The generated descriptions are
``docs/tg_regs.rdl`` (SystemRDL), ``docs/tg_regs.xml`` (IP-XACT) and ``docs/tg_regs.h``.

======  ==========  ======  ==========================================================================
offset  name        access  fields
======  ==========  ======  ==========================================================================
0x00    ID          RO      0x5447_0001: ASCII "TG", version 0.1
0x04    CTRL        WS      bit 0 ``start`` (ignored while busy), bit 1 ``stop`` (end the run early)
0x08    STATUS      RO      bit 0 ``busy``, bit 1 ``done`` (set when a run ends, cleared by start)
0x0C    NUM_TILES   RW      [15:0] tiles per run (0: the run ends at once with nothing sent)
0x10    BEATS       RW      [15:0] beats per tile (0: nothing sent)
0x14    FIRST_TILE  RW      [tile_width-1:0] id of tile 0
0x18    TILE_STRIDE RW      [tile_width-1:0] tile id step between consecutive tiles (reset 1)
0x1C    BASE_ADDR   RW      [addr_width-1:0] beat address of tile 0 beat 0
0x20    GAP         RW      [15:0] idle cycles after each tile (tile-major) or round (interleaved)
0x24    MODE        RW      bit 0 ``op`` (0 store, 1 update), bit 1 ``data`` (0 counter, 1 LFSR),
                            bit 2 ``order`` (0 tile-major, 1 interleaved), bit 3 ``tracked`` (reset 1)
0x28    SEED        RW      [31:0] first data value / LFSR seed
0x2C    BEATS_SENT  RO      [31:0] requests accepted by the consumer since the last start
0x30    CYCLES      RO      [31:0] cycles from start to the end of the run (counting while busy)
======  ==========  ======  ==========================================================================
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

from .csr import Access, AXI4LiteRegisterBridge, Field as F, Register, RegisterMap
from .lib.axil import axil_members, connect_axil
from .lib.checked import CheckedArguments
from .params import MemOp, ReqClass, T3Params

__all__ = ["TrafficGen", "TG_REGS", "TG_ID", "LFSR_TAPS", "lfsr_next", "reference", "axil_members",
           "build_map"]

#: Constant of the ``ID`` register.
TG_ID = 0x5447_0001
#: Galois LFSR tap mask (x^32 + x^22 + x^2 + x + 1).
LFSR_TAPS = 0x8020_0003


def build_map(params=None):
    """The generator's register map (rules of :mod:`hw.csr.reg`; no error register: a refused
    write only answers SLVERR). The configuration registers are ``lockable``: the bridge's
    ``write_lock`` is the generator's ``busy``."""
    p = T3Params() if params is None else params
    if not isinstance(p, T3Params):
        raise TypeError(f"params must be a T3Params, not {p!r}")
    RW, RO, WS = Access.RW, Access.RO, Access.WS

    def config(name, offset, desc, fields):
        return Register(name, offset, desc, fields, lockable=True,
                        notes="Refused (SLVERR) while STATUS.busy is 1.")

    regs = [
        Register("ID", 0x00, "Identification: ASCII \"TG\", version 0.1.", [
            F("value", 0, 32, RO, "0x54470001.", const=TG_ID, port=False)]),
        Register("CTRL", 0x04, "Run control (write strobes, read 0).", [
            F("start", 0, 1, WS, "Write 1: start a run (ignored while busy).", port=False),
            F("stop", 1, 1, WS, "Write 1: end the run early.", port=False)]),
        Register("STATUS", 0x08, "Run status.", [
            F("busy", 0, 1, RO, "A run is in progress.", port=False),
            F("done", 1, 1, RO, "Set when a run ends, cleared by a start.", port=False)]),
        config("NUM_TILES", 0x0C, "Tiles per run.", [
            F("value", 0, 16, RW, "Tiles per run (0: the run ends at once with nothing sent).",
              port=False)]),
        config("BEATS", 0x10, "Beats per tile.", [
            F("value", 0, 16, RW, "Beats per tile (0: nothing sent).", port=False)]),
        config("FIRST_TILE", 0x14, "Tile id of tile 0.", [
            F("value", 0, p.tile_width, RW, "Id of tile 0.", port=False)]),
        config("TILE_STRIDE", 0x18, "Tile id step.", [
            F("value", 0, p.tile_width, RW, "Tile id step between consecutive tiles.", reset=1,
              port=False)]),
        config("BASE_ADDR", 0x1C, "Beat address of tile 0 beat 0.", [
            F("value", 0, p.addr_width, RW, "Beat address.", port=False)]),
        config("GAP", 0x20, "Compute gap.", [
            F("value", 0, 16, RW, "Idle cycles after each tile (tile-major) or round "
              "(interleaved).", port=False)]),
        config("MODE", 0x24, "Traffic mode.", [
            F("op", 0, 1, RW, "0 = store, 1 = update.", port=False),
            F("data", 1, 1, RW, "0 = counter, 1 = LFSR.", port=False),
            F("order", 2, 1, RW, "0 = tile-major, 1 = interleaved.", port=False),
            F("tracked", 3, 1, RW, "The requests' tracked bit.", reset=1, port=False)]),
        config("SEED", 0x28, "Data seed.", [
            F("value", 0, 32, RW, "First data value / LFSR seed.", port=False)]),
        Register("BEATS_SENT", 0x2C, "Requests accepted by the consumer since the last start.", [
            F("value", 0, 32, RO, "Requests (wraps at 2**32).", port=False)]),
        Register("CYCLES", 0x30, "Cycles from start to the end of the run (counting while busy).", [
            F("value", 0, 32, RO, "Cycles (wraps at 2**32).", port=False)]),
    ]
    return RegisterMap(p, regs, name="tg",
                       desc="Traffic generator: tracked writes of GEMM output tiles.")


#: Register name -> byte offset (default parameters; the offsets do not depend on them).
TG_REGS = {reg.name: reg.offset for reg in build_map()}


def lfsr_next(v):
    """One step of the generator's 32-bit Galois LFSR."""
    return (v >> 1) ^ (LFSR_TAPS if v & 1 else 0)


def reference(params, *, num_tiles, beats, first_tile=0, tile_stride=1, base_addr=0, op=0,
              data=0, order=0, tracked=1, seed=0):
    """The requests a run emits, in order, as dicts ``{op, tracked, addr, tile, data}``."""
    p = params
    amask, tmask = (1 << p.addr_width) - 1, (1 << p.tile_width) - 1
    if order == 0:
        seq = [(i, b) for i in range(num_tiles) for b in range(beats)]
    else:
        seq = [(i, b) for b in range(beats) for i in range(num_tiles)]
    out, v = [], seed & 0xFFFF_FFFF
    for n, (i, b) in enumerate(seq):
        word = (seed + n) & 0xFFFF_FFFF if data == 0 else v
        out.append({
            "op": MemOp.UPDATE if op else MemOp.STORE,
            "tracked": tracked,
            "addr": (base_addr + i * beats + b) & amask,
            "tile": (first_tile + i * tile_stride) & tmask,
            "data": sum(word << (32 * k) for k in range(p.data_width // 32)),
        })
        v = lfsr_next(v)
    return out




class _State(enum.Enum, shape=2):
    IDLE  = 0
    RUN   = 1
    GAP   = 2
    DRAIN = 3


class TrafficGen(CheckedArguments, wiring.Component):
    """GEMM-producer traffic generator (see the module docstring for the traffic and the registers).

    One request per cycle is sustained while the consumer is ready (no gaps within a tile or a
    round). ``mem_req`` is a registered output: ``valid`` and ``payload`` come from flip-flops and
    are held until ``ready``; ``ready`` reaches only the output register's load enable.

    Parameters
    ----------
    params : T3Params
        Shared parameters (``mem_request_layout``, ``addr_width``, ``tile_width``).

    Attributes
    ----------
    s_axil_* :
        AXI4-Lite slave (12-bit byte address, 32-bit data). A write is taken when ``awvalid`` and
        ``wvalid`` are both high (``awready = wready = awvalid & wvalid & ~bvalid``), ``bvalid``
        rises the next cycle. A read is taken when ``arvalid & ~rvalid``; ``rvalid`` rises the next
        cycle with the value sampled at acceptance.
    mem_req : Out(stream.Signature(params.mem_request_layout))
        The generated requests; the first appears two cycles after a ``start`` pulse and three
        cycles after a ``CTRL.start`` write is accepted (the write decode is registered).
    start : In(1)
        One-cycle pulse: start a run as ``CTRL.start`` does (ignored while busy).
    busy : Out(1)
        High from the cycle after a start until the last request was accepted.
    done : Out(1)
        ``STATUS.done``: high from the cycle after the last request was accepted (or after a stop
        or an empty run ended) until the next start.
    beats : Out(32)
        ``BEATS_SENT``: requests accepted since the last start (wrapping).
    cycles : Out(32)
        ``CYCLES``: cycles spent busy in the current or last run (wrapping).
    """

    @staticmethod
    def check_arguments(params=T3Params()):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")

    def __init__(self, params=T3Params()):
        self._params = params
        super().__init__({
            **axil_members("s_axil", 12),
            "mem_req": Out(stream.Signature(params.mem_request_layout)),
            "start":   In(1),
            "busy":    Out(1),
            "done":    Out(1),
            "beats":   Out(32),
            "cycles":  Out(32),
        })

    @property
    def params(self):
        return self._params

    def elaborate(self, platform):
        p = self._params
        m = Module()

        # -- registers: the bridge of the map; a write executes in its AW/W handshake cycle ----
        m.submodules.regs = regs = AXI4LiteRegisterBridge(build_map(p), buffered=False)
        connect_axil(m, self, "s_axil", regs, "s_axil")
        num_tiles, beats, first_tile = regs.num_tiles, regs.beats, regs.first_tile
        tile_stride, base_addr, gap, seed = regs.tile_stride, regs.base_addr, regs.gap, regs.seed
        mode_op, mode_data, mode_order = regs.mode_op, regs.mode_data, regs.mode_order
        mode_track = regs.mode_tracked
        start_req, stop_req = regs.ctrl_start, regs.ctrl_stop     # registered one-cycle pulses

        state = Signal(_State)
        done = Signal()
        sent = Signal(32)
        cycles = Signal(32)
        busy = Signal()
        m.d.comb += [
            busy.eq(state != _State.IDLE),
            self.busy.eq(busy), self.done.eq(done),
            self.beats.eq(sent), self.cycles.eq(cycles),
            regs.write_lock.eq(busy),
            regs.status_busy.eq(busy), regs.status_done.eq(done),
            regs.beats_sent.eq(sent), regs.cycles.eq(cycles),
        ]

        # -- generator ------------------------------------------------------------------------
        inner, outer = Signal(16), Signal(16)     # position in the current tile / round
        tile = Signal(p.tile_width)               # tile id of the next request
        addr = Signal(p.addr_width)               # address of the next request
        row_addr = Signal(p.addr_width)           # interleaved: address of tile 0 in this round
        value = Signal(32)                        # v(n) of the next request
        gap_cnt = Signal(16)

        # Limits latched at start (the configuration cannot change while busy): no mux and
        # subtraction in front of the compare.
        inner_max, outer_max = Signal(16), Signal(16)
        last_inner = inner == inner_max
        last_outer = outer == outer_max

        out = self.mem_req
        out_free = ~out.valid | out.ready
        with m.If(out.valid & out.ready):
            m.d.sync += [sent.eq(sent + 1), out.valid.eq(0)]
        with m.If(busy):
            m.d.sync += cycles.eq(cycles + 1)

        lanes = p.data_width // 32
        with m.If(state == _State.IDLE):
            with m.If(start_req | self.start):
                m.d.sync += [
                    done.eq(0), sent.eq(0), cycles.eq(0),
                    inner.eq(0), outer.eq(0), tile.eq(first_tile), addr.eq(base_addr),
                    row_addr.eq(base_addr), value.eq(seed),
                    inner_max.eq(Mux(mode_order, num_tiles, beats) - 1),
                    outer_max.eq(Mux(mode_order, beats, num_tiles) - 1),
                ]
                with m.If((num_tiles == 0) | (beats == 0)):
                    m.d.sync += state.eq(_State.DRAIN)
                with m.Else():
                    m.d.sync += state.eq(_State.RUN)
        with m.Elif(state == _State.RUN):
            with m.If(stop_req):
                m.d.sync += state.eq(_State.DRAIN)
            with m.Elif(out_free):
                m.d.sync += [
                    out.valid.eq(1),
                    out.payload.op.eq(Mux(mode_op, MemOp.UPDATE, MemOp.STORE)),
                    out.payload.cls.eq(ReqClass.COMPUTE),
                    out.payload.tracked.eq(mode_track),
                    out.payload.addr.eq(addr),
                    out.payload.tile.eq(tile),
                    out.payload.data.eq(Cat(*([value] * lanes))),
                    value.eq(Mux(mode_data,
                                 (value >> 1) ^ Mux(value[0], LFSR_TAPS, 0),
                                 value + 1)),
                ]
                with m.If(~last_inner):
                    m.d.sync += inner.eq(inner + 1)
                    with m.If(mode_order):
                        m.d.sync += [addr.eq(addr + beats), tile.eq(tile + tile_stride)]
                    with m.Else():
                        m.d.sync += addr.eq(addr + 1)
                with m.Else():
                    m.d.sync += [inner.eq(0), outer.eq(outer + 1)]
                    with m.If(mode_order):
                        m.d.sync += [addr.eq(row_addr + 1), row_addr.eq(row_addr + 1),
                                     tile.eq(first_tile)]
                    with m.Else():
                        m.d.sync += [addr.eq(addr + 1), tile.eq(tile + tile_stride)]
                    with m.If(last_outer):
                        m.d.sync += state.eq(_State.DRAIN)
                    with m.Elif(gap != 0):
                        m.d.sync += [state.eq(_State.GAP), gap_cnt.eq(gap)]
        with m.Elif(state == _State.GAP):
            m.d.sync += gap_cnt.eq(gap_cnt - 1)
            with m.If(stop_req):
                m.d.sync += state.eq(_State.DRAIN)
            with m.Elif(gap_cnt == 1):
                m.d.sync += state.eq(_State.RUN)
        with m.Elif(state == _State.DRAIN):
            with m.If(out_free):
                m.d.sync += [state.eq(_State.IDLE), done.eq(1)]
        return m


EXPORTS = {"trafficgen": lambda: TrafficGen(T3Params())}
