"""Measured service of the DRAM timing model for the access patterns of the RTL's engines.

The fluid engine does not simulate memory requests. On DRAM timing it needs, for each kind of
job, how long its memory part takes: that depends on row hits and conflicts, read/write
turnarounds and refresh, which only a cycle-level DRAM can tell. This module **measures** it:
it drives the cycle-level reference of the DRAM model (:class:`sim.ref.dram.DramRef`, which the
DRAM bench checks cycle by cycle against ``hw/dram.py``) through a small port that behaves like
the unit's memory port (``hw/memport.py``: at most one single-beat request per cycle, at most
``outstanding`` in flight, an UPDATE as a read and, when its data is back, a write of the same
beat; reads carry their class's AXI ID; writes one ID, as the port's writes of one class do:
each pattern's writes are all of one class, the GEMM's or the reduction's compute writes or the
link receiver's), with one access pattern at a time:

* :func:`gemm_tile`: the producer's GEMM engine on a few consecutive tiles (``reads`` input reads,
  wait for them, ``compute`` idle cycles, the tile's ``beats`` stores or updates);
* :func:`reduction`: the reduction kernel on one tile (read the local and the staged copy of a
  beat, write the sum once both are back, at most ``credits`` beats in flight);
* :func:`transfer`: DMA sends back to back and, by ring symmetry, the matching receives on the
  same memory (DMA reads of the source tile at most ``credits`` in flight, the next command's
  reads once the previous one's beats are on the link, the incoming beats written or updated
  into the destination tile at the link rate): cycles per transfer in the steady state;
* :func:`receive`: the receive alone of packets another device's GEMM sends straight to this
  one (the paper's step 1: no DMA read here), the incoming beats updated into the destination
  tile at the link rate: cycles per packet in the steady state.

Each returns cycles (per tile, or per transfer). Results are cached by the pattern's canonical
form (rows relabelled in order of appearance, which keeps bank and row relations), so a scale
scenario measures a handful of patterns, each a few thousand DRAM cycles.
"""
from __future__ import annotations

from collections import deque
from functools import lru_cache

__all__ = ["Port", "gemm_tile", "reduction", "transfer", "receive", "dram_params",
           "refresh_share"]

ID_COMPUTE, ID_COMM, ID_UPDATE, ID_WRITE = 0, 1, 2, 3


def dram_params(rows=64, refresh=False):
    """The DRAM model's default timing and geometry (what ``T3Ring(memory="dram")`` uses), with
    room for the relabelled rows. The patterns are measured without refresh (``refresh``
    False: the first refresh beyond any pattern's length), a few hundred to a few thousand
    cycles that meet a refresh or not by where they start; its share of the time, ``tRFC``
    every ``tREFI``, is :func:`refresh_share`, which ``sim.model.rtl`` takes off the
    capacity."""
    from hw.dram_params import DramParams
    if refresh:
        return DramParams(rows=rows, addr_width=32)
    return DramParams(rows=rows, addr_width=32, tREFI=65535)


def refresh_share():
    """The fraction of the DRAM's time refresh blocks it: ``tRFC / tREFI`` of the default
    timing (every bank closed and unavailable for ``tRFC`` cycles every ``tREFI``)."""
    p = dram_params(refresh=True)
    return p.tRFC / p.tREFI


