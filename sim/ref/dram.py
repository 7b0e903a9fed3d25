"""Cycle-level (CL) reference of the DRAM timing model (``hw/dram.py``).

Written from the model's specification (the numbered rules of :mod:`hw.dram`'s docstring and
``docs/dram.md``), not from its RTL: bank and bus constraints are kept as absolute cycle numbers
("command allowed from cycle X"), queues as Python lists. Given the values on the AXI inputs in a
cycle, :meth:`DramRef.step` returns the values the RTL must show on its outputs in that cycle and
then advances one cycle. The cocotb bench (``tb/dram/``) compares every output of every cycle.

Cycle 0 is the first cycle in which reset is low. Storage (``init``, then AXI writes) persists
across :meth:`DramRef.reset`, like the RTL's block RAM.
"""

from collections import deque
from dataclasses import dataclass

from hw.dram_params import DramParams, Scheduler

__all__ = ["DramRef", "decode"]

INCR, OKAY, SLVERR = 0b01, 0b00, 0b10


@dataclass
class Entry:
    kind: str          # "R" or "W"
    id: int
    beat: int
    n: int
    err: bool
    arrive: int        # first cycle in the queue
    wdone: bool = False


@dataclass
class Bank:
    open: bool = False
    row: int = 0
    act_ok: int = 0
    col_ok: int = 0
    pre_ok: int = 0


def decode(p, addr, ln, size, burst):
    """``(beat, n, err)`` of an AR/AW: rule 2 of the specification."""
    beat, n = addr >> p.size, ln + 1
    err = (burst != INCR or size != p.size or n > p.max_burst or beat + n > p.capacity
           or (beat % p.interleave) + n > p.interleave)
    return beat, n, err


