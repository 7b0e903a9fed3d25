"""Calibration probes: the model's answers to the calibration facts quoted in the issue.

* ``gemm_cu_sharing``: GEMM time with ``taken`` CUs removed / with all CUs (paper: 16 of 80 CUs
  taken -> GEMM 21% slower).
* ``collective_cu_sharing``: all-reduce (RS + AG kernels) time with ``cus`` CUs / with the
  default ``comm_cus`` (paper: 8 of 80 CUs -> all-reduce 41% slower).
* ``gemm_slowdown_with_collective``: GEMM time while an all-reduce shares CUs and HBM (FR-FCFS)
  / alone (peers: up to 1.8x).
"""
from __future__ import annotations

from .config import SystemConfig
from .dataflows import _Builder, _groups_per_chunk, _sync, gemm_costs

__all__ = ["gemm_alone", "gemm_cu_sharing", "collective_alone", "collective_cu_sharing",
           "gemm_slowdown_with_collective"]


def _store(j, s, gb):
    j.dram_c += gb
    j.wr = gb


def gemm_alone(sysc: SystemConfig, sub, taken: int = 0) -> float:
    """Seconds of the sublayer's GEMM kernel alone (launch excluded), ``taken`` CUs removed."""
    b = _Builder(sysc, sub.tp, sub.m, sub.n, sub.k, "fr-fcfs", False)
    b.e.cu.fixed_reserved = taken
    g = _groups_per_chunk(sysc, gemm_costs(sysc, sub.m, sub.n, sub.k)["tiles"] / sub.tp)
    b.gemm(sub.m, g, _store)
    return b.e.run() - b.launch


def gemm_cu_sharing(sysc: SystemConfig, sub, taken: int = 16) -> float:
    return gemm_alone(sysc, sub, taken) / gemm_alone(sysc, sub, 0)


def collective_alone(sysc: SystemConfig, sub) -> float:
    """Seconds of the all-reduce (ring RS kernel + ring AG kernel) of the sublayer's output."""
    b = _Builder(sysc, sub.tp, sub.m, sub.n, sub.k, "fr-fcfs", False)
    g = _groups_per_chunk(sysc, gemm_costs(sysc, sub.m, sub.n, sub.k)["tiles"] / sub.tp)
    start = _sync(b.e, "start", [])
    chunk = sub.m * sub.n * sysc.bytes_per_element / sub.tp
    fin = b.ring_rs_kernel(chunk, g, start)
    rs = _sync(b.e, "rs", fin)
    b.ring_ag_kernel(chunk, g, [rs])
    return b.e.run()


def collective_cu_sharing(sysc: SystemConfig, sub, cus: int = 8) -> float:
    return collective_alone(sysc.with_(comm_cus=cus), sub) / collective_alone(sysc, sub)


def gemm_slowdown_with_collective(sysc: SystemConfig, sub) -> float:
    """GEMM time when an all-reduce of the same size runs beside it for its whole duration."""
    alone = gemm_alone(sysc, sub)
    b = _Builder(sysc, sub.tp, sub.m, sub.n, sub.k, "fr-fcfs", False)
    g = _groups_per_chunk(sysc, gemm_costs(sysc, sub.m, sub.n, sub.k)["tiles"] / sub.tp)
    gj = b.gemm(sub.m, g, _store)
    start = _sync(b.e, "start", [])
    chunk = sub.m * sub.n * sysc.bytes_per_element / sub.tp
    # enough collective work to cover the GEMM: repeat the all-reduce
    reps = 1 + int(alone / max(collective_alone(sysc, sub), 1e-12))
    prev = start
    for r in range(reps + 1):
        fin = b.ring_rs_kernel(chunk, g, prev, tag=f"rs{r}")
        prev = _sync(b.e, f"rs{r}-done", fin)
    done = _sync(b.e, "gemm-done", gj.values())
    b.e.run()
    return (done.t_end - b.launch) / alone
