"""Run the RTL ring bench (``tb.ring.ring_bench`` on :class:`hw.ring.T3Ring`) for scenarios.

The hardware parameters of a scenario (devices, memory latency, link latency and bandwidth) are
elaboration-time: scenarios sharing them share one simulator build (``run_bench`` tag
``Scenario.hw_tag``). The workload goes to the bench through ``T3_RING``; each run executes the
four modes and leaves ``<out>.<mode>.json``.
"""

import json
import time
from pathlib import Path

from sim.xval.scenario import MODES

__all__ = ["run_rtl", "run_group", "rerun", "BUILDS", "OUT_DIR"]

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "build" / "validate"
#: ``(hw_key, sim) -> build directory`` of the builds :func:`run_group` made in this process
BUILDS = {}


def _out(scenario, sim, out_dir, name=None, modes=MODES):
    out = Path(out_dir) / "rtl" / sim / (name or scenario.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    for m in modes:
        Path(f"{out}.{m}.json").unlink(missing_ok=True)
    return out


def _env(scenario, out):
    return {"T3_RING_OUT": str(out), "T3_RING": scenario.bench_config(),
            "T3_PARAMS": {"mem_latency": scenario.mem_latency}}


def _results(out, modes=MODES):
    return {m: json.loads(Path(f"{out}.{m}.json").read_text()) for m in modes}


def run_rtl(scenario, sim="verilator", out_dir=OUT_DIR):
    """Export, build (or reuse the build of) and run the bench for ``scenario`` through
    ``tb.common.runner.run_bench``; returns ``({mode: result dict}, seconds)``."""
    from hw.params import T3Params
    from hw.ring import T3Ring
    from tb.common.runner import run_bench

    s = scenario
    out = _out(s, sim, out_dir)
    ring = T3Ring(T3Params(mem_latency=s.mem_latency), devices=s.devices,
                  link_latency=s.link_latency, link_bw=tuple(s.link_bw))
    t0 = time.monotonic()
    build_dir = run_bench("t3_ring", ring, "tb.ring.ring_bench", sim, tag=s.hw_tag,
                          env=_env(s, out))
    return _results(out), time.monotonic() - t0, build_dir


def rerun(scenario, sim, build_dir, out_dir=OUT_DIR, *, cfg=None, modes=MODES, name=None):
    """Run the bench again on an existing build (same hardware parameters): skips the Verilog
    export (~7 s for a 4-device ring) and the build check; same test call as ``run_bench``.
    ``cfg`` overrides the workload (e.g. ``{"direct": True}``), ``modes`` limits the run, the
    results go under ``name`` (default the scenario's). Returns ``({mode: result}, seconds)``."""
    from cocotb_tools.runner import get_results, get_runner
    from tb.common.runner import build_lock

    s = scenario
    out = _out(s, sim, out_dir, name, modes)
    env = _env(s, out)
    env["T3_RING"] = dict(env["T3_RING"], **(cfg or {}))
    env = {k: v if isinstance(v, str) else json.dumps(v) for k, v in env.items()}
    testcase = None if tuple(modes) == MODES else \
        [f"gemm_reduce_scatter/mode={MODES.index(m)}" for m in modes]
    t0 = time.monotonic()
    with build_lock(build_dir):
        results = get_runner(sim).test(
            hdl_toplevel="t3_ring", hdl_toplevel_lang="verilog", test_module="tb.ring.ring_bench",
            build_dir=build_dir, test_dir=build_dir, extra_env=env, timescale=("1ns", "1ps"),
            testcase=testcase,
            results_xml=str(Path(build_dir) / "results.xml"))
        num_tests, num_failed = get_results(results)
    assert num_tests > 0 and num_failed == 0, \
        f"ring bench on {sim} ({s.name}): {num_failed} of {num_tests} tests failed"
    return _results(out, modes), time.monotonic() - t0


def run_group(scenarios, sim="verilator", out_dir=OUT_DIR, log=None):
    """Run scenarios sharing one ``hw_key``: the first through ``run_bench`` (export + build),
    the others on that build. Yields ``(scenario, {mode: result}, seconds)``."""
    keys = {s.hw_key for s in scenarios}
    assert len(keys) == 1, f"run_group needs one hardware parameter set, got {keys}"
    build_dir = None
    for s in scenarios:
        if log:
            log(f"[validate] {s.name} ({s.hw_tag}) on {sim} ...")
        if build_dir is None:
            res, secs, build_dir = run_rtl(s, sim, out_dir)
            BUILDS[(s.hw_key, sim)] = build_dir
        else:
            res, secs = rerun(s, sim, build_dir, out_dir)
        yield s, res, secs
