"""The register maps' generated descriptions (tools/regs.py) against the Python maps they come from.

* ``docs/<map>_regs.rdl`` compiles with systemrdl-compiler, and the compiled map equals the Python
  map: register names and offsets, field names, bit positions, widths, software access, write side
  effects, resets and enumerations.
* ``docs/<map>_regs.xml`` (IP-XACT by peakrdl-ipxact) is re-imported with peakrdl-ipxact's
  importer, and the re-imported map equals the Python map in the same terms.
* ``docs/<map>_regs.h`` (peakrdl-cheader) compiled with the C compiler against static assertions of
  every register offset and every field's position, width and mask, taken from the Python map.
* The traffic generator's map equals the register table written in ``hw/trafficgen.py``'s
  docstring (the documented offsets the host driver and the FPGA build rely on).

That the committed files are up to date is checked by tests/test_docs.py and tests/test_csr.py.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from systemrdl import RDLCompiler  # noqa: E402

from hw import trafficgen  # noqa: E402
from hw.csr import Access  # noqa: E402

import regs  # noqa: E402  (tools/regs.py)

DOCS = ROOT / "docs"

#: SystemRDL ``sw`` access and ``onwrite`` side effect of each access mode of the model
#: (SystemRDL 2.0, sections 9.4 and 9.6; IP-XACT: read-write / read-only / write-only and
#: ``modifiedWriteValue`` oneToClear).
RDL_ACCESS = {Access.RW: ("rw", None), Access.RO: ("r", None), Access.W1C: ("rw", "woclr"),
              Access.WS: ("w", None)}


def expected(rmap):
    """``{register: (offset, {field: (lsb, width, sw, onwrite, reset, enum)})}`` from the map."""
    out = {}
    for reg in rmap:
        fields = {}
        for f in reg.fields.values():
            sw, onwrite = RDL_ACCESS[f.access]
            if f.access in (Access.RW, Access.W1C):
                reset = f.reset
            elif f.access is Access.WS:
                reset = 0
            else:
                reset = f.const        # None for an input
            enum = {m.name.lower(): m.value for m in f.enum} if f.enum is not None else None
            fields[f.name] = (f.offset, f.width, sw, onwrite, reset, enum)
        out[reg.name] = (reg.offset, fields)
    return out


def summary(top, enums=True):
    """The same summary of a compiled systemrdl-compiler ``AddrmapNode``."""
    out = {}
    for reg in top.registers():
        fields = {}
        for f in reg.fields():
            ow = f.get_property("onwrite")
            enc = f.get_property("encode") if enums else None
            enum = {m.name: m.value for m in enc} if enc is not None else None
            fields[f.inst_name] = (f.lsb, f.width, f.get_property("sw").name,
                                   ow.name if ow is not None else None, f.get_property("reset"),
                                   enum)
        out[reg.inst_name] = (reg.address_offset, fields)
    return out


@pytest.mark.parametrize("name", sorted(regs.MAPS))
def test_rdl_compiles_and_equals_the_map(name):
    rmap, _ = regs.MAPS[name]
    rdlc = RDLCompiler()
    rdlc.compile_file(str(DOCS / f"{name}_regs.rdl"))
    top = rdlc.elaborate().top
    assert top.inst_name == rmap.name
    assert summary(top) == expected(rmap)


@pytest.mark.parametrize("name", sorted(regs.MAPS))
def test_ipxact_reimports_and_equals_the_map(name):
    from peakrdl_ipxact import IPXACTImporter
    rmap, _ = regs.MAPS[name]
    rdlc = RDLCompiler()
    IPXACTImporter(rdlc).import_file(str(DOCS / f"{name}_regs.xml"))
    top = rdlc.elaborate().top
    # the importer makes the memory map an addrmap holding the address block, named as the map
    blocks = list(top.children())
    assert [b.inst_name for b in blocks] == [rmap.name]
    got = summary(blocks[0])
    want = expected(rmap)
    assert list(got) == list(want)            # same registers, in offset order
    assert got == want


@pytest.mark.parametrize("name", sorted(regs.MAPS))
def test_c_header_matches_the_map(name, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc is not None, "no C compiler: `make setup` installs g++ (and gcc with it)"
    rmap, _ = regs.MAPS[name]
    p = rmap.name.upper()
    lines = [f'#include "{name}_regs.h"', "#include <stddef.h>"]
    for reg in rmap:
        lines.append(f"_Static_assert(offsetof({rmap.name}_t, {reg.name}) == {reg.offset:#x}, "
                     f'"{reg.name} offset");')
        for f in reg.fields.values():
            m = f"{p}__{reg.name}__{f.name.upper()}"
            lines.append(f"_Static_assert({m}_bp == {f.offset} && {m}_bw == {f.width} && "
                         f'{m}_bm == {f.mask:#x}u, "{reg.name}.{f.name}");')
    lines.append(f'_Static_assert(sizeof({rmap.name}_t) == {max(r.offset for r in rmap) + 4:#x}, '
                 '"size");')
    lines.append("int main(void) { return 0; }")
    src = tmp_path / "t.c"
    src.write_text("\n".join(lines) + "\n")
    r = subprocess.run([cc, "-std=gnu11", "-Wall", "-Werror", "-fsyntax-only", f"-I{DOCS}", str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_trafficgen_map_matches_its_documented_table():
    doc = trafficgen.__doc__
    table = {}
    for m in re.finditer(r"^0x([0-9A-Fa-f]{2})\s+([A-Z_]+)\s+(RO|RW|WS)\s", doc, re.M):
        table[m.group(2)] = (int(m.group(1), 16), m.group(3))
    rmap = trafficgen.build_map()
    got = {reg.name: (reg.offset, reg.access) for reg in rmap}
    assert len(table) == 13
    assert got == table
    assert trafficgen.TG_REGS == {name: off for name, (off, _) in table.items()}


# -- the model and the bridge refuse inconsistent maps -------------------------------------------

def test_bridge_refuses_inconsistent_maps():
    from hw.csr import AXI4LiteRegisterBridge, Field, Register, RegisterMap
    RW, W1C, RO = Access.RW, Access.W1C, Access.RO

    def errmap(*flags, extra=()):
        err = Register("ERR", 0x0, "errors", [
            Field(n, i, 1, W1C, n, port=False, driver="bridge") for i, n in enumerate(flags)])
        return RegisterMap(None, [err, Register("A", 0x4, "a", [Field("v", 0, 4, RW, "v", max=9)]),
                                  *extra], errors="ERR")

    from amaranth.hdl import Fragment
    Fragment.get(AXI4LiteRegisterBridge(errmap("bad_address", "bad_write")), None)   # consistent
    with pytest.raises(ValueError, match="bad_write"):
        AXI4LiteRegisterBridge(errmap("bad_address"))
    with pytest.raises(ValueError, match="stream_full"):              # a flag nothing sets
        AXI4LiteRegisterBridge(errmap("bad_address", "bad_write", "stream_full"))
    with pytest.raises(ValueError, match="ready_of"):
        AXI4LiteRegisterBridge(errmap("bad_address", "bad_write", extra=[
            Register("S", 0x8, "s", [Field("r", 0, 1, RO, "r", port=False, driver="bridge",
                                           ready_of="nope")])]))
    with pytest.raises(ValueError, match="error register"):
        RegisterMap(None, [Register("A", 0x0, "a", [Field("f", 0, 1, W1C, "f", port=False,
                                                          driver="bridge")])])
    with pytest.raises(ValueError, match="port must be False"):
        Field("f", 0, 1, W1C, "f", driver="bridge")
    with pytest.raises(TypeError, match="rmap"):
        AXI4LiteRegisterBridge(42)
    with pytest.raises(TypeError, match="buffered"):
        AXI4LiteRegisterBridge(errmap("bad_address", "bad_write"), buffered=1)
