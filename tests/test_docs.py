"""Docs check: generated docs up to date, and every make target, register and port they name exists.

* ``tools/datasheet.py --check`` and ``python tools/regs.py --check docs`` pass (regenerate, diff).
* ``make <target>`` in code (inline code or a fenced block) of README.md and docs/*.md names a
  Makefile target.
* A register reference in README.md, docs/datasheet.md and docs/registers.md is an inline code span
  whose whole text is an upper-case identifier, optionally followed by ``.field`` (``CTRL``,
  ``ERR.bad_address``; regex :data:`REG_TOKEN`); unless it is one of the documented non-register
  words (:data:`NOT_REGISTERS`: the enum members of hw/params.py and AXI4 signal/response names)
  it must be a register of ``hw.regmap.DEFAULT``, and ``.field`` one of its fields.
* Every row of the datasheet's port table names a port of ``T3Core`` with its Verilog name,
  direction and width; the parameter bounds it states are the ones ``T3Params`` enforces.

Each rule is also run on a deliberately wrong input (the ``*_catches_*`` tests), so a rule that can
no longer fail is noticed.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.hdl import Fragment, Shape, Value
from amaranth.lib.wiring import In

from hw import params as hw_params
from hw import regmap
from hw.params import T3Params
from hw.unit import T3Core

ROOT = Path(__file__).resolve().parents[1]
DATASHEET = ROOT / "docs" / "datasheet.md"
README = ROOT / "README.md"


def _load_tool():
    spec = importlib.util.spec_from_file_location("datasheet_tool", ROOT / "tools" / "datasheet.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# -- generated files ------------------------------------------------------------------------------

def test_datasheet_is_up_to_date():
    proc = subprocess.run([sys.executable, "tools/datasheet.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_regmap_docs_are_up_to_date():
    proc = subprocess.run([sys.executable, "tools/regs.py", "--check", "docs"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_port_has_a_timing_entry(unit):
    from hw.unit import T3Unit
    assert set(type(unit).PORT_TIMING) == set(unit.signature.members)
    ip = {"s_axil_*" if n.startswith("s_axil_") else n for n in T3Unit(T3Params()).signature.members}
    assert set(T3Unit.PORT_TIMING) == ip


# -- code spans -----------------------------------------------------------------------------------

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")


def code_texts(md):
    """The code of a Markdown text: the fenced blocks, then the inline code spans outside them."""
    blocks = [m.group(0) for m in FENCE.finditer(md)]
    rest = FENCE.sub("", md)
    return blocks, INLINE.findall(rest)


# -- make targets ---------------------------------------------------------------------------------

#: ``make`` as a command: at the start of a line or code span, or after ``;``, ``&&``, ``||``,
#: ``|``, ``(`` or a ``$`` prompt (so ``apt-get install make perl`` is not a use of target ``perl``).
MAKE_USE = re.compile(r"(?:^|[;&|(]|\$)[ \t]*make((?:[ \t]+(?:-\S+|[A-Za-z_]\w*=\S*))*)"
                      r"[ \t]+([A-Za-z0-9_][\w.-]*)", re.M)


def makefile_targets(text):
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+)[ \t]*:(?!=)", text, re.M)}


def make_targets_used(md):
    blocks, spans = code_texts(md)
    return {m.group(2) for t in blocks + spans for m in re.finditer(MAKE_USE, t)}


def doc_files():
    return [README] + sorted((ROOT / "docs").glob("*.md"))


def test_make_targets_exist():
    targets = makefile_targets((ROOT / "Makefile").read_text())
    bad = {f"{f.relative_to(ROOT)}: make {t}" for f in doc_files()
           for t in make_targets_used(f.read_text()) - targets}
    assert not bad, f"make targets not in the Makefile: {sorted(bad)}"


def test_make_rule_catches_unknown_target():
    md = ("Run `make test`, then:\n```\nmake -j2 JOBS=3 nosuch   # x\ncd a && make other\n```\n"
          "to make things work; `apt-get install make perl`.\n")
    # prose "make things" and the package list are not uses of a target
    assert make_targets_used(md) == {"test", "nosuch", "other"}
    assert makefile_targets("test: a ## x\nFOO := 1\n.PHONY: test\n") == {"test", ".PHONY"}


# -- registers ------------------------------------------------------------------------------------

REG_TOKEN = re.compile(r"^([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)(?:\.([a-z][a-z0-9_]*))?$")
AXI_WORDS = {"OKAY", "EXOKAY", "SLVERR", "DECERR", "BRESP", "RRESP", "WSTRB", "AWPROT", "ARPROT",
             "AWADDR", "ARADDR", "WDATA", "RDATA"}
ENUM_WORDS = {m.name for e in (hw_params.MemOp, hw_params.ReqClass, hw_params.Kind,
                               hw_params.ArbPolicy, hw_params.LaneType) for m in e}
NOT_REGISTERS = AXI_WORDS | ENUM_WORDS


def register_errors(md, rmap=regmap.DEFAULT):
    regs = {r.name: r for r in rmap}
    errors = []
    _, spans = code_texts(md)
    for span in spans:
        m = REG_TOKEN.match(span.strip())
        if not m:
            continue
        name, field = m.groups()
        if field is None and name in NOT_REGISTERS:
            continue
        if name not in regs:
            errors.append(f"`{span}`: no register {name}")
        elif field is not None and field not in regs[name].fields:
            errors.append(f"`{span}`: register {name} has no field {field}")
    return errors


@pytest.mark.parametrize("path", ["README.md", "docs/datasheet.md", "docs/registers.md"])
def test_registers_named_in_docs_exist(path):
    assert not register_errors((ROOT / path).read_text())


def test_register_rule_catches_unknown_names():
    md = ("`CTRL` `CTRL.enable` `SLVERR` `T3_MCA` `ctrl_enable` `a CTRL`\n"
          "`CTRLX` `CTRL.bogus` `CNT_FOO`\n```\n`NOT_CHECKED_IN_FENCE`\n```\n")
    assert register_errors(md) == ["`CTRLX`: no register CTRLX",
                                   "`CTRL.bogus`: register CTRL has no field bogus",
                                   "`CNT_FOO`: no register CNT_FOO"]


def test_not_registers_are_not_register_names():
    assert not NOT_REGISTERS & {r.name for r in regmap.DEFAULT}


# -- ports ----------------------------------------------------------------------------------------

def section(md, title):
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", md, re.S | re.M)
    assert m, f"no section '## {title}'"
    return m.group(1)


def table_rows(text):
    rows = []
    for line in text.splitlines():
        if line.startswith("| `"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def port_errors(md, unit):
    errors = []
    rows = [r for r in table_rows(section(md, "Ports").split("###")[0])]
    if not rows:
        return ["empty port table"]
    flows = {name: m.flow for name, m in unit.signature.members.items()}
    # each leaf signal's own direction (a stream's ready, an AXI slave's ready, ...)
    port_flows = {tuple(str(p) for p in path): member.flow
                  for path, member, _ in unit.signature.flatten(unit)}
    for row in rows:
        path, verilog, direction, width = (row[0].strip("`"), row[1].strip("`"), row[2], row[3])
        obj = unit
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            errors.append(f"{path}: no such port on T3Core")
            continue
        try:
            obj = Value.cast(obj)
        except TypeError:
            obj = None
        if obj is None or path.split(".")[0] not in flows:
            errors.append(f"{path}: not a port signal")
            continue
        if verilog != path.replace(".", "__"):
            errors.append(f"{path}: Verilog name {verilog}")
        if int(width) != Shape.cast(obj.shape()).width:
            errors.append(f"{path}: width {width}")
        flow = port_flows.get(tuple(path.split(".")))
        if flow is None:
            errors.append(f"{path}: not a leaf port of T3Core")
            continue
        if direction != ("in" if flow == In else "out"):
            errors.append(f"{path}: direction {direction}")
    return errors


@pytest.fixture(scope="module")
def unit():
    u = T3Core(T3Params())
    Fragment.get(u, None)        # elaborated once: the unit and the blocks it built are used
    return u


def test_ports_in_datasheet_exist(unit):
    assert not port_errors(DATASHEET.read_text(), unit)


def test_port_rule_catches_wrong_rows(unit):
    md = ("## Ports\n\n| port | Verilog | dir | width | timing |\n|---|---|---|---|---|\n"
          "| `compute.valid` | `compute__valid` | in | 1 | |\n"
          "| `compute.nosuch` | `compute__nosuch` | in | 1 | |\n"
          "| `link_tx.ready` | `link_tx__ready` | out | 1 | |\n"
          "| `irq` | `irq` | out | 2 | |\n## Next\n")
    assert port_errors(md, unit) == ["compute.nosuch: no such port on T3Core",
                                     "link_tx.ready: direction out", "irq: width 2"]


# -- parameters -----------------------------------------------------------------------------------

def _accepts(**kw):
    try:
        T3Params(**kw)
        return True
    except (ValueError, TypeError):
        return False


def test_documented_parameter_bounds_are_enforced():
    rows = table_rows(section(DATASHEET.read_text(), "Parameters"))
    checked = 0
    for row in rows:
        name = row[0].strip("`")
        m_nom = re.fullmatch(r"(\d+) \.\. (\d+)", row[2])
        m_eff = re.fullmatch(r"(\d+) \.\. (\d+)", row[3])
        if not m_nom:
            continue
        lo, hi = map(int, m_nom.groups())
        elo, ehi = map(int, m_eff.groups())
        assert not _accepts(**{name: lo - 1}) and not _accepts(**{name: hi + 1}), name
        assert _accepts(**{name: elo}) and _accepts(**{name: ehi}), name
        assert not _accepts(**{name: elo - 1}) and not _accepts(**{name: ehi + 1}), name
        checked += 1
    assert checked == 8


def test_every_parameter_rule_is_listed():
    """Each explicit ``raise`` of ``T3Params.__post_init__`` (beyond the PARAM_BOUNDS loop) has
    its sentence in ``hw.params.PARAM_RULES``, which the datasheet prints."""
    import ast
    import inspect
    import textwrap
    from hw.params import PARAM_RULES
    tree = ast.parse(textwrap.dedent(inspect.getsource(T3Params.__post_init__)))
    assert sum(isinstance(node, ast.Raise) for node in ast.walk(tree)) == len(PARAM_RULES)
