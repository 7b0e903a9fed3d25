"""Generate the SDRAM controller behind the T3 unit's AXI4 memory port: LiteDRAM, as Verilog.

LiteDRAM (https://github.com/enjoy-digital/litedram) is used as a library (PyPI ``litedram``,
``litex``, ``migen``; the ``fpga`` extra of this project). The core built here is::

    s_axi (AXI4 slave, 64-bit beats) ─► LiteDRAMAXI2Native ─► crossbar port (64 -> 16 bit
      converter) ─► LiteDRAMController (bank machines, refresher) ─► DFIInjector ─► PHY

with two PHYs, one controller:

* ``--target board``: ``GENSDRPHY`` (the generic single-data-rate PHY: ECP5 I/O registers and
  ``TRELLIS_IO`` tristates) on the ULX3S' 16-bit SDR SDRAM, with LiteX's ``ECP5PLL`` making the
  system clock and the SDRAM clock (90 degrees behind, out through an ``ODDRX1F``) from the board's
  25 MHz. Module ``t3_litedram``: ports ``clk25``, ``sys_clk``/``sys_rst`` (outputs: the design's
  clock domain), ``init_done``, ``s_axi_*``, ``sdram_*``.
* ``--target sim``: LiteDRAM's ``SDRAMPHYModel`` (the SDRAM's banks, rows and CAS latency in
  logic) with the very PHY settings ``GENSDRPHY`` reports, for a Verilator bench. Module
  ``t3_litedram_sim``: ports ``sys_clk``, ``sys_rst`` (inputs), ``init_done``, ``s_axi_*``.

Without a CPU nobody runs LiteX's BIOS SDRAM init, so a small sequencer here plays LiteDRAM's own
init sequence for the memory type (``litedram.init.get_sdram_phy_init_sequence``: CKE high after
the power-up wait, precharge all, mode register with the PHY's CAS latency, two auto refreshes,
mode register) on the DFI injector's external port, then hands the DFI to the controller and
raises ``init_done``. Until then ``awready``/``wready``/``arready`` are low.

Usage::

    python tools/litedram_core.py --target board --out build/litedram/t3_litedram.v
    python tools/litedram_core.py --target sim   --out build/litedram/t3_litedram_sim.v

Nothing generated is committed: ``make fpga`` and the LiteDRAM bench call this.
"""

import argparse
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: SDRAM chips the ULX3S ships with (litedram.modules class names); IS42S16160 boards use
#: MT48LC16M16 (same geometry and timings within the margins LiteDRAM applies).
MODULES = ("MT48LC16M16", "AS4C32M16", "AS4C16M16", "IS42S16160")
TARGETS = ("board", "sim")
#: Names of the generated top modules, by target.
TOP_NAMES = {"board": "t3_litedram", "sim": "t3_litedram_sim"}

# AXI4 members as the project's AXI4Signature names them -> (LiteX channel, field, direction
# seen from the core: "i" driven by the unit, "o" driven by the core).
_AXI = [
    ("awid", "aw", "id", "i"), ("awaddr", "aw", "addr", "i"), ("awlen", "aw", "len", "i"),
    ("awsize", "aw", "size", "i"), ("awburst", "aw", "burst", "i"),
    ("awvalid", "aw", "valid", "i"), ("awready", "aw", "ready", "o"),
    ("wdata", "w", "data", "i"), ("wstrb", "w", "strb", "i"), ("wlast", "w", "last", "i"),
    ("wvalid", "w", "valid", "i"), ("wready", "w", "ready", "o"),
    ("bid", "b", "id", "o"), ("bresp", "b", "resp", "o"), ("bvalid", "b", "valid", "o"),
    ("bready", "b", "ready", "i"),
    ("arid", "ar", "id", "i"), ("araddr", "ar", "addr", "i"), ("arlen", "ar", "len", "i"),
    ("arsize", "ar", "size", "i"), ("arburst", "ar", "burst", "i"),
    ("arvalid", "ar", "valid", "i"), ("arready", "ar", "ready", "o"),
    ("rid", "r", "id", "o"), ("rdata", "r", "data", "o"), ("rresp", "r", "resp", "o"),
    ("rlast", "r", "last", "o"), ("rvalid", "r", "valid", "o"), ("rready", "r", "ready", "i"),
]
#: Channels whose handshake is held until the SDRAM is initialised (valid in, ready out).
_GATED = ("aw", "w", "ar")


