"""Functional coverage for the cocotb benches: named bins with goals, written to JSON.

A small equivalent of cocotb-coverage's cover points (no decorators, no sampling callbacks): a bench
creates one :class:`Coverage` per bench module, declares its bins with a goal (the number of hits
that counts as covered), calls :meth:`Coverage.hit` when the event happens, and :meth:`Coverage.write`
at the end of every cocotb test (the file is cumulative over the tests of one run).

Files go to ``$T3_COVERAGE_DIR`` (default ``<repo>/build/coverage``) as ``<bench>-<sim>.json``::

    {"bench": "arbiter", "sim": "icarus", "bins": {"rr.grant_compute": {"hits": 12, "goal": 10}}}

``python -m tb.coverage`` merges every file and prints the table.
"""

import json
import os
from pathlib import Path

__all__ = ["Coverage", "coverage_dir", "sim_name"]

ROOT = Path(__file__).resolve().parents[2]


def coverage_dir():
    """Directory of the coverage files (``T3_COVERAGE_DIR`` or ``build/coverage``)."""
    return Path(os.environ.get("T3_COVERAGE_DIR") or ROOT / "build" / "coverage")


def sim_name():
    """``"icarus"``/``"verilator"`` inside a cocotb run (from ``cocotb.SIM_NAME``), else ``"sim"``."""
    try:
        import cocotb
        name = (getattr(cocotb, "SIM_NAME", None) or "").lower()
    except ImportError:                                   # pragma: no cover
        name = ""
    if "icarus" in name:
        return "icarus"
    if "verilator" in name:
        return "verilator"
    return name.split()[0] if name else "sim"


class Coverage:
    """Named coverage bins of one bench.

    Parameters
    ----------
    bench : str
        Bench name (the file name prefix), e.g. ``"arbiter"`` or ``"memory_bf16"``.
    bins : dict of str -> int, optional
        Bins to declare with their goals.
    """

    def __init__(self, bench, bins=None):
        if not isinstance(bench, str) or not bench:
            raise ValueError(f"bench must be a non-empty string, not {bench!r}")
        self.bench = bench
        self.bins = {}
        for name, goal in (bins or {}).items():
            self.define(name, goal)

    def define(self, name, goal=1):
        """Declare bin ``name`` with ``goal`` hits needed (re-declaring keeps the hits)."""
        if not isinstance(goal, int) or goal < 1:
            raise ValueError(f"goal of bin {name!r} must be an integer >= 1, not {goal!r}")
        self.bins.setdefault(name, {"hits": 0, "goal": goal})["goal"] = goal

    def hit(self, name, n=1):
        """Count ``n`` hits of bin ``name`` (an undeclared bin is declared with goal 1)."""
        if name not in self.bins:
            self.define(name, 1)
        self.bins[name]["hits"] += int(n)

    def hits(self, name):
        return self.bins[name]["hits"]

    def missing(self):
        """Bins below their goal."""
        return [n for n, b in self.bins.items() if b["hits"] < b["goal"]]

    def path(self, sim=None):
        return coverage_dir() / f"{self.bench}-{sim or sim_name()}.json"

    def write(self, sim=None):
        """Write the bins (cumulative) to ``<coverage_dir>/<bench>-<sim>.json``; returns the path."""
        path = self.path(sim)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"bench": self.bench, "sim": sim or sim_name(),
                                   "bins": self.bins}, indent=1, sort_keys=True))
        tmp.replace(path)
        return path
