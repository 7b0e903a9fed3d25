"""The interface library shared by the T3 blocks: bus signatures (AXI4, AXI4-Lite, AXI-Stream),
the AXI4-Lite slave front end, ``Queue``, ``SkidBuffer``, and the small pieces Amaranth 0.5 has no
public API for (argument checks before creation, formal free values)."""