def _check(name, value, lo, hi):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], not {value}")


def _sdram_pads(module_cls):
    """A Migen record with the SDR SDRAM pins GENSDRPHY drives (ULX3S: 13 address, 2 bank,
    16 data bits, two byte masks)."""
    from migen import Record
    g = module_cls
    abits = max(int(math.log2(g.nrows)), int(math.log2(g.ncols)) + 1)   # A10 is auto-precharge
    return Record([("a", abits), ("ba", int(math.log2(g.nbanks))), ("cs_n", 1), ("cke", 1),
                   ("ras_n", 1), ("cas_n", 1), ("we_n", 1), ("dq", 16), ("dm", 2)],
                  name="sdram")


def _init_steps(phy_settings, timing_settings, sys_clk_freq, powerup_us):
    """LiteDRAM's init sequence as ``(address, bank, cs, ras, cas, we, cke, wait_cycles)`` steps.

    ``cdelay`` counts of the BIOS become cycles with floors that cover the SDR timings at any
    clock LiteDRAM supports here: the power-up wait is ``powerup_us`` microseconds, every command
    is followed by at least 16 cycles (tRP, tMRD, tRFC are below 80 ns)."""
    from litedram.init import get_sdram_phy_init_sequence
    seq, _ = get_sdram_phy_init_sequence(phy_settings, timing_settings)
    steps = []
    cke = 0
    for _comment, a, ba, cmd, delay in seq:
        flags = set(cmd.split("|"))
        if "DFII_CONTROL_CKE" in flags:
            cke = 1
            steps.append((a, ba, 0, 0, 0, 0, cke, max(delay, int(powerup_us * sys_clk_freq / 1e6))))
            continue
        steps.append((a, ba, int("DFII_COMMAND_CS" in flags), int("DFII_COMMAND_RAS" in flags),
                      int("DFII_COMMAND_CAS" in flags), int("DFII_COMMAND_WE" in flags), cke,
                      max(delay, 16)))
    return steps


