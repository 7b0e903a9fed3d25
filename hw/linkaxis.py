"""AXI-Stream faces of the T3 link: the unit's link packets on standard AXI4-Stream ports.

A link packet (:class:`hw.link.LinkReceiver`) is a header beat (``params.link_header_layout`` in
the low bits of the data) followed by ``length`` data beats, the last beat marked. On AXI-Stream
(:func:`link_axis_signature`) every beat of a packet carries:

=========  ====================  ============================================================
signal     width                 meaning
=========  ====================  ============================================================
``tdata``  ``data_width``        the beat, the header in-band as on the native link
``tlast``  1                     the packet's last beat
``tdest``  ``dev_width``         the destination device (the header's ``dst_dev``), on every
                                 beat of the packet, so a switch or a SERDES/Aurora/Ethernet
                                 framer can route without parsing ``tdata``
``tuser``  1                     1 on the header beat (start of packet)
=========  ====================  ============================================================

The transmit side (:class:`LinkTxAxis`) derives ``tdest`` and ``tuser``; the receive side
(:class:`LinkRxAxis`) passes ``tdata``/``tlast`` on and does not need ``tdest``/``tuser``: the
header carries the destination, which the receiver checks (a misrouted packet is dropped and
counted, see :class:`hw.link.LinkReceiver`). Both are wiring plus one register: no added latency,
``valid``/``ready`` pass straight through (back-pressure in both directions).
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .lib.axis import AXIStreamSignature
from .lib.checked import CheckedArguments
from .params import T3Params

__all__ = ["LinkRxAxis", "LinkTxAxis", "link_axis_signature"]


def link_axis_signature(params):
    """The AXI-Stream signature of a T3 link (seen from the transmitter)."""
    return AXIStreamSignature(params.data_width, last=True, dest_width=params.dev_width,
                              user_width=1)


def _check(params):
    if not isinstance(params, T3Params):
        raise TypeError(f"params must be a T3Params, not {params!r}")
    if params.data_width % 8:
        raise ValueError(f"data_width must be a multiple of 8, not {params.data_width}")


class LinkTxAxis(CheckedArguments, wiring.Component):
    """Native link transmit stream to AXI-Stream master (see the module docstring).

    Attributes
    ----------
    i : In(stream.Signature(params.link_layout))
        From the unit's ``link_tx``.
    m_axis : Out(link_axis_signature(params))
    """

    @staticmethod
    def check_arguments(params):
        _check(params)

    def __init__(self, params):
        self._params = params
        super().__init__({
            "i":      In(stream.Signature(params.link_layout)),
            "m_axis": Out(link_axis_signature(params)),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._params
        axis = self.m_axis
        header = p.link_header_layout(self.i.payload.data[:p.link_header_layout.size])
        first = Signal(init=1)                   # the next beat is a header
        dest = Signal(p.dev_width)               # the current packet's dst_dev
        m.d.comb += [
            axis.tdata.eq(self.i.payload.data),
            axis.tlast.eq(self.i.payload.last),
            axis.tvalid.eq(self.i.valid),
            axis.tdest.eq(Mux(first, header.dst_dev, dest)),
            axis.tuser.eq(first),
            self.i.ready.eq(axis.tready),
        ]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += first.eq(self.i.payload.last)
            with m.If(first):
                m.d.sync += dest.eq(header.dst_dev)
        return m


class LinkRxAxis(CheckedArguments, wiring.Component):
    """AXI-Stream slave to the native link receive stream (see the module docstring).

    Attributes
    ----------
    s_axis : In(link_axis_signature(params))
        ``tdest`` and ``tuser`` are not used (the header beat carries the destination).
    o : Out(stream.Signature(params.link_layout))
        To the unit's ``link_rx``.
    """

    @staticmethod
    def check_arguments(params):
        _check(params)

    def __init__(self, params):
        super().__init__({
            "s_axis": In(link_axis_signature(params)),
            "o":      Out(stream.Signature(params.link_layout)),
        })

    def elaborate(self, platform):
        m = Module()
        axis = self.s_axis
        m.d.comb += [
            self.o.payload.data.eq(axis.tdata),
            self.o.payload.last.eq(axis.tlast),
            self.o.valid.eq(axis.tvalid),
            axis.tready.eq(self.o.ready),
        ]
        return m
