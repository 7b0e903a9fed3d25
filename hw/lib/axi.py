"""AXI4 (full) interface signature, as used by the T3 unit's memory port and the memories behind it.

The members follow the AMBA AXI4 names (ARM IHI 0022) without the channel-independent optional
signals (``AxLOCK``, ``AxCACHE``, ``AxPROT``, ``AxQOS``, ``AxREGION``): a slave that needs them
ties them to their defaults. Exported through :func:`amaranth.back.verilog.convert`, a member
``m_axi`` of this signature becomes the ports ``m_axi__awaddr``, ``m_axi__awvalid`` ..., which
cocotbext-axi finds with ``AxiBus.from_prefix(dut, "m_axi_")``.

Only INCR bursts are issued or accepted by the project's blocks; ``AxSIZE`` is always
``log2(data_width // 8)`` (full-width beats).
"""

from amaranth.hdl import Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["BURST_FIXED", "BURST_INCR", "BURST_WRAP", "RESP_OKAY", "RESP_EXOKAY", "RESP_SLVERR",
           "RESP_DECERR", "AXI4Signature", "axi4_switch"]

BURST_FIXED, BURST_INCR, BURST_WRAP = 0b00, 0b01, 0b10
RESP_OKAY, RESP_EXOKAY, RESP_SLVERR, RESP_DECERR = 0b00, 0b01, 0b10, 0b11