def build_core(target="board", *, module="MT48LC16M16", sys_clk_freq=50e6, data_width=64,
               id_width=2, powerup_us=200.0):
    """The Migen module of the core and its top-level ports: ``(module, ios, info)``."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    if module not in MODULES:
        raise ValueError(f"module must be one of {MODULES}, not {module!r}")
    _check("data_width", data_width, 16, 1024)
    if data_width & (data_width - 1):
        raise ValueError(f"data_width must be a power of two, not {data_width}")
    _check("id_width", id_width, 1, 16)
    if not 10e6 <= sys_clk_freq <= 100e6:
        raise ValueError(f"sys_clk_freq must be in [10 MHz, 100 MHz], not {sys_clk_freq}")
    if not 0 < powerup_us <= 10000:
        raise ValueError(f"powerup_us must be in (0, 10000], not {powerup_us}")

    from migen import (ClockDomain, ClockSignal, Module, If, ResetSignal, Signal)
    from litex.build.io import DDROutput
    from litedram import modules as ld_modules
    from litedram.core import LiteDRAMCore
    from litedram.frontend.axi import LiteDRAMAXI2Native
    from litedram.phy import GENSDRPHY
    from litex.soc.interconnect.axi import AXIInterface

    module_cls = getattr(ld_modules, module)
    sdram = module_cls(sys_clk_freq, "1:1")
    geom = sdram.geom_settings
    top = Module()
    ios = set()

    # -- clocking and PHY ---------------------------------------------------------------------
    pads = _sdram_pads(module_cls)
    top.clock_domains.cd_sys = ClockDomain("sys")
    if target == "board":
        from litex.soc.cores.clock import ECP5PLL
        clk25 = Signal(name="clk25")
        sys_clk, sys_rst = Signal(name="sys_clk"), Signal(name="sys_rst")
        sdram_clk = Signal(name="sdram_clk")
        top.clock_domains.cd_sys_ps = ClockDomain("sys_ps")
        top.submodules.pll = pll = ECP5PLL()
        pll.register_clkin(clk25, 25e6)
        pll.create_clkout(top.cd_sys, sys_clk_freq)
        pll.create_clkout(top.cd_sys_ps, sys_clk_freq, phase=90)
        top.specials += DDROutput(1, 0, sdram_clk, ClockSignal("sys_ps"))
        top.comb += [sys_clk.eq(ClockSignal("sys")), sys_rst.eq(ResetSignal("sys"))]
        top.submodules.phy = phy = GENSDRPHY(pads, sys_clk_freq)
        ios |= {clk25, sys_clk, sys_rst, sdram_clk} | set(pads.flatten())
    else:
        from litedram.phy.model import SDRAMPHYModel
        sys_clk, sys_rst = Signal(name="sys_clk"), Signal(name="sys_rst")
        top.comb += [top.cd_sys.clk.eq(sys_clk), top.cd_sys.rst.eq(sys_rst)]
        # The board PHY's settings (CAS latency, read latency), without instantiating it.
        settings = GENSDRPHY(_sdram_pads(module_cls), sys_clk_freq).settings
        top.submodules.phy = phy = SDRAMPHYModel(sdram, settings, clk_freq=sys_clk_freq)
        ios |= {sys_clk, sys_rst}

    # -- controller, crossbar port at the beat width, AXI frontend ---------------------------
    top.submodules.core = core = LiteDRAMCore(phy, geom, sdram.timing_settings, sys_clk_freq)
    port = core.crossbar.get_port(mode="both", data_width=data_width)
    addr_width = port.address_width + int(math.log2(data_width // 8))
    axi = AXIInterface(data_width=data_width, address_width=addr_width, id_width=id_width)
    top.submodules.axi2native = LiteDRAMAXI2Native(axi, port)

    # -- init sequencer on the DFI injector's external port ----------------------------------
    steps = _init_steps(phy.settings, sdram.timing_settings, sys_clk_freq, powerup_us)
    waits = [s[-1] for s in steps]
    init_done = Signal(name="init_done")
    # (Every signal named: Migen's name guessing fails on tuple unpacking.)
    step = Signal(max=len(steps) + 1, name="init_step")     # the next step to issue
    wait = Signal(max=max(waits) + 1, name="init_wait")     # cycles left after the last step
    issue = Signal(name="init_issue")                       # a command is on the DFI now
    dfii = core.dfii
    p0 = dfii.ext_dfi.phases[0]
    cmd_a = Signal(len(p0.address), name="init_a")
    cmd_ba = Signal(len(p0.bank), name="init_ba")
    cmd_cs, cmd_ras, cmd_cas, cmd_we, cke = (Signal(name=f"init_{n}")
                                             for n in ("cs", "ras", "cas", "we", "cke"))
    issue_step = []
    for i, (a, ba, cs, ras, cas, we, ck, w) in enumerate(steps):
        issue_step.append(If(step == i,
            cmd_a.eq(a), cmd_ba.eq(ba), cmd_cs.eq(cs), cmd_ras.eq(ras), cmd_cas.eq(cas),
            cmd_we.eq(we), cke.eq(ck), wait.eq(w)))
    top.sync += [
        issue.eq(0),
        If(~init_done,
            If(wait != 0,
                wait.eq(wait - 1),
            ).Elif(step == len(steps),
                init_done.eq(1),
            ).Else(
                issue.eq(1),
                step.eq(step + 1),
                *issue_step,
            ),
        ),
    ]
    top.comb += [
        dfii.ext_dfi_sel.eq(~init_done),
        p0.address.eq(cmd_a), p0.bank.eq(cmd_ba),
        p0.cs_n.eq(~(cmd_cs & issue)), p0.ras_n.eq(~(cmd_ras & issue)),
        p0.cas_n.eq(~(cmd_cas & issue)), p0.we_n.eq(~(cmd_we & issue)),
        p0.cke.eq(cke), p0.wrdata_en.eq(0), p0.rddata_en.eq(0),
    ]
    if hasattr(p0, "odt"):
        top.comb += p0.odt.eq(1)
    if hasattr(p0, "reset_n"):
        top.comb += p0.reset_n.eq(1)
    ios.add(init_done)

    # -- flat AXI4 ports, held until init_done -----------------------------------------------
    for name, chan, field, direction in _AXI:
        ch = getattr(axi, chan)
        sig = getattr(ch, field)
        pin = Signal(len(sig), name=f"s_axi_{name}")
        ios.add(pin)
        gated = chan in _GATED and field in ("valid", "ready")
        if direction == "i":
            top.comb += sig.eq(pin & init_done if gated else pin)
        else:
            top.comb += pin.eq(sig & init_done if gated else sig)
    info = {
        "target": target, "top": TOP_NAMES[target], "module": module,
        "sys_clk_freq": sys_clk_freq, "data_width": data_width, "id_width": id_width,
        "axi_addr_width": addr_width, "sdram_bytes": 2 * sdram_words(geom),
        "cl": phy.settings.cl, "read_latency": phy.settings.read_latency,
        "init_cycles": sum(waits) + len(steps) + 1,
        "init_sequence": [list(s) for s in steps],
    }
    return top, ios, info


def sdram_words(geom):
    """16-bit words of an SDRAM of this geometry."""
    return 1 << (geom.bankbits + geom.rowbits + geom.colbits)


def generate(target, out, **kw):
    """Write the Verilog of :func:`build_core` to ``out`` and its description beside it
    (``<out>.json``); return the description."""
    from litex.build.lattice.platform import LatticePlatform
    top, ios, info = build_core(target, **kw)
    platform = LatticePlatform("LFE5U-85F-6BG381C", io=[], toolchain="trellis")
    if target == "board":
        text = str(platform.get_verilog(top, ios=ios, name=info["top"]))
        # The data pins reach the board only through TRELLIS_IO's B pin, which LiteX connects as
        # an instance input, so Migen declares the port an input: it is the bidirectional pad.
        text, n = re.subn(r"^(\s*)input(\s+wire\s+\[15:0\]\s+sdram_dq,)$", r"\1inout\2", text,
                          flags=re.M)
        if n != 1:
            raise RuntimeError("could not find the sdram_dq port in the generated Verilog")
    else:
        from litex.gen.fhdl.verilog import convert
        text = str(convert(top, ios=ios, name=info["top"], platform=platform))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", choices=TARGETS, default="board")
    ap.add_argument("--module", choices=MODULES, default="MT48LC16M16",
                    help="SDRAM chip (litedram.modules; see the label on the board's U2)")
    ap.add_argument("--sys-clk-mhz", type=float, default=50.0)
    ap.add_argument("--data-width", type=int, default=64)
    ap.add_argument("--id-width", type=int, default=2)
    ap.add_argument("--powerup-us", type=float, default=200.0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    out = args.out or ROOT / "build" / "litedram" / f"{TOP_NAMES[args.target]}.v"
    info = generate(args.target, out, module=args.module, sys_clk_freq=args.sys_clk_mhz * 1e6,
                    data_width=args.data_width, id_width=args.id_width,
                    powerup_us=args.powerup_us)
    print(f"wrote {out} ({info['top']}: {info['module']} at {info['sys_clk_freq'] / 1e6:g} MHz, "
          f"CL {info['cl']}, {info['data_width']}-bit AXI4, "
          f"{info['axi_addr_width']}-bit addresses)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
