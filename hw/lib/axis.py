"""AXI-Stream interface signature (AMBA 4 AXI4-Stream, ARM IHI 0051).

The signature lists the members a T3 link needs, each optional one present only when its width is
non-zero: ``tdata``, ``tvalid``, ``tready``, ``tlast``, and ``tkeep``, ``tdest``, ``tid``, ``tuser``.
Exported through :func:`amaranth.back.verilog.convert`, a member ``m_axis`` of this signature
becomes ``m_axis__tdata`` ..., which cocotbext-axi finds with ``AxiStreamBus.from_prefix(dut,
"m_axis_")``.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["AXIStreamSignature"]


class AXIStreamSignature(wiring.Signature):
    """AXI-Stream interface, seen from the transmitter (``Out`` members are driven by it).

    Parameters
    ----------
    data_width : int
        ``TDATA`` width in bits, a multiple of 8 in [8, 4096].
    keep : bool
        Include ``TKEEP`` (one bit per byte). Default False.
    last : bool
        Include ``TLAST``. Default True.
    dest_width, id_width, user_width : int
        Widths of ``TDEST`` (0..32), ``TID`` (0..32) and ``TUSER`` (0..4096); 0 leaves it out.
    """

    def __init__(self, data_width, *, keep=False, last=True, dest_width=0, id_width=0,
                 user_width=0):
        for name, value, lo, hi in (("data_width", data_width, 8, 4096),
                                    ("dest_width", dest_width, 0, 32),
                                    ("id_width", id_width, 0, 32),
                                    ("user_width", user_width, 0, 4096)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an integer, not {value!r}")
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], not {value}")
        if data_width % 8:
            raise ValueError(f"data_width must be a multiple of 8, not {data_width}")
        for name, value in (("keep", keep), ("last", last)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, not {value!r}")
        self._params = dict(data_width=data_width, keep=keep, last=last, dest_width=dest_width,
                            id_width=id_width, user_width=user_width)
        members = {"tdata": Out(data_width), "tvalid": Out(1), "tready": In(1)}
        if last:
            members["tlast"] = Out(1)
        if keep:
            members["tkeep"] = Out(data_width // 8)
        for name, width in (("tdest", dest_width), ("tid", id_width), ("tuser", user_width)):
            if width:
                members[name] = Out(width)
        super().__init__(members)

    data_width = property(lambda self: self._params["data_width"])
    keep = property(lambda self: self._params["keep"])
    last = property(lambda self: self._params["last"])
    dest_width = property(lambda self: self._params["dest_width"])
    id_width = property(lambda self: self._params["id_width"])
    user_width = property(lambda self: self._params["user_width"])

    def __eq__(self, other):
        return isinstance(other, AXIStreamSignature) and self._params == other._params

    def __hash__(self):
        return hash((AXIStreamSignature, tuple(sorted(self._params.items()))))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"AXIStreamSignature({args})"
