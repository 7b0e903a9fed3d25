"""Design-space sweeps on Dask (``python -m sim sweep --grid FILE``).

Points run on a ``distributed.LocalCluster`` started for the sweep (``workers`` processes, one
thread each), on an existing scheduler (``scheduler="tcp://host:8786"``), or in this process
(``scheduler="inline"``). Results come back in grid order whatever order the workers finish in,
and every number is computed by the same deterministic code, so all three give the same rows bit
for bit (tested). Output: JSON lines (one row per point, every configuration's full result) and a
flat CSV table (one row per point and configuration).
"""
from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path

__all__ = ["SweepError", "points", "run_points", "run_any_point", "write_jsonl", "write_csv",
           "CSV_FIELDS"]


class SweepError(RuntimeError):
    """The sweep could not run (e.g. the scheduler is unreachable)."""


def points(grid: dict) -> list[tuple]:
    """The grid's points in a fixed order: (level, system, model, tp, tokens, sublayer, configs)."""
    level = grid.get("level", "sublayer")
    subs = grid["sublayers"] if level == "sublayer" else ["-"]
    return [(level, s, m, tp, t, sl, tuple(grid["configs"])) for s in grid["systems"]
            for m in grid["models"] for tp in grid["tp"] for t in grid["tokens"] for sl in subs]


def run_any_point(pt: tuple) -> dict:
    """One point (picklable, runs on a worker)."""
    level, system, model, tp, tokens, sub_name, configs = pt
    if level == "sublayer":
        from .model.experiments import run_point
        row = run_point((system, model, tp, tokens, sub_name, configs))
        row["level"] = level
        return row
    from .model.layer import layer_shape, run_layer, run_step
    from .systems import get_system
    sysc = get_system(system)
    shape = layer_shape(model, tp, tokens)
    cfgs = configs if "sequential" in configs else ("sequential",) + tuple(configs)
    res = run_layer(sysc, shape, cfgs) if level == "layer" else run_step(sysc, shape, cfgs)
    seq = res["sequential"].time_s
    return {"level": level, "system": sysc.name, "model": model, "tp": tp, "tokens": tokens,
            "sublayer": sub_name,
            "results": {c: r.to_json() for c, r in res.items() if c in configs},
            "speedup": {c: seq / r.time_s for c, r in res.items() if c in configs}}


def _label(pt) -> str:
    return f"{pt[2]} tp{pt[3]} {pt[5]}"


def run_points(pts: list[tuple], scheduler: str | None = None, workers: int = 2,
               timeout: float = 10.0, show_progress: bool = True) -> list[dict]:
    """Run ``pts``; ``scheduler``: None (a LocalCluster of ``workers`` processes), "inline", or
    a scheduler address. Rows in the order of ``pts``."""
    from .model.experiments import progress
    n = len(pts)
    if scheduler == "inline":
        rows = []
        for i, p in enumerate(pts):
            rows.append(run_any_point(p))
            if show_progress:
                progress(i + 1, n, _label(p))
        return rows
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError("--scheduler: Dask is not installed: pip install 'dask[distributed]' "
                         "(make setup installs it)") from None
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster, timeout=timeout)
        else:
            try:
                client = Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError) as e:
                raise SweepError(f"--scheduler: cannot reach the Dask scheduler at "
                                 f"{scheduler!r} within {timeout:g} s ({e})") from None
        try:
            futs = client.map(run_any_point, pts, pure=False)
            index = {f.key: i for i, f in enumerate(futs)}
            rows: list = [None] * n
            for done, f in enumerate(as_completed(futs), 1):
                i = index[f.key]
                rows[i] = f.result()
                if show_progress:
                    progress(done, n, _label(pts[i]))
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
    return rows


def write_jsonl(rows: list[dict], path: Path | None) -> str:
    text = "\n".join(json.dumps(r, sort_keys=True) for r in rows) + "\n"
    if path is not None:
        Path(path).write_text(text)
    return text


#: columns of the CSV table (one row per point and configuration)
CSV_FIELDS = ("level", "system", "model", "tp", "tokens", "sublayer", "config", "time_us",
              "speedup", "fwd_us", "bwd_us", "slices", "tracker_spills", "dram_read_bytes",
              "dram_write_bytes", "link_bytes")


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            for c, res in r["results"].items():
                spills = res.get("tracker_spills", res.get("layer", {}).get("tracker_spills", ""))
                if isinstance(spills, dict):
                    spills = sum(spills.values())
                d = {k: r.get(k, "") for k in ("level", "system", "model", "tp", "tokens",
                                               "sublayer")}
                d.update({"config": c, "time_us": repr(res.get("time_us",
                                                               res.get("time_ms", 0) * 1e3)),
                          "speedup": repr(r.get("speedup", {}).get(c, "")),
                          "fwd_us": res.get("fwd_us", res.get("layer", {}).get("fwd_us", "")),
                          "bwd_us": res.get("bwd_us", res.get("layer", {}).get("bwd_us", "")),
                          "slices": res.get("slices", res.get("layer", {}).get("slices", "")),
                          "tracker_spills": spills,
                          "dram_read_bytes": res.get("dram_read_bytes", ""),
                          "dram_write_bytes": res.get("dram_write_bytes", ""),
                          "link_bytes": res.get("link_bytes", "")})
                w.writerow(d)


def main_sweep(grid: dict, scheduler, workers: int, timeout: float, out: str | None,
               csv_path: str | None) -> int:
    import time
    pts = points(grid)
    t0 = time.perf_counter()
    rows = run_points(pts, scheduler, workers, timeout)
    if out:
        write_jsonl(rows, Path(out))
        cp = Path(csv_path) if csv_path else Path(out).with_suffix(".csv")
        write_csv(rows, cp)
        print(f"wrote {len(rows)} points to {out} and {cp} in {time.perf_counter() - t0:.1f} s")
    else:
        sys.stdout.write(write_jsonl(rows, None))
        if csv_path:
            write_csv(rows, Path(csv_path))
    return 0
