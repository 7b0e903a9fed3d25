"""Run every formal proof, cover and mutant check; print a pass/fail table with solve times.

Usage: ``python -m formal.run [-j 2] [-k SUBSTRING ...]``. Work files go to ``build/formal/<job>/``.
Exit status 1 if a proof or cover fails or a mutant is not caught.
"""

import argparse
import importlib
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from .common import BUILD, run_job

MODULES = ("arbiter_props", "trigger_props", "csr_props", "tracker_props", "memport_props",
           "dram_props")


def all_jobs():
    jobs = []
    for name in MODULES:
        try:
            mod = importlib.import_module(f"formal.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"formal.{name}":
                continue
            raise
        jobs.extend(mod.jobs())
    return jobs


def mode_text(job):
    if job.mode == "prove":
        return f"prove (k={job.depth})"
    return f"{job.mode} depth {job.depth}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-j", "--jobs", type=int, default=2, help="solver runs in parallel (default 2)")
    ap.add_argument("-k", "--select", action="append", default=[],
                    help="run only jobs whose name contains this (repeatable)")
    args = ap.parse_args(argv)
    jobs = all_jobs()
    if args.select:
        jobs = [j for j in jobs if any(s in j.name for s in args.select)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        list(ex.map(run_job, jobs))
    w = max(len(j.name) for j in jobs) if jobs else 10
    print(f"{'job':<{w}}  {'mode':<16} {'expect':<6} {'status':<8} {'result':<10} {'time/s':>7}"
          f"  failing assertion")
    print("-" * (w + 54))
    for j in jobs:
        r = j.result
        print(f"{j.name:<{w}}  {mode_text(j):<16} {j.expect:<6} {r['status']:<8} "
              f"{r['verdict']:<10} {r['seconds']:7.1f}  {r.get('where', '')}".rstrip())
    bad = [j for j in jobs if not j.result["ok"]]
    print("-" * (w + 54))
    kinds = (("proofs", lambda j: j.expect == "pass" and j.mode != "cover"),
             ("covers", lambda j: j.mode == "cover"),
             ("mutants caught", lambda j: j.expect == "fail"))
    print(", ".join(f"{name}: {sum(j.result['ok'] for j in jobs if f(j))}/"
                    f"{sum(1 for j in jobs if f(j))}" for name, f in kinds))
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "results.json").write_text(json.dumps([
        dict(name=j.name, block=j.block, prop=j.prop, mode=j.mode, depth=j.depth,
             expect=j.expect, status=j.result["status"], verdict=j.result["verdict"],
             seconds=round(j.result["seconds"], 2), where=j.result.get("where", ""),
             log=j.result["log"]) for j in jobs], indent=1))
    print(f"{len(jobs) - len(bad)}/{len(jobs)} ok in {time.monotonic() - t0:.0f} s "
          f"(work files in {BUILD})")
    for j in bad:
        print(f"FAILED: {j.name}: {j.result['status']} (log: {j.result['log']})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
