"""Layering hw <- sim <- tb <- tools: no module under ``sim/`` imports ``tb`` or ``tools``.

An AST scan of every ``sim/**/*.py`` (module-level and function-level imports, absolute ones;
relative imports stay inside ``sim``)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("tb", "tools")


def upward_imports(source, filename="<source>"):
    """``[(line, module)]`` of the imports in ``source`` that reach ``tb`` or ``tools``."""
    out = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        out += [(node.lineno, n) for n in names if n.split(".")[0] in FORBIDDEN]
    return out


def test_scan_finds_upward_imports():
    """The scan sees both import forms, at any depth (so the test below can fail)."""
    src = "import os\nimport tb.common.runner\ndef f():\n    from tools.validate import x\n" \
          "from tbx import y\nfrom . import tb\n"
    assert upward_imports(src) == [(2, "tb.common.runner"), (4, "tools.validate")]


def test_sim_imports_neither_tb_nor_tools():
    files = sorted((ROOT / "sim").rglob("*.py"))
    assert len(files) > 5
    bad = [f"{p.relative_to(ROOT)}:{line}: imports {mod}"
           for p in files for line, mod in upward_imports(p.read_text(), str(p))]
    assert not bad, "\n".join(bad)