class Port:
    """A memory-port-like driver of :class:`~sim.ref.dram.DramRef`; :meth:`run` steps it."""

    def __init__(self, params, outstanding=16):
        from sim.ref.dram import DramRef
        self.p = params
        self.ref = DramRef(params)
        self.size = params.data_width // 8
        self.shift = self.size.bit_length() - 1
        self.outstanding = outstanding
        self.inflight = 0
        self.c = 0
        self.cur = None               # (kind, beat, id, callback)
        self.upd = deque()            # update sums to write: (beat, callback)
        self.wq = deque()
        self.reads = {}               # id -> deque of (beat, callback, is_update)
        self.writes = deque()         # callbacks of writes in AW order (B responses in order)
        self.sources = []             # callables: (port) -> request or None
        self.busy = {}                # beat -> writes (STORE, UPDATE) in flight to it

    def _pick(self):
        if self.upd:
            beat, cb = self.upd.popleft()
            return ("W", beat, ID_WRITE, cb, False, True)
        if self.inflight >= self.outstanding:
            return None
        for src in self.sources:
            r = src(self)
            if r is not None:
                kind, beat, rid, cb = r
                self.inflight += 1
                if kind == "U":
                    return ("R", beat, ID_UPDATE, cb, True, False)
                return (kind, beat, rid if kind == "R" else ID_WRITE, cb, False, False)
        return None

    def step(self):
        if self.cur is None:
            self.cur = self._pick()
        # the memory port holds a request (and, in order, all behind it) while a write to its
        # beat is in flight (hw/memport.py); an update's own write half is exempt
        held = (self.cur is not None and not self.cur[5]
                and self.busy.get(self.cur[1], 0) > 0)
        inp = {"arvalid": 0, "araddr": 0, "arlen": 0, "arsize": self.shift, "arburst": 1,
               "arid": 0, "awvalid": 0, "awaddr": 0, "awlen": 0, "awsize": self.shift,
               "awburst": 1, "awid": ID_WRITE, "wvalid": int(bool(self.wq)), "wdata": 0,
               "wstrb": (1 << self.size) - 1, "wlast": 1, "rready": 1, "bready": 1}
        if self.cur is not None and not held:
            kind, beat, rid, _, _, _ = self.cur
            if kind == "R":
                inp.update(arvalid=1, araddr=beat << self.shift, arid=rid)
            else:
                inp.update(awvalid=1, awaddr=beat << self.shift)
        out = self.ref.step(inp)
        if self.cur is not None and not held:
            kind, beat, rid, cb, is_upd, second = self.cur
            if kind == "R" and out["arready"]:
                self.reads.setdefault(rid, deque()).append((beat, cb, is_upd))
                if is_upd:
                    self.busy[beat] = self.busy.get(beat, 0) + 1
                self.cur = None
            elif kind == "W" and out["awready"]:
                self.wq.append(beat)
                self.writes.append((beat, cb, second))
                if not second:
                    self.busy[beat] = self.busy.get(beat, 0) + 1
                self.cur = None
        if self.wq and out["wready"]:
            self.wq.popleft()
        if out["rvalid"]:
            beat, cb, is_upd = self.reads[out["rid"]].popleft()
            if is_upd:
                self.upd.append((beat, cb))
            else:
                self.inflight -= 1
                if cb:
                    cb(self.c)
        if out["bvalid"]:
            self.inflight -= 1
            beat, cb, _ = self.writes.popleft()
            self.busy[beat] -= 1
            if cb:
                cb(self.c)
        self.c += 1

    def run(self, done, cap=200_000):
        while not done():
            if self.c >= cap:
                raise RuntimeError(f"DRAM pattern did not finish in {cap} cycles")
            self.step()
        return self.c


