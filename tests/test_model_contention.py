"""The HBM contention constants: measured, derived by the documented formulas, and used."""
import pytest

from sim.model import contention
from sim.model.config import CALIBRATED, FIT_V01, PROVENANCE, SystemConfig
from sim.systems import get_system


def _run(c, link, slowdown=1.0):
    return {"compute_rate": c, "link_rate": link, "slowdown": slowdown}


def test_derivation_by_hand():
    runs = {"bound alone": _run(0.6, 0.0), "bound rr@100%": _run(0.3, 0.05),
            "bound mca8/32@100%": _run(0.5, 0.01), "gemm alone": _run(0.5, 0.0),
            "gemm rr@100%": _run(0.4, 0.075, 2.0), "gemm mca8/32@100%": _run(0.45, 0.02, 1.1)}
    k = contention.derive(runs, {"store_tile": 12, "update_tile": 27})
    assert k["interference"] == pytest.approx((0.6 - 0.3) / 0.1)            # 3.0
    assert k["mca_interference"] == pytest.approx((0.6 - 0.5) / 0.02)       # 5.0
    assert k["mca_leak"] == pytest.approx((0.1 / 0.04) / (1.0 / 0.15), abs=1e-3)
    assert k["mca_starvation_share"] == pytest.approx(5.0 * 0.02 / 0.6, abs=1e-3)
    assert k["nmc_cost"] == pytest.approx(25 / 10)
    with pytest.raises(ValueError, match="missing"):
        contention.derive({"bound alone": runs["bound alone"]}, {})


def test_committed_measurement_is_consistent():
    m = contention.MEASURED
    assert m is not None, "sim/model/contention.json missing"
    assert contention.derive(m["runs"], m["tiles"]) == m["constants"]
    # the DRAM-reference part re-measured now (deterministic)
    assert contention.measure_nmc() == m["tiles"]


def test_systems_use_them():
    m = contention.MEASURED["constants"]
    d = SystemConfig()
    for name in contention.CONSTANTS:
        assert getattr(d, name) == m[name]
        assert getattr(get_system("t3-paper"), name) == m[name]
        assert getattr(get_system("t3-paper-fit"), name) == FIT_V01[name]
        assert PROVENANCE[name][0] == "measured"
    assert set(PROVENANCE) == set(CALIBRATED)
    assert {kind for kind, _ in PROVENANCE.values()} <= {"measured", "fitted", "assumed"}
