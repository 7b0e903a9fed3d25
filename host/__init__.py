"""Host software of the FPGA prototype (layering: hw <- host <- tb <- tools)."""