def _canon(beats, p):
    """Relabel rows in order of appearance (keeps banks and same-row relations)."""
    per_row = p.banks * p.cols
    rows = {}
    out = []
    for b in beats:
        r = rows.setdefault(b // per_row, len(rows))
        out.append(r * per_row + b % per_row)
    return tuple(out)


class _Gemm:
    """The producer's GEMM engine on a list of tiles: ``reads`` input reads, wait for them,
    ``compute`` idle cycles, the tile's ``beats`` stores or updates."""

    def __init__(self, reads, compute, beats, inputs, outs, update):
        self.reads, self.compute, self.beats = reads, compute, beats
        self.inputs, self.outs, self.update = inputs, outs, update
        self.tile, self.phase, self.k, self.wait, self.cnt = 0, "R", 0, 0, 0
        self.t1 = None

    @property
    def done(self):
        return self.tile >= len(self.outs)

    def _got(self, _c):
        self.wait -= 1

    def source(self, pt):
        if self.done:
            return None
        if self.phase == "R" and self.k < self.reads:
            self.k += 1
            self.wait += 1
            return ("R", self.inputs[self.tile] + self.k - 1, ID_COMPUTE, self._got)
        if self.phase == "W" and self.k < self.beats:
            self.k += 1
            return ("U" if self.update else "W", self.outs[self.tile] + self.k - 1, 0, None)
        return None

    def tick(self, pt):
        """The engine's state machine, one step per cycle after the port's."""
        if self.done:
            return
        if self.phase == "R" and self.k == self.reads and self.wait == 0:
            self.phase, self.cnt = "C", max(self.compute, 1)
        elif self.phase == "C":
            self.cnt -= 1
            if self.cnt == 0:
                self.phase, self.k = "W", 0
        elif self.phase == "W" and self.k == self.beats:
            self.tile += 1
            self.phase, self.k = "R", 0
            if self.tile == 1:
                self.t1 = pt.c


class _Transfers:
    """DMA sends of tiles back to back (reads of the source, at most ``credits`` in flight; the
    next command's reads start once the previous one's beats are all on the link, as the DMA
    engine takes its next command then, without waiting for the receiver), each with the
    matching receive (ring symmetry: the incoming beats written or updated into the destination
    tile as the link delivers them), over a link of ``link_bw`` beats per cycle that sends a
    header beat first. Done when every received beat has landed."""

    def __init__(self, beats, xfers, credits, link_bw, header):
        self.beats, self.xfers, self.credits = beats, xfers, credits
        self.link_bw, self.header = link_bw, header
        self.i = 0
        self.rxq = deque()            # received beats not yet issued: (beat, update)
        self.landed, self.total = 0, len(xfers) * beats
        self._next()

    def _next(self):
        self.rd, self.cred, self.data, self.sent = 0, self.credits, 0, 0
        self.tok, self.hdr = 0.0, self.header

    @property
    def done(self):
        return self.landed >= self.total

    def _read_back(self, _c):
        self.data += 1

    def _land(self, _c):
        self.landed += 1

    def source(self, pt):
        if self.rxq:
            beat, upd = self.rxq.popleft()
            return ("U" if upd else "W", beat, 0, self._land)
        if self.i >= len(self.xfers):
            return None
        src = self.xfers[self.i][0]
        if self.rd < self.beats and self.cred > 0:
            self.rd += 1
            self.cred -= 1
            return ("R", src + self.rd - 1, ID_COMM, self._read_back)
        return None

    def tick(self, pt):
        if self.i >= len(self.xfers):
            return
        self.tok = min(self.tok + self.link_bw, 1.0)
        if self.tok >= 1.0:
            if self.hdr:
                self.hdr -= 1
                self.tok -= 1.0
            elif self.data > 0:
                _, dst, upd = self.xfers[self.i]
                self.rxq.append((dst + self.sent, upd))
                self.data -= 1
                self.cred += 1
                self.sent += 1
                self.tok -= 1.0
        if self.sent >= self.beats:
            self.i += 1
            self._next()


class _Receives(_Transfers):
    """Packets whose data needs no read here (the upstream's GEMM sends them: the paper's step
    1), one after the other on the link (a header beat, then the data at ``link_bw``), each
    beat written or updated into the destination tile as the link delivers it."""

    def _next(self):
        super()._next()
        self.data = self.beats

    def source(self, pt):
        if self.rxq:
            beat, upd = self.rxq.popleft()
            return ("U" if upd else "W", beat, 0, self._land)
        return None


def _run(*engines, arbitrate=False, outstanding=16):
    """Run engines on one port until all are done; ``arbitrate``: their requests alternate when
    both are pending (the unit's round-robin arbiter between compute and communication);
    ``outstanding``: requests in flight at most."""
    port = Port(dram_params(), outstanding=outstanding)
    if arbitrate:
        last = {"i": 0}               # as after a grant to the first: the others go first

        def arb(pt):
            for k in range(1, len(engines) + 1):
                i = (last["i"] + k) % len(engines)
                r = engines[i].source(pt)
                if r is not None:
                    last["i"] = i
                    return r
            return None
        port.sources = [arb]
    else:
        port.sources = [e.source for e in engines]

    def done():
        for e in engines:
            e.tick(port)
        return all(e.done for e in engines)

    return port.run(done)


def gemm_tile(reads, compute, beats, inputs, outs, update):
    """Cycles per tile of the GEMM engine on DRAM: ``inputs[i]``/``outs[i]`` are the first input
    and output beat of tile ``i`` (a few consecutive tiles, the first one not counted)."""
    p = dram_params()
    key = _canon(tuple(inputs) + tuple(outs), p)
    n = len(outs)
    return _gemm(reads, compute, beats, key[:n], key[n:], update)


@lru_cache(maxsize=None)
def _gemm(reads, compute, beats, inputs, outs, update):
    g = _Gemm(reads, compute, beats, inputs, outs, update)
    end = _run(g)
    return (end - g.t1) / (len(outs) - 1)


def reduction(beats, out, stage, credits):
    """Cycles of the reduction kernel on one tile on DRAM (``out``/``stage``: first beats)."""
    p = dram_params()
    o, s = _canon((out, stage), p)
    return _reduction(beats, o, s, credits)


@lru_cache(maxsize=None)
def _reduction(beats, out, stage, credits):
    port = Port(dram_params())
    st = {"rd": 0, "phase": 0, "cred": credits, "back": deque(), "half": {}, "written": 0}

    def src(pt):
        if st["back"]:                          # a sum ready: its write first
            b = st["back"].popleft()
            return ("W", out + b, 0, wrote)
        if st["rd"] < beats and (st["phase"] == 1 or st["cred"] > 0):
            b = st["rd"]
            if st["phase"] == 0:
                st["cred"] -= 1
                st["phase"] = 1
                return ("R", out + b, ID_COMPUTE, lambda c, b=b: arrive(b))
            st["phase"] = 0
            st["rd"] += 1
            return ("R", stage + b, ID_COMPUTE, lambda c, b=b: arrive(b))
        return None

    def arrive(b):
        st["half"][b] = st["half"].get(b, 0) + 1
        if st["half"][b] == 2:
            st["back"].append(b)

    def wrote(c):
        st["written"] += 1
        st["cred"] += 1

    port.sources = [src]
    return port.run(lambda: st["written"] >= beats)


#: transfers of consecutive tiles in a :func:`transfer` measurement: its steady state (4 and 8
#: give the same cycles per transfer within 0.3 % on the scale scenarios)
RUN = 4


def transfer(beats, src_beat, dst_beat, update, credits, link_bw=1.0, header=1,
             outstanding=16):
    """Cycles per transfer of DMA sends back to back (``RUN`` consecutive tiles from
    ``src_beat``, as the DMA engine runs its queue of fired commands) with the matching
    receives into the tiles from ``dst_beat`` (written, or updated), on one DRAM (ring
    symmetry: every device sends and receives alike), with at most ``outstanding`` requests in
    flight in the port (T3-MCA's threshold gates the communication class to about that many).
    The steady state, not one transfer's latency: a fluid job's memory time is what it takes of
    the memory while such jobs follow one another."""
    p = dram_params()
    flat = _canon(tuple(b for k in range(RUN) for b in (src_beat + k * beats,
                                                         dst_beat + k * beats)), p)
    xs = tuple((flat[2 * k], flat[2 * k + 1], update) for k in range(RUN))
    return _transfer(beats, xs, credits, link_bw, header, outstanding) / RUN


def receive(beats, dst_beat, update, link_bw=1.0, header=1):
    """Cycles per packet of :class:`_Receives`: ``RUN`` consecutive tiles from ``dst_beat``
    received back to back (the steady state, as :func:`transfer`)."""
    p = dram_params()
    flat = _canon(tuple(dst_beat + k * beats for k in range(RUN)), p)
    xs = tuple((0, flat[k], update) for k in range(RUN))
    return _receive(beats, xs, link_bw, header) / RUN


@lru_cache(maxsize=None)
def _receive(beats, xfers, link_bw, header):
    return _run(_Receives(beats, xfers, 0, link_bw, header))


@lru_cache(maxsize=None)
def _transfer(beats, xfers, credits, link_bw, header, outstanding=16):
    return _run(_Transfers(beats, xfers, credits, link_bw, header), outstanding=outstanding)


def mixed(reads, compute, beats, inputs, outs, update, xfers, credits, link_bw=1.0, header=1,
          remote=False):
    """Cycles of GEMM tiles (as :func:`gemm_tile`) and DMA transfers (``xfers``: ``(src, dst,
    update)`` first beats, as :func:`transfer`, back to back) run *together* on one DRAM
    through one port, compute and communication requests alternating when both are pending (the
    unit's round-robin arbiter); returns ``(together, gemm alone, transfers alone)``.
    ``remote`` (the paper's step 1): the GEMM tiles write nothing here (their output goes to the
    link) and the transfers are receives alone (:class:`_Receives`, no DMA read)."""
    p = dram_params()
    flat = tuple(inputs) + tuple(outs) + tuple(b for x in xfers for b in x[:2])
    key = _canon(flat, p)
    n = len(outs)
    ins, os_ = key[:n], key[n:2 * n]
    xs = tuple((key[2 * n + 2 * i], key[2 * n + 2 * i + 1], xfers[i][2]) for i in range(len(xfers)))
    return _mixed(reads, compute, beats, ins, os_, update, xs, credits, link_bw, header, remote)


@lru_cache(maxsize=None)
def _mixed(reads, compute, beats, inputs, outs, update, xfers, credits, link_bw, header,
           remote=False):
    def g():
        return _Gemm(reads, compute, 0 if remote else beats, inputs, outs, update)

    def x():
        return (_Receives if remote else _Transfers)(beats, xfers, credits, link_bw, header)
    return _run(g(), x(), arbitrate=True), _run(g()), _run(x())
