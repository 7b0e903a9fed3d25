"""AXI4-Lite: the interface signature, its flat port members, and the one slave front end.

* :class:`AXI4LiteSignature`: the AMBA AXI4-Lite channels (ARM IHI 0022, section B1), seen from the
  master.
* :func:`axil_members`: the same members flattened to ``<prefix>_awaddr`` ... as top-level ports,
  the names cocotbext-axi's ``AxiLiteBus.from_prefix(dut, prefix)`` expects (a nested member would
  export as ``<prefix>__awaddr``).
* :class:`AXI4LiteSlave`: the AXI4-Lite slave protocol (channel handshakes, one outstanding write
  and one outstanding read, held responses), turning the bus into a ``write``/``read`` request
  stream each with its response; every register block of the project (the T3 CSRs, the traffic
  generator, the FPGA address decoder) sits behind one.
* :func:`connect_axil`: join a flat master port set to a flat slave port set.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .checked import CheckedArguments
from .axi import RESP_DECERR, RESP_EXOKAY, RESP_OKAY, RESP_SLVERR  # one definition

__all__ = ["AXI4LiteSignature", "axil_members", "AXI4LiteSlave", "connect_axil",
           "RESP_OKAY", "RESP_EXOKAY", "RESP_SLVERR", "RESP_DECERR"]


#: Members the master drives (the others are driven by the slave).
MASTER_DRIVEN = ("awaddr", "awprot", "awvalid", "wdata", "wstrb", "wvalid", "bready",
                 "araddr", "arprot", "arvalid", "rready")


def _check(addr_width, data_width):
    for name, value in (("addr_width", addr_width), ("data_width", data_width)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an integer, not {value!r}")
    if not 1 <= addr_width <= 64:
        raise ValueError(f"addr_width must be in [1, 64], not {addr_width}")
    if data_width not in (32, 64):
        raise ValueError(f"data_width must be 32 or 64 (AXI4-Lite), not {data_width}")


class AXI4LiteSignature(wiring.Signature):
    """AXI4-Lite interface, seen from the master (``Out`` members are driven by the master).

    Parameters
    ----------
    addr_width : int
        Byte address width, in [1, 64].
    data_width : int
        32 or 64.
    """

    def __init__(self, addr_width, data_width=32):
        _check(addr_width, data_width)
        self._addr_width, self._data_width = addr_width, data_width
        widths = {"awaddr": addr_width, "awprot": 3, "awvalid": 1, "awready": 1,
                  "wdata": data_width, "wstrb": data_width // 8, "wvalid": 1, "wready": 1,
                  "bresp": 2, "bvalid": 1, "bready": 1,
                  "araddr": addr_width, "arprot": 3, "arvalid": 1, "arready": 1,
                  "rdata": data_width, "rresp": 2, "rvalid": 1, "rready": 1}
        super().__init__({name: (Out if name in MASTER_DRIVEN else In)(width)
                          for name, width in widths.items()})

    @property
    def addr_width(self):
        return self._addr_width

    @property
    def data_width(self):
        return self._data_width

    def __eq__(self, other):
        return (isinstance(other, AXI4LiteSignature) and self._addr_width == other._addr_width
                and self._data_width == other._data_width)

    def __hash__(self):
        return hash((AXI4LiteSignature, self._addr_width, self._data_width))

    def __repr__(self):
        return f"AXI4LiteSignature({self._addr_width}, {self._data_width})"


def axil_members(prefix, addr_width, data_width=32, *, master=False):
    """:class:`AXI4LiteSignature`'s members as flat ports ``<prefix>_<name>``, with the slave's
    directions (the master's with ``master=True``)."""
    sig = AXI4LiteSignature(addr_width, data_width)
    if not master:
        sig = sig.flip()
    return {f"{prefix}_{name}": member for name, member in sig.members.items()}


def connect_axil(m, master, prefix_m, slave, prefix_s):
    """Join the flat AXI4-Lite ports ``<prefix_m>_*`` of ``master`` to ``<prefix_s>_*`` of
    ``slave`` (either may be a component's own ports, seen from inside)."""
    for name in AXI4LiteSignature(1).members:
        src, dst = getattr(master, f"{prefix_m}_{name}"), getattr(slave, f"{prefix_s}_{name}")
        if name in MASTER_DRIVEN:
            m.d.comb += dst.eq(src)
        else:
            m.d.comb += src.eq(dst)


class AXI4LiteSlave(CheckedArguments, wiring.Component):
    """AXI4-Lite slave front end: the bus in, one request stream per direction out.

    One write and one read are handled at a time. A write request is presented on ``write`` once
    its address and data have arrived and no write response is outstanding; the block answers on
    ``write_resp`` (in the cycle of the ``write`` handshake or later); ``bvalid`` rises the cycle
    after and is held until ``bready``. Reads likewise: ``read`` in the AR handshake cycle,
    ``read_resp`` then or later, ``rvalid`` the cycle after, held until ``rready``.

    Parameters
    ----------
    addr_width : int
        Byte address width of the bus.
    data_width : int
        32 (default) or 64.
    buffered : bool
        Write channel: ``True`` (default) gives AW and W a one-entry buffer each (``awready`` and
        ``wready`` high while the buffer is empty: they depend on state only), and the write is
        presented from the buffers, the cycle after the later of the two handshakes at the
        earliest. ``False``: no buffers; AW and W are accepted together, in the cycle both are
        valid and ``write`` is taken (``awready = wready = awvalid & wvalid & write.ready`` while
        no response is outstanding), so the write is presented in that same cycle.
    prefix : str
        Name prefix of the bus ports (default ``"s_axil"``).

    Attributes
    ----------
    <prefix>_* : the AXI4-Lite slave ports (:func:`axil_members`).
    write : Out(stream.Signature({addr, data, strb, prot}))
        The write to execute; ``write.ready`` may be tied high.
    write_resp : In(stream.Signature(2))
        ``BRESP`` of the write taken on ``write``, one per write; ``ready`` is high while no
        response is held.
    read : Out(stream.Signature({addr, prot}))
        The read to execute (``arvalid`` and no read outstanding); its handshake is the AR
        handshake.
    read_resp : In(stream.Signature({data, resp}))
        ``RDATA``/``RRESP`` of the read taken on ``read``.
    """

    @staticmethod
    def check_arguments(addr_width, data_width=32, *, buffered=True, prefix="s_axil"):
        _check(addr_width, data_width)
        if not isinstance(buffered, bool):
            raise TypeError(f"buffered must be a bool, not {buffered!r}")
        if not isinstance(prefix, str) or not prefix.isidentifier():
            raise TypeError(f"prefix must be an identifier string, not {prefix!r}")

    def __init__(self, addr_width, data_width=32, *, buffered=True, prefix="s_axil"):
        self.addr_width, self.data_width = addr_width, data_width
        self.buffered, self.prefix = buffered, prefix
        self.write_layout = data.StructLayout({"addr": addr_width, "data": data_width,
                                               "strb": data_width // 8, "prot": 3})
        self.read_layout = data.StructLayout({"addr": addr_width, "prot": 3})
        self.read_resp_layout = data.StructLayout({"data": data_width, "resp": 2})
        super().__init__({
            **axil_members(prefix, addr_width, data_width),
            "write":      Out(stream.Signature(self.write_layout)),
            "write_resp": In(stream.Signature(2)),
            "read":       Out(stream.Signature(self.read_layout)),
            "read_resp":  In(stream.Signature(self.read_resp_layout)),
        })

    def bus(self, name):
        """The bus port ``<prefix>_<name>``."""
        return getattr(self, f"{self.prefix}_{name}")

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        # -- writes ---------------------------------------------------------------------------
        b_valid, b_resp = Signal(name="b_valid"), Signal(2, name="b_resp")
        b_wait = Signal(name="b_wait")        # write taken, response not yet given
        w_busy = b_valid | b_wait
        m.d.comb += [bus("bvalid").eq(b_valid), bus("bresp").eq(b_resp),
                     self.write_resp.ready.eq(~b_valid)]
        wr = self.write
        if self.buffered:
            aw_full, w_full = Signal(name="aw_full"), Signal(name="w_full")
            aw_addr, aw_prot = Signal(self.addr_width, name="aw_addr"), Signal(3, name="aw_prot")
            w_data = Signal(self.data_width, name="w_data")
            w_strb = Signal(self.data_width // 8, name="w_strb")
            m.d.comb += [
                bus("awready").eq(~aw_full),
                bus("wready").eq(~w_full),
                wr.valid.eq(aw_full & w_full & ~w_busy),
                wr.payload.addr.eq(aw_addr), wr.payload.prot.eq(aw_prot),
                wr.payload.data.eq(w_data), wr.payload.strb.eq(w_strb),
            ]
            with m.If(bus("awvalid") & ~aw_full):
                m.d.sync += [aw_full.eq(1), aw_addr.eq(bus("awaddr")), aw_prot.eq(bus("awprot"))]
            with m.If(bus("wvalid") & ~w_full):
                m.d.sync += [w_full.eq(1), w_data.eq(bus("wdata")), w_strb.eq(bus("wstrb"))]
            with m.If(wr.valid & wr.ready):
                m.d.sync += [aw_full.eq(0), w_full.eq(0)]
        else:
            take = Signal(name="take")
            m.d.comb += [
                wr.valid.eq(bus("awvalid") & bus("wvalid") & ~w_busy),
                take.eq(wr.valid & wr.ready),
                bus("awready").eq(take), bus("wready").eq(take),
                wr.payload.addr.eq(bus("awaddr")), wr.payload.prot.eq(bus("awprot")),
                wr.payload.data.eq(bus("wdata")), wr.payload.strb.eq(bus("wstrb")),
            ]
        with m.If(self.write_resp.valid & ~b_valid):
            m.d.sync += [b_valid.eq(1), b_resp.eq(self.write_resp.payload), b_wait.eq(0)]
        with m.Elif(wr.valid & wr.ready):
            m.d.sync += b_wait.eq(1)
        with m.If(b_valid & bus("bready")):
            m.d.sync += b_valid.eq(0)

        # -- reads ----------------------------------------------------------------------------
        r_valid, r_resp = Signal(name="r_valid"), Signal(2, name="r_resp")
        r_data = Signal(self.data_width, name="r_data")
        r_wait = Signal(name="r_wait")
        r_busy = r_valid | r_wait
        rd = self.read
        m.d.comb += [
            bus("rvalid").eq(r_valid), bus("rresp").eq(r_resp), bus("rdata").eq(r_data),
            rd.valid.eq(bus("arvalid") & ~r_busy),
            bus("arready").eq(rd.ready & ~r_busy),
            rd.payload.addr.eq(bus("araddr")), rd.payload.prot.eq(bus("arprot")),
            self.read_resp.ready.eq(~r_valid),
        ]
        with m.If(self.read_resp.valid & ~r_valid):
            m.d.sync += [r_valid.eq(1), r_data.eq(self.read_resp.payload.data),
                         r_resp.eq(self.read_resp.payload.resp), r_wait.eq(0)]
        with m.Elif(rd.valid & rd.ready):
            m.d.sync += r_wait.eq(1)
        with m.If(r_valid & bus("rready")):
            m.d.sync += r_valid.eq(0)
        return m
