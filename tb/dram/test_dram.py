"""Launches the DRAM timing model's cocotb bench (``tb/dram/dram_bench.py``) on Icarus and Verilator.

Configurations: ``small`` (4 banks, interleaved mapping, short refresh interval and age cap so that
refresh, the age cap and row conflicts all happen within a few thousand cycles) under FR-FCFS and
FCFS on both simulators, and ``hbm2`` (the default :class:`~hw.dram_params.DramParams` the unit
uses) on Icarus. Its Verilator build takes minutes (16 banks x 8 queue entries of scheduler
logic), so ``make test`` leaves it out; ``DRAM_FULL=1`` adds it.
"""

import os

import pytest

from hw.dram import DramModel
from hw.dram_params import DramParams, Scheduler
from tb.common.runner import SIMULATORS, run_bench

SMALL = dict(banks=4, rows=4, cols=16, interleave=8, addr_width=11, id_width=2, max_burst=8,
             queue_depth=4, read_buffer=12, age_cap=24, tREFI=400, tRFC=20)
CONFIGS = {
    "small": dict(SMALL, scheduler="fr_fcfs"),
    "small_fcfs": dict(SMALL, scheduler="fcfs"),
    "hbm2": dict(),
}


def params_of(cfg):
    cfg = dict(cfg)
    if "scheduler" in cfg:
        cfg["scheduler"] = Scheduler(cfg["scheduler"])
    return DramParams(**cfg)


def init_of(params):
    """Initial storage: a recognisable pattern (the bench's reference starts from the same)."""
    return [(0x5A5A0000 + i) * 0x100000001 & ((1 << params.data_width) - 1)
            for i in range(params.capacity)]


RUNS = [(sim, cfg) for cfg in ("small", "small_fcfs") for sim in SIMULATORS] + [("icarus", "hbm2")]
if os.environ.get("DRAM_FULL", "0") != "0":
    RUNS.append(("verilator", "hbm2"))


@pytest.mark.parametrize("sim, config", RUNS, ids=[f"{s}-{c}" for s, c in RUNS])
def test_dram(sim, config):
    p = params_of(CONFIGS[config])
    run_bench("dram_model", DramModel(p, init=init_of(p)), "tb.dram.dram_bench", sim, tag=config,
              env={"DRAM_PARAMS": CONFIGS[config], "DRAM_TAG": config})
