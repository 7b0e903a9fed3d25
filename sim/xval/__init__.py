"""Cross-validation of the cycle-level (CL) ring model against the RTL ring bench (``tb/ring``).

A scenario file (TOML, :mod:`sim.xval.scenario`) is read both by the RTL launcher
(:mod:`tb.xval.rtl`, which elaborates :class:`hw.ring.T3Ring` with its hardware parameters and
runs ``tb.ring.ring_bench`` with its workload) and by the cycle-level model
(:func:`sim.xval.model.model_scenario`, composed from the block references of ``sim/ref``). Both
sides run the one ring protocol of :mod:`sim.xval.protocol`. ``tools/validate.py`` compares them.
The scale runs (:mod:`sim.scale`, RTL producers, ideal memory or DRAM timing) have their own CL
model, :func:`sim.xval.scale_model.model_scale`, built from the same pieces;
``tools/validate_scale.py`` compares it with the RTL at scale.
"""

from .scenario import MODES, Scenario, ScenarioError, load_scenario, load_scenarios

__all__ = ["MODES", "Scenario", "ScenarioError", "load_scenario", "load_scenarios"]
