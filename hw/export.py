"""Verilog export of every block: ``python -m hw.export [--out DIR] [NAME ...]``.

Each module in :mod:`hw` that has an ``EXPORTS`` dict (``name -> factory`` returning the component
with default parameters) is collected, so adding a block to ``make verilog``, ``make lint`` and
``make synth`` is one line in the block's own file.
"""

import argparse
import importlib
import pkgutil
import re
import sys
from pathlib import Path

from amaranth.back import verilog, rtlil

import hw
from hw import simram

__all__ = ["collect", "export", "verilog_text"]


def collect():
    """Return ``{name: factory}`` over every ``hw`` module's ``EXPORTS``, sorted by name."""
    found = {}
    for info in pkgutil.iter_modules(hw.__path__):
        if info.name in ("export", "__main__") or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"hw.{info.name}")
        for name, factory in getattr(mod, "EXPORTS", {}).items():
            if name in found:
                raise RuntimeError(f"export name {name!r} defined twice (hw.{info.name})")
            found[name] = factory
    return dict(sorted(found.items()))


def verilog_text(name, component=None):
    """Verilog of block ``name`` (or of ``component``) with top module ``name``."""
    if component is None:
        component = collect()[name]()
    text = verilog.convert(component, name=name, emit_src=False)
    # Verilog-only modules the design instantiates (hw.simram): their definitions follow it
    if re.search(rf"^\s*{simram.MODULE}\b", text, re.MULTILINE):
        text += "\n" + simram.VERILOG
    return text


def rtlil_text(name, component=None):
    if component is None:
        component = collect()[name]()
    return rtlil.convert(component, name=name, emit_src=False)


def _write(out, name, fmt):
    text = (verilog_text if fmt == "v" else rtlil_text)(name, collect()[name]())
    path = Path(out) / f"{name}.{fmt}"
    path.write_text(text)
    return path


def export(out_dir, names=None, fmt="v", jobs=1):
    """Write ``<out_dir>/<name>.v`` (or ``.il``) for each block, in ``jobs`` processes; return
    the paths."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, not {jobs!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    blocks = collect()
    names = list(blocks) if not names else names
    for name in names:
        if name not in blocks:
            raise SystemExit(f"unknown block {name!r}; known: {', '.join(blocks)}")
    if jobs == 1 or len(names) == 1:
        return [_write(out, n, fmt) for n in names]
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(min(jobs, len(names))) as pool:
        return list(pool.map(_write, [out] * len(names), names, [fmt] * len(names)))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m hw.export", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/verilog", help="output directory (default: %(default)s)")
    ap.add_argument("--format", choices=("v", "il"), default="v", help="Verilog or RTLIL")
    ap.add_argument("--jobs", type=int, default=1, help="export in this many processes")
    ap.add_argument("--list", action="store_true", help="list the block names and exit")
    ap.add_argument("names", nargs="*", help="blocks to export (default: all)")
    args = ap.parse_args(argv)
    if args.list:
        print("\n".join(collect()))
        return 0
    for path in export(args.out, args.names, args.format, args.jobs):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
