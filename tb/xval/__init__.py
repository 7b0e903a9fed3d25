"""RTL side of the cross-validation (``make validate``): the launcher that runs the ring bench
(``tb.ring.ring_bench``) for the scenarios of :mod:`sim.xval.scenario`, and the AXI4-Lite cost
probe whose measurements the cycle-level model (:mod:`sim.xval.model`) uses."""
