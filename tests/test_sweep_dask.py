"""Sweeps on Dask: a LocalCluster of 2 worker processes gives the in-process rows bit for bit, and
an unreachable scheduler is reported within the timeout."""
import subprocess
import sys
import time
from pathlib import Path

from sim.sweep import points, run_points

ROOT = Path(__file__).resolve().parents[1]

GRID = {"level": "sublayer", "systems": ["t3-paper", "dgx-h100"], "models": ["mega-gpt-2"],
        "tp": [8], "tokens": [1024], "sublayers": ["op", "fc2"],
        "configs": ["sequential", "domino", "t3-mca"]}
LAYER_GRID = {"level": "layer", "systems": ["t3-paper"], "models": ["mega-gpt-2"], "tp": [8],
              "tokens": [2048], "configs": ["domino", "t3+domino"]}


def test_local_cluster_equals_in_process_bit_for_bit():
    pts = points(GRID) + points(LAYER_GRID)
    assert len(pts) == 5
    inline = run_points(pts, "inline", show_progress=False)
    dask = run_points(pts, None, workers=2, show_progress=False)
    # dicts of floats: == is exact float equality, and the order is the grid's
    assert dask == inline
    assert [r["sublayer"] for r in dask[:4]] == ["op", "fc2", "op", "fc2"]
    assert dask[4]["level"] == "layer" and "t3+domino" in dask[4]["results"]


def test_unreachable_scheduler_is_a_clear_error_within_the_timeout(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('[grid]\nmodels = ["t-nlg"]\ntp = [8]\nsublayers = ["op"]\n')
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "sim", "sweep", "--grid", str(grid),
                        "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - t0
    assert r.returncode == 2
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 1 s" in r.stderr
    assert elapsed < 30