class AXI4Signature(wiring.Signature):
    """AXI4 interface, seen from the master (``Out`` members are driven by the master).

    Parameters
    ----------
    addr_width : int
        Byte address width, in [1, 64].
    data_width : int
        Data width in bits: 8, 16, 32, ..., 1024 (a power of two >= 8).
    id_width : int
        Width of ``AWID``/``BID``/``ARID``/``RID``, in [1, 16].
    awuser_width, aruser_width : int
        Widths of ``AWUSER`` and ``ARUSER`` (sideband per burst, driven by the master), in
        [0, 64]; 0 (the default) leaves the member out.

    Members
    -------
    awid, awaddr, awlen, awsize, awburst, awvalid : Out; awready : In
        Write address channel. ``awlen`` is the number of beats minus one (8 bits).
    wdata, wstrb, wlast, wvalid : Out; wready : In
        Write data channel (no ``WID`` in AXI4: write data follows the AW order).
    bid, bresp, bvalid : In; bready : Out
        Write response channel: one per AW.
    arid, araddr, arlen, arsize, arburst, arvalid : Out; arready : In
        Read address channel.
    rid, rdata, rresp, rlast, rvalid : In; rready : Out
        Read data channel: ``arlen + 1`` beats per AR, the last with ``rlast``; beats of one ID
        return in AR order.
    """

    def __init__(self, *, addr_width, data_width, id_width, awuser_width=0, aruser_width=0):
        for name, value, lo, hi in (("addr_width", addr_width, 1, 64),
                                    ("data_width", data_width, 8, 1024),
                                    ("id_width", id_width, 1, 16),
                                    ("awuser_width", awuser_width, 0, 64),
                                    ("aruser_width", aruser_width, 0, 64)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an integer, not {value!r}")
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], not {value}")
        if data_width & (data_width - 1):
            raise ValueError(f"data_width must be a power of two, not {data_width}")
        self._addr_width = addr_width
        self._data_width = data_width
        self._id_width = id_width
        self._awuser_width = awuser_width
        self._aruser_width = aruser_width
        members = {
            "awid":    Out(id_width),
            "awaddr":  Out(addr_width),
            "awlen":   Out(8),
            "awsize":  Out(3),
            "awburst": Out(2),
            "awvalid": Out(1),
            "awready": In(1),
            "wdata":   Out(data_width),
            "wstrb":   Out(data_width // 8),
            "wlast":   Out(1),
            "wvalid":  Out(1),
            "wready":  In(1),
            "bid":     In(id_width),
            "bresp":   In(2),
            "bvalid":  In(1),
            "bready":  Out(1),
            "arid":    Out(id_width),
            "araddr":  Out(addr_width),
            "arlen":   Out(8),
            "arsize":  Out(3),
            "arburst": Out(2),
            "arvalid": Out(1),
            "arready": In(1),
            "rid":     In(id_width),
            "rdata":   In(data_width),
            "rresp":   In(2),
            "rlast":   In(1),
            "rvalid":  In(1),
            "rready":  Out(1),
        }
        if awuser_width:
            members["awuser"] = Out(awuser_width)
        if aruser_width:
            members["aruser"] = Out(aruser_width)
        super().__init__(members)

    @property
    def addr_width(self):
        return self._addr_width

    @property
    def data_width(self):
        return self._data_width

    @property
    def id_width(self):
        return self._id_width

    @property
    def awuser_width(self):
        return self._awuser_width

    @property
    def aruser_width(self):
        return self._aruser_width

    @property
    def size(self):
        """``AxSIZE`` of a full-width beat: ``log2(data_width // 8)``."""
        return (self._data_width // 8 - 1).bit_length()

    def __eq__(self, other):
        return isinstance(other, AXI4Signature) and self._key() == other._key()

    def _key(self):
        return (self._addr_width, self._data_width, self._id_width, self._awuser_width,
                self._aruser_width)

    def __hash__(self):
        return hash((AXI4Signature, self._key()))

    def __repr__(self):
        user = "".join(f", {n}={w}" for n, w in (("awuser_width", self._awuser_width),
                                                  ("aruser_width", self._aruser_width)) if w)
        return (f"AXI4Signature(addr_width={self._addr_width}, data_width={self._data_width}, "
                f"id_width={self._id_width}{user})")


#: The handshakes of the channels driven by the master and of those driven by the slave.
_MASTER_CHANNELS = (("awvalid", "awready"), ("wvalid", "wready"), ("arvalid", "arready"))
_SLAVE_CHANNELS = (("bvalid", "bready"), ("rvalid", "rready"))


def axi4_switch(m, sel, master0, master1, slave):
    """Connect one of two AXI4 masters to one slave, combinationally: ``master1`` while ``sel``
    is high, else ``master0``.

    ``master0``, ``master1`` and ``slave`` are interface objects of one :class:`AXI4Signature`
    (or its flip: a component's ``s_axi`` port, or the interface it drives). The selected master's
    signals drive the slave's; the slave's response signals go to both masters, but ``valid``
    and ``ready`` only to the selected one, so the other sees its channels stalled. The switch
    keeps no state: the caller changes ``sel`` only when neither master has a transaction open
    (it would otherwise lose or misdirect a response).
    """
    sig = slave.signature
    if isinstance(sig, wiring.FlippedSignature):
        sig = sig.flip()
    if not isinstance(sig, AXI4Signature):
        raise TypeError(f"slave must be an AXI4 interface, not one of {sig!r}")
    for name, iface in (("master0", master0), ("master1", master1)):
        other = iface.signature
        other = other.flip() if isinstance(other, wiring.FlippedSignature) else other
        if other.members != sig.members:
            raise TypeError(f"{name} must have the slave's AXI4 signature {sig!r}, not {other!r}")
    handshakes = {n for pair in _MASTER_CHANNELS + _SLAVE_CHANNELS for n in pair}
    for name, member in sig.members.items():
        if name in handshakes:
            continue
        if member.flow == Out:                     # address, write data: from the master
            m.d.comb += getattr(slave, name).eq(Mux(sel, getattr(master1, name),
                                                    getattr(master0, name)))
        else:                                      # responses: to both, valid to one
            m.d.comb += [getattr(master0, name).eq(getattr(slave, name)),
                         getattr(master1, name).eq(getattr(slave, name))]
    for valid, ready in _MASTER_CHANNELS:
        m.d.comb += [
            getattr(slave, valid).eq(Mux(sel, getattr(master1, valid), getattr(master0, valid))),
            getattr(master0, ready).eq(getattr(slave, ready) & ~sel),
            getattr(master1, ready).eq(getattr(slave, ready) & sel),
        ]
    for valid, ready in _SLAVE_CHANNELS:
        m.d.comb += [
            getattr(slave, ready).eq(Mux(sel, getattr(master1, ready), getattr(master0, ready))),
            getattr(master0, valid).eq(getattr(slave, valid) & ~sel),
            getattr(master1, valid).eq(getattr(slave, valid) & sel),
        ]
