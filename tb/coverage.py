"""Functional coverage report of the cocotb benches: ``python -m tb.coverage``.

Reads every ``<bench>-<sim>.json`` written by :class:`tb.common.coverage.Coverage` (directory
``$T3_COVERAGE_DIR`` or ``build/coverage``, or ``--dir``), merges them (a bin's hits are the largest
count over the simulators, since every simulator runs the same seeded stimulus, so running a bench
twice does not double its coverage; the goal is the largest declared) and prints one line per bin: bench, bin, hits, goal,
covered yes/no, then a summary percentage. ``--per-sim`` keeps the simulators apart.
Exit status 0, or 1 with ``--fail-under PCT`` when the covered percentage is below ``PCT``, or 2 if
no coverage file was found.
"""

import argparse
import json
import sys
from pathlib import Path

from tb.common.coverage import coverage_dir

__all__ = ["load", "merge", "render", "main"]


def load(directory):
    """List of the coverage documents in ``directory`` (unreadable files are skipped)."""
    docs = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            print(f"warning: cannot read {path}", file=sys.stderr)
            continue
        if isinstance(doc, dict) and isinstance(doc.get("bins"), dict) and "bench" in doc:
            docs.append(doc)
    return docs


def merge(docs, per_sim=False):
    """``{(bench, bin): {"hits": h, "goal": g, "sims": [...]}}`` merged over the documents
    (hits: the maximum over the simulators)."""
    out = {}
    for doc in docs:
        bench = doc["bench"] + (f"@{doc.get('sim', '?')}" if per_sim else "")
        for name, b in doc["bins"].items():
            entry = out.setdefault((bench, name), {"hits": 0, "goal": 1, "sims": []})
            entry["hits"] = max(entry["hits"], int(b.get("hits", 0)))
            entry["goal"] = max(entry["goal"], int(b.get("goal", 1)))
            entry["sims"].append(doc.get("sim", "?"))
    return out


def render(merged):
    """The table as text, and the covered percentage."""
    rows = sorted(merged.items())
    wb = max([len("bench")] + [len(k[0]) for k, _ in rows])
    wn = max([len("bin")] + [len(k[1]) for k, _ in rows])
    lines = [f"{'bench':<{wb}}  {'bin':<{wn}}  {'hits':>8}  {'goal':>6}  covered",
             "-" * (wb + wn + 29)]
    covered = 0
    for (bench, name), e in rows:
        ok = e["hits"] >= e["goal"]
        covered += ok
        lines.append(f"{bench:<{wb}}  {name:<{wn}}  {e['hits']:>8}  {e['goal']:>6}  "
                     f"{'yes' if ok else 'NO'}")
    pct = 100.0 * covered / len(rows) if rows else 0.0
    lines.append("-" * (wb + wn + 29))
    benches = sorted({k[0] for k, _ in rows})
    lines.append(f"{covered}/{len(rows)} bins covered ({pct:.1f} %) over {len(benches)} benches")
    for bench in benches:
        mine = [e for k, e in rows if k[0] == bench]
        c = sum(e["hits"] >= e["goal"] for e in mine)
        lines.append(f"  {bench:<{wb}}  {c:>3}/{len(mine):<3} ({100.0 * c / len(mine):5.1f} %)")
    return "\n".join(lines), pct


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tb.coverage", description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="coverage directory")
    ap.add_argument("--per-sim", action="store_true", help="one line per simulator")
    ap.add_argument("--fail-under", type=float, default=None, metavar="PCT")
    args = ap.parse_args(argv)
    directory = args.dir or coverage_dir()
    docs = load(directory)
    if not docs:
        print(f"no coverage files in {directory} (run the cocotb benches first: make test)")
        return 2
    text, pct = render(merge(docs, per_sim=args.per_sim))
    print(f"functional coverage from {len(docs)} files in {directory}")
    print(text)
    if args.fail_under is not None and pct < args.fail_under:
        print(f"coverage {pct:.1f} % is below {args.fail_under} %")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
