"""No project source uses private Amaranth API: no import of an ``amaranth`` module or name whose
path has a component starting with ``_`` (``amaranth.hdl._ast``), no ``_MustUse__*`` attribute, no
private method of Amaranth objects that the project once used (``_lhs_signals`` ...), and no
assignment into an Amaranth module (monkey-patching ``amaranth.lib.fifo.Memory``)."""

import ast
import importlib
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIRS = ("hw", "formal", "tb", "tools", "sim", "tests")
#: private attributes of Amaranth objects (not project names, which may start with "_" freely)
AMARANTH_PRIVATE_ATTRS = {"_lhs_signals", "_rhs_signals", "_MustUse__silence", "_MustUse__used",
                          "_MustUse__context", "_MustUse__warning"}


def _private(path):
    return any(part.startswith("_") and part != "__init__" for part in path.split("."))


def _is_module(modname, name):
    try:
        return isinstance(getattr(importlib.import_module(modname), name), types.ModuleType)
    except (ImportError, AttributeError):
        return False


def violations(source, filename="<string>"):
    """``[(line, text)]`` of every private-Amaranth use in ``source``."""
    tree = ast.parse(source, filename)
    out = []
    modules = set()          # local names bound to amaranth modules
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "amaranth":
                    if _private(alias.name):
                        out.append((node.lineno, f"import {alias.name}"))
                    modules.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "amaranth":
            for alias in node.names:
                if _private(node.module) or alias.name.startswith("_"):
                    out.append((node.lineno, f"from {node.module} import {alias.name}"))
                if _is_module(node.module, alias.name):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Attribute):
            if node.attr in AMARANTH_PRIVATE_ATTRS or node.attr.startswith("_MustUse__"):
                out.append((node.lineno, f".{node.attr}"))
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id == "amaranth" \
                    and any(c.startswith("_") for c in chain):
                out.append((node.lineno, "amaranth." + ".".join(reversed(chain))))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and "_MustUse__" in node.value:
            out.append((node.lineno, "string naming _MustUse__"))
    for node in ast.walk(tree):           # monkey-patching: assignments into amaranth modules
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("setattr", "delattr") and node.args:
            targets = [ast.Attribute(value=node.args[0], attr="?")]
        for t in targets:
            if isinstance(t, ast.Attribute):
                base = t.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in modules:
                    out.append((node.lineno, f"assignment into amaranth module {base.id}"))
    return out


def _sources():
    for d in DIRS:
        for path in sorted((ROOT / d).rglob("*.py")):
            if path.resolve() != Path(__file__).resolve():
                yield path


def test_no_project_source_uses_private_amaranth_api():
    found = []
    for path in _sources():
        for line, what in violations(path.read_text(), str(path)):
            found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not found, "private Amaranth API:\n" + "\n".join(found)


def test_the_scan_finds_each_kind_of_use():
    bad = "\n".join([
        "from amaranth.hdl._ast import AnyConst",          # 1 private module
        "import amaranth.hdl._ir",                         # 2
        "from amaranth.hdl import _ast",                   # 3 private name
        "x._MustUse__silence = True",                      # 4
        "y = stmt._lhs_signals()",                         # 5
        "z = amaranth.hdl._mem.Memory",                    # 6
        "import amaranth.lib.fifo as fifo_mod",            # 7 (fine by itself)
        "fifo_mod.Memory = object",                        # 8 patch
        "from amaranth.lib import fifo",                   # 9 (fine by itself)
        "setattr(fifo, 'Memory', object)",                 # 10 patch
    ])
    lines = sorted({line for line, _ in violations(bad)})
    assert lines == [1, 2, 3, 4, 5, 6, 8, 10]
    good = ("from amaranth.hdl import Assert, Signal\nfrom amaranth.lib import fifo\n"
            "self._params = 1\nq = fifo.SyncFIFO(width=1, depth=2)\n")
    assert violations(good) == []