class DramRef:
    def __init__(self, params=None, init=()):
        self.p = params or DramParams()
        self.mem = [0] * self.p.capacity
        for i, v in enumerate(init):
            self.mem[i] = v
        self.reset()

    def reset(self):
        p = self.p
        self.c = 0
        self.queue = []
        self.banks = [Bank() for _ in range(p.banks)]
        self.rd_ok = self.wr_ok = self.rrd_ok = 0
        self.acts = deque(maxlen=4)
        self.refdue = False
        self.ar_prio = True
        self.awq = deque()          # (beat, n, err) of writes waiting for W data, AW order
        self.wcnt = 0
        self.r_out = 0              # read beats issued and not yet taken on R
        self.b_out = 0              # writes issued and not yet taken on B
        self.rpend = deque()        # beats issued, storage not read yet
        self.rfifo = deque()        # (visible, id, data, resp, last)
        self.bfifo = deque()        # (visible, id, resp)
        self.stats = {"act": 0, "pre": 0, "prea": 0, "ref": 0, "rd": 0, "wr": 0}

    # -- helpers ----------------------------------------------------------------------------
    def _idok(self, i):
        e = self.queue[i]
        return not any(o.kind == e.kind and o.id == e.id for o in self.queue[:i])

    def _hit(self, e):
        b = self.banks[self.p.bank_of(e.beat)]
        return b.open and b.row == self.p.row_of(e.beat)

    def strict(self):
        """Only the oldest entry may get commands (FCFS, or FR-FCFS past the age cap)."""
        p = self.p
        if p.scheduler is Scheduler.FCFS:
            return True
        return bool(self.queue) and self.c - self.queue[0].arrive >= p.age_cap

    def _col_choice(self):
        p, c = self.p, self.c
        if self.refdue:
            return None
        for i, e in enumerate(self.queue):
            if i > 0 and self.strict():
                break
            if not self._idok(i):
                continue
            if e.kind == "W":
                if not (e.wdone and self.b_out < p.queue_depth and c >= self.wr_ok):
                    continue
            elif not (self.r_out + e.n <= p.read_buffer and c >= self.rd_ok):
                continue
            if e.err or (self._hit(e) and c >= self.banks[p.bank_of(e.beat)].col_ok):
                return i
        return None

    def _row_choice(self):
        """``("ACT"|"PRE", entry index)`` or ``None`` (refresh is handled separately)."""
        p, c = self.p, self.c
        if self.refdue:
            return None
        strict = self.strict()
        hitpend = set()
        for j, e in enumerate(self.queue):
            if not e.err and self._hit(e) and self._idok(j):
                hitpend.add(p.bank_of(e.beat))
        faw_ok = len(self.acts) < 4 or c >= self.acts[0] + p.tFAW
        for i, e in enumerate(self.queue):
            if i > 0 and strict:
                break
            if e.err:
                continue
            bi = p.bank_of(e.beat)
            b = self.banks[bi]
            if not b.open:
                if c >= b.act_ok and c >= self.rrd_ok and faw_ok:
                    return ("ACT", i)
            elif b.row != p.row_of(e.beat):
                if c >= b.pre_ok and (strict or bi not in hitpend):
                    return ("PRE", i)
        return None

    # -- one cycle --------------------------------------------------------------------------
    def step(self, inp):
        """Outputs of the current cycle for the inputs ``inp`` (dict of AXI input values, names
        as in :class:`hw.lib.axi.AXI4Signature`), then advance one cycle."""
        p, c = self.p, self.c
        if c > 0 and c % p.tREFI == 0:
            self.refdue = True
        free = len(self.queue) < p.queue_depth
        arv, awv = bool(inp["arvalid"]), bool(inp["awvalid"])
        out = {
            "arready": int(free and (not awv or self.ar_prio)),
            "awready": int(free and (not arv or not self.ar_prio)),
            "wready": int(bool(self.awq)),
            "rvalid": int(bool(self.rfifo) and self.rfifo[0][0] <= c),
            "bvalid": int(bool(self.bfifo) and self.bfifo[0][0] <= c),
            "occupancy": len(self.queue),
        }
        if out["rvalid"]:
            _, out["rid"], out["rdata"], out["rresp"], out["rlast"] = self.rfifo[0]
        if out["bvalid"]:
            _, out["bid"], out["bresp"] = self.bfifo[0]

        # scheduling decisions from the state at the start of the cycle
        col = self._col_choice()
        row = self._row_choice()
        self.last = (col, row)
        ref_cmd = None
        if self.refdue:
            opened = [b for b in self.banks if b.open]
            if opened:
                if all(c >= b.pre_ok for b in opened):
                    ref_cmd = "PREA"
            elif all(c >= b.act_ok for b in self.banks):
                ref_cmd = "REF"

        # storage reads of issued read beats (before this cycle's W writes)
        while self.rpend and self.rpend[0][0] == c:
            _, vis, beat, rid, last, err = self.rpend.popleft()
            self.rfifo.append((vis, rid, 0 if err else self.mem[beat], SLVERR if err else OKAY,
                               int(last)))

        # W channel: write storage, complete a write's data
        if inp["wvalid"] and out["wready"]:
            beat, n, err = self.awq[0]
            if not err:
                a = beat + self.wcnt
                strb, data, old = int(inp["wstrb"]), int(inp["wdata"]), self.mem[a]
                mask = 0
                for k in range(p.beat_bytes):
                    if strb >> k & 1:
                        mask |= 0xFF << (8 * k)
                self.mem[a] = (old & ~mask) | (data & mask)
            self.wcnt += 1
            if self.wcnt == n:
                self.awq.popleft()
                self.wcnt = 0
                for e in self.queue:
                    if e.kind == "W" and not e.wdone:
                        e.wdone = True
                        break

        # row command: resolve its bank before the column command removes an entry
        if row is not None:
            e = self.queue[row[1]]
            row = (row[0], p.bank_of(e.beat), p.row_of(e.beat))

        # column command
        if col is not None:
            e = self.queue.pop(col)
            n, b = e.n, self.banks[p.bank_of(e.beat)]
            if e.kind == "R":
                self.stats["rd"] += 1
                self.rd_ok = max(self.rd_ok, c + n - 1 + p.tCCD)
                self.wr_ok = max(self.wr_ok, c + n - 1 + p.tRTW)
                if not e.err:
                    b.pre_ok = max(b.pre_ok, c + n - 1 + p.tRTP)
                self.r_out += n
                for k in range(n):
                    self.rpend.append((c + k + p.tCL - 1, c + k + p.tCL + 1, e.beat + k, e.id,
                                       k == n - 1, e.err))
            else:
                self.stats["wr"] += 1
                self.wr_ok = max(self.wr_ok, c + n - 1 + p.tCCD)
                self.rd_ok = max(self.rd_ok, c + n - 1 + p.tCWL + 1 + p.tWTR)
                if not e.err:
                    b.pre_ok = max(b.pre_ok, c + n - 1 + p.tCWL + 1 + p.tWR)
                self.b_out += 1
                self.bfifo.append((c + p.tCWL + n, e.id, SLVERR if e.err else OKAY))

        if row is not None:
            kind, bi, r = row
            b = self.banks[bi]
            if kind == "ACT":
                self.stats["act"] += 1
                b.open, b.row = True, r
                b.col_ok = c + p.tRCD
                b.pre_ok = max(b.pre_ok, c + p.tRAS)
                self.rrd_ok = max(self.rrd_ok, c + p.tRRD)
                self.acts.append(c)
            else:
                self.stats["pre"] += 1
                b.open = False
                b.act_ok = max(b.act_ok, c + p.tRP)
        elif ref_cmd == "PREA":
            self.stats["prea"] += 1
            for b in self.banks:
                if b.open:
                    b.open = False
                    b.act_ok = max(b.act_ok, c + p.tRP)
        elif ref_cmd == "REF":
            self.stats["ref"] += 1
            self.refdue = False
            for b in self.banks:
                b.act_ok = max(b.act_ok, c + p.tRFC)

        # R and B handshakes
        if out["rvalid"] and inp["rready"]:
            self.rfifo.popleft()
            self.r_out -= 1
        if out["bvalid"] and inp["bready"]:
            self.bfifo.popleft()
            self.b_out -= 1

        # AR / AW acceptance
        if free and arv and awv:
            self.ar_prio = not self.ar_prio
        if arv and out["arready"]:
            beat, n, err = decode(p, int(inp["araddr"]), int(inp["arlen"]), int(inp["arsize"]),
                                  int(inp["arburst"]))
            self.queue.append(Entry("R", int(inp["arid"]), beat, n, err, c + 1))
        if awv and out["awready"]:
            beat, n, err = decode(p, int(inp["awaddr"]), int(inp["awlen"]), int(inp["awsize"]),
                                  int(inp["awburst"]))
            self.queue.append(Entry("W", int(inp["awid"]), beat, n, err, c + 1))
            self.awq.append((beat, n, err))
        self.c += 1
        return out
