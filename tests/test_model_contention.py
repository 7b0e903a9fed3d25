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


def test_derivation_per_mca_setting():
    runs = {"bound alone": _run(0.6, 0.0), "bound rr@100%": _run(0.3, 0.05),
            "bound mca8/32@100%": _run(0.5, 0.01), "gemm alone": _run(0.5, 0.0),
            "gemm rr@100%": _run(0.4, 0.075, 2.0), "gemm mca8/32@100%": _run(0.45, 0.02, 1.1),
            "bound mca16/64@100%": _run(0.55, 0.005), "gemm mca16/64@100%": _run(0.48, 0.03, 1.05),
            "bound mca4/32@100%": _run(0.5, 0.01)}        # no gemm run: not a setting
    tiles = {"store_tile": 12, "update_tile": 27}
    assert contention.mca_settings(runs) == ["8/32", "16/64"]
    k = contention.derive(runs, tiles, "16/64")
    assert k["mca_interference"] == pytest.approx((0.6 - 0.55) / 0.01)    # 5.0
    assert k["mca_leak"] == pytest.approx((0.05 / 0.06) / (1.0 / 0.15), abs=1e-3)
    assert k["mca_starvation_share"] == pytest.approx(5.0 * 0.01 / 0.6, abs=1e-3)
    assert k["interference"] == contention.derive(runs, tiles)["interference"]
    per = contention.derive_mca_settings(runs, tiles)
    assert set(per) == {"8/32", "16/64"}
    assert set(per["16/64"]) == set(contention.MCA_CONSTANTS)
    with pytest.raises(ValueError, match="gemm mca4/32"):
        contention.derive(runs, tiles, "4/32")


def test_committed_measurement_is_consistent():
    m = contention.MEASURED
    assert m is not None, "sim/model/contention.json missing"
    assert contention.derive(m["runs"], m["tiles"]) == m["constants"]
    assert contention.derive_mca_settings(m["runs"], m["tiles"]) == m["mca_settings"]
    assert m["mca_settings"][contention.MCA_DEFAULT] == {
        k: m["constants"][k] for k in contention.MCA_CONSTANTS}
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
