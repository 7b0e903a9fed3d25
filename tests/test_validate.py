"""Cross-validation: the cycle-level model (sim/xval) against the RTL ring bench, per scenario x mode.

Runs the RTL on Verilator (one build per hardware parameter set, shared by the scenarios that
use it; the four modes in one simulator run per scenario), then checks for every (scenario,
mode): |model - RTL| / RTL <= 10 % in cycles, and memory/link beat counts (hence bytes) equal.

``make test`` checks the RTL on :data:`FAST` (scenarios on the ring bench's own hardware build,
spanning the compute-to-communication ratio and the memory pressure); ``make validate``
(``tools/validate.py``) runs every scenario with the same checks, and so does this file with
``T3_VALIDATE=all``.
"""

import os

import pytest

from sim.xval.model import expected_counts, model_scenario
from sim.xval.scenario import MODES, ScenarioError, load_scenarios, parse_scenario
from tools.validate import TOLERANCE, validate

SCENARIOS = load_scenarios()


def test_enough_scenarios():
    assert len(SCENARIOS) >= 6
    # the set varies the compute-to-communication ratio and the memory pressure
    assert len({s.compute / s.beats for s in SCENARIOS}) >= 3
    assert len({s.reads for s in SCENARIOS}) >= 3
    assert len({(s.link_latency, s.link_bw) for s in SCENARIOS}) >= 2
    assert len({s.mem_latency for s in SCENARIOS}) >= 2


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@pytest.mark.parametrize("mode", MODES)
def test_model_counts_closed_form(scenario, mode):
    """The model's protocol moves exactly the beats the closed form says (no RTL needed)."""
    got = model_scenario(scenario, mode)
    for k, v in expected_counts(scenario, mode).items():
        assert got["counters"].get(k, got.get(k)) == v, k


def _base():
    return {"devices": 4, "chunks": 4, "tiles": 4, "beats": 8, "reads": 4, "compute": 16,
            "memory": {"latency": 4, "bandwidth": 1},
            "link": {"latency": 8, "bandwidth": [1, 1]},
            "policy": {"mca_threshold": 4, "mca_starvation": 32}}


@pytest.mark.parametrize("edit, field", [
    (lambda d: d.pop("tiles"), "'tiles'"),
    (lambda d: d.update(beats="8"), "'beats'"),
    (lambda d: d.update(chunks=3), "'chunks'"),
    (lambda d: d["memory"].update(bandwidth=2), "'memory.bandwidth'"),
    (lambda d: d["memory"].update(latency=1), "'memory.latency'"),
    (lambda d: d["link"].update(bandwidth=[2, 1]), "'link.bandwidth'"),
    (lambda d: d["policy"].pop("mca_threshold"), "'policy.mca_threshold'"),
    (lambda d: d.update(slices=3), "'slices'"),
    (lambda d: d.update(colour=1), "'colour'"),
    (lambda d: d.pop("link"), "'[link]'"),
])
def test_scenario_errors_name_the_field(edit, field):
    doc = _base()
    parse_scenario(doc)
    edit(doc)
    with pytest.raises(ScenarioError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_scenario(doc)


def test_axil_costs_match_model():
    """The model's AXI4-Lite costs are the measured ones (steady state: after the first access)."""
    import sim.xval.model as model
    from tb.xval.axil_probe import measure
    got = measure("verilator")
    for kind in ("doorbell", "arm"):
        for m in got[kind][1:]:
            assert (m["effect"], m["return"]) == (model.AXIL_WRITE_EFFECT, model.AXIL_WRITE), kind
    for m in got["read"][1:]:
        assert (m["sample"], m["return"]) == (model.AXIL_READ_SAMPLE, model.AXIL_READ)


#: The scenarios checked against the RTL in ``make test``.
FAST = ("base", "comm_bound", "mem_pressure")
CHECKED = SCENARIOS if os.environ.get("T3_VALIDATE") == "all" else \
    [s for s in SCENARIOS if s.name in FAST]


def test_fast_subset_exists():
    assert {s.name for s in CHECKED} >= set(FAST)


def test_model_matches_rtl():
    """Every (scenario, mode) of ``CHECKED``: byte counts equal, cycles within ``TOLERANCE``.
    One test, so that one xdist worker runs the RTL once (``--dist loadgroup`` did not keep an
    ``xdist_group`` on one worker with the pinned pytest 9.2 / pytest-xdist 3.8, and the RTL
    ran on both)."""
    rows, _ = validate(CHECKED, "verilator", log=lambda *a: None)
    assert {(r["scenario"], r["mode"]) for r in rows} == \
        {(s.name, m) for s in CHECKED for m in MODES}
    errors = []
    for r in rows:
        case = f"{r['scenario']}/{r['mode']}"
        for k, v in r["counts"].items():
            if v["model"] != v["rtl"]:
                errors.append(f"{case}: {k}: model {v['model']} != RTL {v['rtl']}")
        if r["model_mem_bytes"] != r["rtl_mem_bytes"]:
            errors.append(f"{case}: memory bytes {r['model_mem_bytes']} != {r['rtl_mem_bytes']}")
        if r["model_link_bytes"] != r["rtl_link_bytes"]:
            errors.append(f"{case}: link bytes {r['model_link_bytes']} != {r['rtl_link_bytes']}")
        if abs(r["error"]) > TOLERANCE:
            errors.append(f"{case}: cycles: model {r['model_cycles']} vs RTL {r['rtl_cycles']} "
                          f"({100 * r['error']:+.1f}%)")
    assert not errors, "\n".join(errors)
