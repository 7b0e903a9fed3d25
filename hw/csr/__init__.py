"""Registers the way amaranth-soc does them: a generic register model and an AXI4-Lite bridge.

* :mod:`hw.csr.reg`: :class:`Field` (access ``RW``/``RO``/``W1C``/``WS``, reset, enum or range,
  doc string), :class:`Register`, :class:`RegisterMap` (the rules are in its docstring).
* :mod:`hw.csr.bridge`: :class:`AXI4LiteRegisterBridge`, the decoder, storage and ports of a map
  behind an AXI4-Lite slave (bad offset, read-only register, partial strobe, illegal value:
  SLVERR and, if the map has an error register, a sticky flag).

Users: the T3 CSR block (:mod:`hw.t3csr`, map :mod:`hw.regmap`), the traffic generator
(:mod:`hw.trafficgen`), the scale ring's producer (:mod:`hw.producer`) and the memory window
(:mod:`hw.memwindow`: a deferred ``CMD`` register answered after the memory's response,
``hw_write`` ``ADDR``/``DATA`` fields). The renderers (SystemRDL, and through PeakRDL IP-XACT, HTML and a C
header; Markdown and JSON) are in ``tools/regs.py``.
"""

from .reg import ADDR_WIDTH, BRIDGE_ERRORS, DATA_WIDTH, Access, Field, Port, Register, RegisterMap
from .bridge import AXI4LiteRegisterBridge, stream_layout

__all__ = ["Access", "Field", "Port", "Register", "RegisterMap", "ADDR_WIDTH", "DATA_WIDTH",
           "BRIDGE_ERRORS", "AXI4LiteRegisterBridge", "stream_layout"]
