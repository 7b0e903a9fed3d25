"""Renderers of the register maps (:mod:`hw.csr`): SystemRDL, and through PeakRDL IP-XACT, HTML
and a C header; the Markdown reference and the JSON map in-house.

``python tools/regs.py --out docs`` writes the generated files, ``--check docs`` exits 1 naming
each stale one (``tests/test_docs.py`` runs it), ``--html DIR`` writes PeakRDL-html's browsable
reference of both maps (``make regs-html``: ``build/regs_html``).

Flow. Each map (the T3 unit's :data:`hw.regmap.DEFAULT`, the traffic generator's
:func:`hw.trafficgen.build_map`, the scale ring's producer's :func:`hw.producer.build_map`, the
memory window's :func:`hw.memwindow.build_map`) is turned into a systemrdl-compiler register model through the
compiler's importer API (:class:`MapImporter`, the one in-house step: the source of truth is the
Python map) and written as SystemRDL by peakrdl-systemrdl (``docs/<map>_regs.rdl``). That file is
compiled again with systemrdl-compiler, and the compiled model is what PeakRDL exports:
peakrdl-ipxact (``docs/<map>_regs.xml``, IEEE 1685-2014), peakrdl-cheader (``docs/<map>_regs.h``),
peakrdl-html. So every PeakRDL output comes from the committed RDL file.

In-house, because PeakRDL cannot carry them: ``docs/registers.md`` (the access rules of the
bridge, the SLVERR cases, the response bound, the CSR component's port of every field, the
per-field write checks: SystemRDL has no property for a port name, a legal range or an "illegal
encoding is refused" rule, so no PeakRDL renderer can print them) and ``docs/t3_regs.json`` (the
same facts machine-readable).

Access modes in SystemRDL: ``RW`` -> ``sw=rw; hw=r`` (``hw=rw; we`` if ``hw_write``); ``RO`` -> ``sw=r`` and ``hw=na`` (a constant,
its value as the reset) or ``hw=w`` (an input); ``W1C`` -> ``sw=rw; hw=r; onwrite=woclr;
hwset``; ``WS`` -> ``sw=w; hw=r`` (``singlepulse`` unless the register is a stream register).
Enumerated fields get an ``enum`` and ``encode``. A ``strict`` or ``deferred`` register says so
in its description (SystemRDL has no property for either).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from systemrdl import RDLCompiler, RDLImporter, rdltypes  # noqa: E402
from systemrdl.rdltypes.user_enum import UserEnumMemberContainer  # noqa: E402
from systemrdl.source_ref import FileSourceRef  # noqa: E402

from hw import memwindow, producer, regmap, trafficgen  # noqa: E402
from hw.csr import Access  # noqa: E402
from hw.regmap import ADDR_WIDTH, DATA_WIDTH, RESPONSE_BOUND  # noqa: E402

__all__ = ["MAPS", "MapImporter", "rdl_text", "compile_rdl", "ipxact_text", "cheader_text",
           "render_markdown", "render_json", "generate", "write_html", "main"]

#: Map name -> (the map, the Python file it is declared in).
MAPS = {
    "t3": (regmap.DEFAULT, "hw/regmap.py"),
    "tg": (trafficgen.build_map(), "hw/trafficgen.py"),
    "producer": (producer.build_map(), "hw/producer.py"),
    "memwindow": (memwindow.build_map(), "hw/memwindow.py"),
}
#: Sentences added to the description of a register with these model properties.
STRICT_NOTE = "Writes with a reserved bit set are refused (SLVERR)."
DEFERRED_NOTE = ("The write response waits until the block has completed the write: OKAY, or "
                 "SLVERR if it failed; no other write is taken meanwhile, reads are.")
#: IP-XACT vendor / library / version of the exported components.
IPXACT_VLNV = {"vendor": "t3-hw.example", "library": "t3", "version": "0.2"}


class MapImporter(RDLImporter):
    """A :class:`hw.csr.RegisterMap` into the systemrdl-compiler register model (the compiler's
    importer API, as PeakRDL's own IP-XACT importer does)."""

    def import_map(self, rmap, source):
        self.default_src_ref = FileSourceRef(source)
        top = self.create_addrmap_definition(rmap.name)
        if rmap.desc:
            self.assign_property(top, "desc", rmap.desc)
        enums = {}
        for reg in rmap:
            r = self.create_reg_definition()
            notes = [reg.notes] if reg.notes else []
            notes += [STRICT_NOTE] if reg.strict else []
            notes += [DEFERRED_NOTE] if reg.deferred else []
            self.assign_property(r, "desc", " ".join([reg.desc, *notes]))
            for f in sorted(reg.fields.values(), key=lambda f: f.offset):
                fd = self.create_field_definition()
                desc = f.desc
                if f.min is not None or f.max is not None:
                    lo = f.min if f.min is not None else 0
                    hi = f.max if f.max is not None else (1 << f.width) - 1
                    desc += f" Legal values: {lo} to {hi} (others refused with SLVERR)."
                self.assign_property(fd, "desc", desc)
                AT = rdltypes.AccessType
                if f.access is Access.RW:
                    sw, hw, reset = AT.rw, (AT.rw if f.hw_write else AT.r), f.reset
                    if f.hw_write:
                        self.assign_property(fd, "we", True)
                elif f.access is Access.RO:
                    sw, hw, reset = AT.r, (AT.na if f.const is not None else AT.w), f.const
                elif f.access is Access.W1C:
                    sw, hw, reset = AT.rw, AT.r, f.reset
                    self.assign_property(fd, "onwrite", rdltypes.OnWriteType.woclr)
                    self.assign_property(fd, "hwset", True)
                else:
                    sw, hw, reset = AT.w, AT.r, 0
                    if reg.stream is None:
                        self.assign_property(fd, "singlepulse", True)
                self.assign_property(fd, "sw", sw)
                self.assign_property(fd, "hw", hw)
                if reset is not None:
                    self.assign_property(fd, "reset", reset)
                if f.enum is not None:
                    if f.enum not in enums:
                        enums[f.enum] = rdltypes.UserEnum.define_new(f.enum.__name__, [
                            UserEnumMemberContainer(m.name.lower(), m.value) for m in f.enum])
                    self.assign_property(fd, "encode", enums[f.enum])
                self.add_child(r, self.instantiate_field(fd, f.name, f.offset, f.width))
            self.add_child(top, self.instantiate_reg(r, reg.name, reg.offset))
        self.register_root_component(top)
        return top


def rdl_text(rmap, source):
    """SystemRDL of ``rmap`` (peakrdl-systemrdl's writer on the imported model)."""
    from peakrdl_systemrdl import SystemRDLExporter
    rdlc = RDLCompiler()
    MapImporter(rdlc).import_map(rmap, source)
    root = rdlc.elaborate(rmap.name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{rmap.name}.rdl"
        SystemRDLExporter().export(root.top, str(path))
        body = path.read_text()
    return (f"// {rmap.name}: generated by `python tools/regs.py --out docs` from {source}: "
            "do not edit.\n" + body)


def compile_rdl(text):
    """Compile SystemRDL ``text`` with systemrdl-compiler; the elaborated top ``AddrmapNode``."""
    rdlc = RDLCompiler()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.rdl"
        path.write_text(text)
        rdlc.compile_file(str(path))
        return rdlc.elaborate().top


def _export_text(exporter, node, name, **kwargs):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        exporter.export(node, str(path), **kwargs)
        return path.read_text()


def ipxact_text(node):
    """IP-XACT (IEEE 1685-2014) of a compiled map (peakrdl-ipxact)."""
    from peakrdl_ipxact import IPXACTExporter
    return _export_text(IPXACTExporter(**IPXACT_VLNV), node, "map.xml")


def cheader_text(node):
    """C header of a compiled map (peakrdl-cheader): ``<MAP>__<REG>__<FIELD>_bm/_bp/_bw/_reset``
    macros and a packed ``<map>_t`` struct whose members sit at the register offsets."""
    from peakrdl_cheader.exporter import CHeaderExporter
    return _export_text(CHeaderExporter(), node, "map.h")


def write_html(out_dir, docs=ROOT / "docs"):
    """PeakRDL-html's reference of every map (compiled from ``docs/<map>_regs.rdl``, which must be
    up to date) into ``out_dir``."""
    from peakrdl_html import HTMLExporter
    nodes = []
    for name, (rmap, source) in MAPS.items():
        path = Path(docs) / f"{name}_regs.rdl"
        if not path.exists() or path.read_text() != rdl_text(rmap, source):
            raise SystemExit(f"{path} is stale: run `python tools/regs.py --out {docs}` first")
        rdlc = RDLCompiler()
        rdlc.compile_file(str(path))
        nodes.append(rdlc.elaborate().top)
    HTMLExporter().export(nodes, str(out_dir), title="T3 register maps")


def _params_dict(p):
    return {
        "data_width": p.data_width, "addr_width": p.addr_width, "tile_width": p.tile_width,
        "count_width": p.count_width, "tracker_entries": p.tracker_entries,
        "len_width": p.len_width, "dev_width": p.dev_width, "mem_latency": p.mem_latency,
        "lane": p.lane.value,
    }


def _bits(f):
    return f"{f.offset}" if f.width == 1 else f"{f.offset + f.width - 1}:{f.offset}"


def _reserved_ranges(reg):
    ranges, start = [], None
    mask = reg.defined_mask
    for b in range(DATA_WIDTH + 1):
        free = b < DATA_WIDTH and not (mask >> b) & 1
        if free and start is None:
            start = b
        elif not free and start is not None:
            ranges.append((start, b - 1))
            start = None
    return ranges


def _port_of(rmap, reg, f):
    for p in rmap.ports():
        if p.register == reg.name and p.field == f.name:
            return p
    return None


def render_markdown(rmap):
    """``docs/registers.md``."""
    p = rmap.params
    out = [
        "# T3 register map",
        "",
        "<!-- Generated by `python tools/regs.py --out docs` from hw/regmap.py: do not edit. -->",
        "",
        f"AXI4-Lite slave, {DATA_WIDTH}-bit data, {ADDR_WIDTH}-bit byte addresses (4 KiB map), "
        "registers at word-aligned offsets. Widths below are for the default parameters "
        f"(`T3Params()`: " + ", ".join(f"{k}={v}" for k, v in _params_dict(p).items()) + ").",
        "",
        "The same map as SystemRDL ([t3_regs.rdl](t3_regs.rdl)), and generated from it by PeakRDL "
        "as IP-XACT ([t3_regs.xml](t3_regs.xml)) and a C header ([t3_regs.h](t3_regs.h)); "
        "machine-readable with ports and write checks: [t3_regs.json](t3_regs.json); a browsable "
        "HTML reference: `make regs-html`. The traffic generator's map: "
        "[tg_regs.rdl](tg_regs.rdl), [tg_regs.xml](tg_regs.xml), [tg_regs.h](tg_regs.h); the "
        "scale ring's producer's: [producer_regs.rdl](producer_regs.rdl), "
        "[producer_regs.xml](producer_regs.xml), [producer_regs.h](producer_regs.h); the FPGA "
        "prototype's memory window's: [memwindow_regs.rdl](memwindow_regs.rdl), "
        "[memwindow_regs.xml](memwindow_regs.xml), [memwindow_regs.h](memwindow_regs.h).",
        "",
        "## Rules",
        "",
        "* **Reserved bits** (not covered by a field) read as 0; writes to them are ignored.",
        "* **RW**: stored; reads return the stored value. **RO**: constant, or an input sampled when "
        "the read is accepted. **W1C**: sticky flag set by a one-cycle event; writing 1 clears it "
        "(an event in the same cycle wins). **WS**: write strobe: a write makes a one-cycle pulse or "
        "one stream transfer; reads return 0.",
        "* **SLVERR** (`BRESP`/`RRESP` = 0b10), with no effect at all, for: an unmapped or unaligned "
        "address (sets `ERR.bad_address`); a write to a register without writable fields, or with "
        "`WSTRB` != 0b1111 (sets `ERR.bad_write`); an illegal field value (an enum field written "
        "with a non-member value, a value out of the field's range; sets the register's error flag); "
        "a malformed DMA command (sets `ERR.bad_command`); a legal write to a stream register whose "
        "one-entry buffer is still full (sets `ERR.stream_full`). Everything else answers OKAY.",
        "* AW and W are accepted independently, in any order (one of each is buffered); one B "
        "response per write once both arrived; one R response per AR. Writes to a stream register "
        "(ARM, DOORBELL, CMD_COMMIT) answer at once too: OKAY means the transfer is in the stream's "
        "one-entry buffer and will be delivered; `STATUS.arm_ready`, `doorbell_ready` and "
        "`cmd_ready` say whether the next write to that register will be taken.",
        f"* **Response bound**: to a master that takes responses at once (BREADY/RREADY high) and "
        f"completes every write it starts, the block answers within {RESPONSE_BOUND} cycles whatever "
        f"the unit behind it does: AWREADY, WREADY, ARREADY within {RESPONSE_BOUND} cycles of "
        f"AWVALID/WVALID/ARVALID; BVALID within {RESPONSE_BOUND} cycles of the cycle both AW and W "
        f"were accepted; RVALID the cycle after the AR handshake. (Proved by k-induction, "
        f"`make formal`, job `csr.response_bound`.)",
        "* `irq` (registered) = `CTRL.irq_enable` and (any `ERR` flag or `DONE`).",
        "* **Port naming**: the CSR component's port for a field is `<register>_<field>` in lower "
        "case, or `<register>` for a field called `value`. RW -> `Out` (stored value), RO -> `In`, "
        "W1C -> `In(1)` event pulse, WS -> `Out` one-cycle pulse. Stream registers drive the "
        "streams `arm`, `doorbell` and `cmd_write` instead.",
        "",
        "## Summary",
        "",
        "| offset | name | access | reset | description |",
        "|---|---|---|---|---|",
    ]
    for reg in rmap:
        out.append(f"| 0x{reg.offset:03x} | [{reg.name}](#{reg.name.lower()}) | {reg.access} | "
                   f"0x{reg.reset:08x} | {reg.desc} |")
    out += ["", "Unlisted offsets are unmapped (SLVERR).", "", "## Registers", ""]
    for reg in rmap:
        out += [f"### {reg.name}", "", f"Offset 0x{reg.offset:03x}, access {reg.access}, "
                f"reset 0x{reg.reset:08x}. {reg.desc}", ""]
        if reg.stream:
            out += [f"Stream register: a successful write sends one transfer on `{reg.stream}`.", ""]
        if reg.notes:
            out += [reg.notes, ""]
        out += ["| bits | field | access | reset | port | description |", "|---|---|---|---|---|---|"]
        rows = []
        for f in reg.fields.values():
            port = _port_of(rmap, reg, f)
            port_s = f"`{port.name}` ({port.direction})" if port else "-"
            if f.const is not None:
                reset = f"0x{f.const:x} (const)"
            elif f.access in (Access.RW, Access.W1C):
                reset = f"0x{f.reset:x}"
            else:
                reset = "-"
            desc = f.desc
            if f.enum is not None:
                desc += " Values: " + ", ".join(f"{m.value} = {m.name}" for m in f.enum) + "."
            rows.append((f.offset, f"| {_bits(f)} | {f.name} | {f.access.value} | {reset} | "
                         f"{port_s} | {desc} |"))
        for lo, hi in _reserved_ranges(reg):
            bits = f"{lo}" if lo == hi else f"{hi}:{lo}"
            rows.append((lo, f"| {bits} | - | reserved | 0 | - | Reads 0, writes ignored. |"))
        out += [r for _, r in sorted(rows, reverse=True)]
        out.append("")
    return "\n".join(out)


def render_json(rmap):
    """``docs/t3_regs.json``."""
    doc = {
        "name": "t3",
        "generated_by": "python tools/regs.py --out docs",
        "data_width": DATA_WIDTH,
        "addr_width": ADDR_WIDTH,
        "params": _params_dict(rmap.params),
        "registers": [],
    }
    for reg in rmap:
        r = {
            "name": reg.name, "offset": reg.offset, "access": reg.access, "reset": reg.reset,
            "description": reg.desc, "stream": reg.stream, "err_flag": reg.err_flag,
            "notes": reg.notes, "fields": [],
        }
        for f in reg.fields.values():
            port = _port_of(rmap, reg, f)
            r["fields"].append({
                "name": f.name, "bit_offset": f.offset, "width": f.width, "access": f.access.value,
                "reset": f.reset, "const": f.const, "min": f.min, "max": f.max,
                "enum": {m.name: m.value for m in f.enum} if f.enum is not None else None,
                "port": {"name": port.name, "direction": port.direction} if port else None,
                "description": f.desc,
            })
        doc["registers"].append(r)
    return json.dumps(doc, indent=2) + "\n"


def generate():
    """``{file name: text}`` of every generated document."""
    out = {
        "registers.md": render_markdown(regmap.DEFAULT),
        "t3_regs.json": render_json(regmap.DEFAULT),
    }
    for name, (rmap, source) in MAPS.items():
        rdl = rdl_text(rmap, source)
        node = compile_rdl(rdl)
        out[f"{name}_regs.rdl"] = rdl
        out[f"{name}_regs.xml"] = ipxact_text(node)
        out[f"{name}_regs.h"] = cheader_text(node)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python tools/regs.py",
                                 description="Generate (or check) the register map documents.")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", metavar="DIR", help="write the generated files into DIR")
    group.add_argument("--check", metavar="DIR", help="exit 1 if any generated file in DIR is stale")
    group.add_argument("--html", metavar="DIR", help="write PeakRDL-html's reference into DIR")
    args = ap.parse_args(argv)
    if args.html:
        write_html(args.html)
        print(f"HTML register reference in {args.html}/index.html")
        return 0
    texts = generate()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (out / name).write_text(text)
            print(out / name)
        return 0
    stale = []
    for name, text in texts.items():
        path = Path(args.check) / name
        if not path.exists() or path.read_text() != text:
            stale.append(str(path))
    if stale:
        print(f"stale register map documents (run `python tools/regs.py --out {args.check}`): "
              + ", ".join(stale), file=sys.stderr)
        return 1
    print(f"register map documents in {args.check} are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
