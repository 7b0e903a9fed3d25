"""Bench-side model of one T3 device: its CSR (through cocotbext-axi's ``AxiLiteMaster``, with
addresses and field encodings taken from ``hw.regmap``), its compute port (the native streams of
:class:`hw.unit.T3Core`: :class:`ComputePort`; the AXI4 slave of :class:`hw.unit.T3Unit`:
:class:`AxiCompute`, on cocotbext-axi's ``AxiMaster``) and the AXI-Stream links of ``T3Unit``
(:class:`AxisTx`, :class:`AxisRx`, on ``AxiStreamSink``/``AxiStreamMonitor``/``AxiStreamSource``)."""

import logging
from collections import deque

import cocotb
from cocotb.triggers import Event, RisingEdge
from cocotbext.axi import (AxiBus, AxiLiteBus, AxiLiteMaster, AxiMaster, AxiResp, AxiStreamBus,
                           AxiStreamFrame, AxiStreamMonitor, AxiStreamSink, AxiStreamSource)

from hw import regmap
from hw.params import Kind, MemOp, ReqClass
from tb.common.stream import StreamSink, StreamSource, unpack

__all__ = ["CsrDriver", "ComputePort", "AxiCompute", "AxisTx", "AxisRx", "lanes_to_int",
           "int_to_lanes"]


class CsrDriver:
    """Register-level access to one unit's AXI4-Lite port (``prefix`` e.g. ``"s_axil"``)."""

    def __init__(self, dut, prefix, clock, reset=None, rmap=None):
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, prefix), clock, reset)
        self.axil.write_if.log.setLevel(logging.WARNING)
        self.axil.read_if.log.setLevel(logging.WARNING)
        self.map = rmap or regmap.DEFAULT

    async def write(self, name, **fields):
        """Write register ``name``; returns BRESP. A write to a stream register (ARM, DOORBELL,
        CMD_COMMIT) that the CSR refuses because the stream's one-entry buffer is still full
        (SLVERR with ``ERR.stream_full``) is retried, as documented, once ``STATUS.<stream>_ready``
        is 1 (the flag is cleared first): the call returns the response of the write that was
        taken or refused for another reason."""
        reg = self.map[name]
        word = reg.encode(**fields).to_bytes(4, "little")
        while True:
            resp = int((await self.axil.write(reg.offset, word)).resp)
            if reg.stream is None or resp == 0:
                return resp
            err = self.map["ERR"]
            if not err.decode(await self.read("ERR"))["stream_full"]:
                return resp
            await self.axil.write(err.offset, err.encode(stream_full=1).to_bytes(4, "little"))
            ready = {"arm": "arm_ready", "doorbell": "doorbell_ready",
                     "cmd_write": "cmd_ready"}[reg.stream]
            while not self.map["STATUS"].decode(await self.read("STATUS"))[ready]:
                pass

    async def read(self, name):
        reg = self.map[name]
        data = await self.axil.read(reg.offset, 4)
        return int.from_bytes(data.data, "little")

    async def field(self, name, field="value"):
        return self.map[name].decode(await self.read(name))[field]

    async def counters(self):
        return {reg.name[4:].lower(): await self.read(reg.name)
                for reg in self.map if reg.name.startswith("CNT_")}

    async def configure(self, dev_id, *, policy=0, threshold=8, starvation=64, enable=1):
        await self.write("CTRL", enable=enable, dev_id=dev_id)
        await self.write("ARB_POLICY", value=policy)
        await self.write("ARB_THRESHOLD", value=threshold)
        await self.write("ARB_STARVATION", value=starvation)

    async def program(self, index, *, src_addr, length, dst_dev, dst_addr, tile, op=Kind.UPDATE):
        await self.write("CMD_SRC_ADDR", value=src_addr)
        await self.write("CMD_DST_ADDR", value=dst_addr)
        await self.write("CMD_LEN_OP_DEV", length=length, op=int(op.value), dst_dev=dst_dev)
        await self.write("CMD_TILE", value=tile)
        return await self.write("CMD_COMMIT", index=index, valid=1)

    async def arm(self, tile, threshold):
        return await self.write("ARM", tile=tile, threshold=threshold)

    async def doorbell(self, index):
        return await self.write("DOORBELL", index=index)


def int_to_lanes(word, lanes, width=32):
    mask = (1 << width) - 1
    out = []
    for i in range(lanes):
        v = (word >> (i * width)) & mask
        out.append(v - (1 << width) if v >> (width - 1) else v)
    return out


def lanes_to_int(values, width=32):
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * width)
    return word


class _Reads:
    """``read`` on top of a driver's ``read_nowait`` (one definition for both compute drivers)."""

    async def read(self, addr):
        event, box = self.read_nowait(addr)
        await event.wait()
        return box[0]


class ComputePort(_Reads):
    """The GEMM side of one unit: issues memory requests on ``<prefix>compute`` and returns the
    read data arriving on ``<prefix>compute_resp`` in order."""

    def __init__(self, dut, prefix, clock, params):
        self.params = params
        self.req = StreamSource(dut, f"{prefix}compute", clock, params.mem_request_layout)
        self.resp = StreamSink(dut, f"{prefix}compute_resp", clock, params.mem_response_layout)
        self._waiters = deque()
        self.resp.on_transfer.append(self._on_resp)

    def _on_resp(self, item):
        self.resp.queue.pop()
        event, box = self._waiters.popleft()
        box.append(item["data"])
        event.set()

    def write(self, addr, data, *, op=MemOp.STORE, tile=0, tracked=False):
        self.req.send_nowait({"op": op, "cls": ReqClass.COMPUTE, "tracked": int(tracked),
                              "addr": addr, "tile": tile, "data": data})

    def read_nowait(self, addr):
        """Queue a read; returns ``(event, box)``: ``box[0]`` is the data once ``event`` is set."""
        event, box = Event(), []
        self._waiters.append((event, box))
        self.req.send_nowait({"op": MemOp.READ, "cls": ReqClass.COMPUTE, "tracked": 0,
                              "addr": addr, "tile": 0, "data": 0})
        return event, box

    async def read_many(self, addrs):
        pending = [self.read_nowait(a) for a in addrs]
        out = []
        for event, box in pending:
            await event.wait()
            out.append(box[0])
        return out


class AxiCompute(_Reads):
    """The GEMM side of one :class:`hw.unit.T3Unit` as an AXI4 master on ``<prefix>`` (e.g.
    ``"s_axi_"``): the calls of :class:`ComputePort`, issued by cocotbext-axi's ``AxiMaster``.

    A beat is a single-beat burst (``write``) or a run of consecutive beats one burst
    (``write_burst``, ``read_many`` on consecutive addresses); the tile, tracked bit and
    STORE/UPDATE kind go in ``AWUSER`` (:func:`hw.axicompute.awuser_layout`). AXI4 does not order
    reads against writes, so, as a GPU's memory system does, a read waits for the B responses of
    the writes issued before it, and a write for the data of the reads issued before it: the
    unit sees the calls in program order. Every response must be OKAY."""

    def __init__(self, dut, prefix, clock, reset, params):
        from hw.axicompute import awuser_layout
        self.params = params
        self.beat = params.data_width // 8
        self._user = awuser_layout(params)
        self.axi = AxiMaster(AxiBus.from_prefix(dut, prefix), clock, reset)
        for ch in (self.axi.write_if, self.axi.read_if):
            ch.log.setLevel(logging.WARNING)
        self._ops = deque()
        self._wake = Event()
        self._idle = Event()
        self._idle.set()
        self._writes = []                  # events of writes whose B is not checked yet
        self._reads = []                   # events of reads not yet answered
        cocotb.start_soon(self._run())

    def _user_bits(self, op, tile, tracked, remote=None):
        return int(self._user.const({
            "tile": tile, "tracked": int(bool(tracked)), "update": int(op == MemOp.UPDATE),
            "remote": int(remote is not None), "dst_dev": remote or 0}).as_value().value)

    def write_burst(self, addr, words, *, op=MemOp.STORE, tile=0, tracked=False, remote=None):
        """``remote``: a device id, to send the burst to that device (one link packet) instead
        of writing this device's memory."""
        assert op in (MemOp.STORE, MemOp.UPDATE), op
        data = b"".join(int(w).to_bytes(self.beat, "little") for w in words)
        self._push(("w", addr * self.beat, data, self._user_bits(op, tile, tracked, remote)))

    def write(self, addr, data, *, op=MemOp.STORE, tile=0, tracked=False):
        self.write_burst(addr, [data], op=op, tile=tile, tracked=tracked)

    def read_nowait(self, addr):
        event, box = Event(), []
        self._push(("r", addr, 1, [(event, box)]))
        return event, box

    async def read_many(self, addrs):
        addrs = list(addrs)
        waits = [(Event(), []) for _ in addrs]
        i = 0
        while i < len(addrs):                       # runs of consecutive addresses: one burst
            j = i + 1
            while j < len(addrs) and j - i < 256 and addrs[j] == addrs[j - 1] + 1:
                j += 1
            self._push(("r", addrs[i], j - i, waits[i:j]))
            i = j
        out = []
        for event, box in waits:
            await event.wait()
            out.append(box[0])
        return out

    def _push(self, op):
        self._ops.append(op)
        self._idle.clear()
        self._wake.set()

    async def wait(self):
        """Until every call so far has been answered (and its response checked)."""
        while self._ops or self._writes or self._reads:
            self._idle.clear()
            await self._idle.wait()

    def pending(self):
        return len(self._ops) + len(self._writes) + len(self._reads)

    def set_stalls(self, pause):
        """``pause(k)`` -> a pause generator, for the AW, W, AR (idle cycles) and B, R
        (back-pressure) channels."""
        w, r = self.axi.write_if, self.axi.read_if
        for k, ch in enumerate((w.aw_channel, w.w_channel, w.b_channel, r.ar_channel,
                                r.r_channel)):
            ch.set_pause_generator(pause(k))

    async def _drain(self, tasks):
        for t in list(tasks):
            await t

    async def _run(self):
        while True:
            while not self._ops:
                if not self._writes and not self._reads:
                    self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            op = self._ops.popleft()
            if op[0] == "w":
                await self._drain(self._reads)
                _, addr, data, user = op
                ev = cocotb.start_soon(self.axi.write(addr, data, awid=0, user=user))
                self._writes.append(ev)
                cocotb.start_soon(self._check_write(ev, addr))
            else:
                await self._drain(self._writes)
                _, addr, n, waits = op
                ev = cocotb.start_soon(self.axi.read(addr * self.beat, n * self.beat, arid=0))
                self._reads.append(ev)
                cocotb.start_soon(self._answer(ev, addr, waits))

    async def _check_write(self, task, addr):
        resp = (await task).resp
        assert resp == AxiResp.OKAY, f"compute write at byte {addr:#x}: {resp}"
        self._writes.remove(task)
        self._wake.set()

    async def _answer(self, task, addr, waits):
        r = await task
        assert r.resp == AxiResp.OKAY, f"compute read at beat {addr}: {r.resp}"
        for k, (event, box) in enumerate(waits):
            box.append(int.from_bytes(r.data[k * self.beat:(k + 1) * self.beat], "little"))
            event.set()
        self._reads.remove(task)
        self._wake.set()


def _dst_dev(params, header_beat):
    """The ``dst_dev`` field of a link packet's header beat."""
    hdr = params.link_header_layout
    return unpack(hdr, header_beat & ((1 << hdr.size) - 1))["dst_dev"]


class AxisTx:
    """A unit's outgoing AXI-Stream link (``m_axis_``): an ``AxiStreamSink`` takes the packets
    (with its pause generator as back-pressure); an ``AxiStreamMonitor`` on the same port counts
    the beats and checks every packet's sideband against its header (``tdest`` = the header's
    ``dst_dev`` on every beat, ``tuser`` 1 on the header beat only, see :mod:`hw.linkaxis`).
    ``on_packet`` callbacks get each packet as ``[{"data", "last"}, ...]`` beats."""

    def __init__(self, dut, prefix, clock, reset, params):
        bus = AxiStreamBus.from_prefix(dut, prefix)
        self.sink = AxiStreamSink(bus, clock, reset, byte_lanes=1)
        self.monitor = AxiStreamMonitor(bus, clock, reset, byte_lanes=1)
        for x in (self.sink, self.monitor):
            x.log.setLevel(logging.WARNING)
        self.params = params
        self.count = 0
        self.packets = 0
        self.on_packet = []
        cocotb.start_soon(self._watch())
        cocotb.start_soon(self._take())

    def set_pause_generator(self, generator=None):
        self.sink.set_pause_generator(generator)

    def clear_pause_generator(self):
        self.sink.clear_pause_generator()
        self.sink.pause = False              # cocotbext-axi keeps the generator's last value

    async def _watch(self):
        while True:
            f = await self.monitor.recv(compact=False)
            n = len(f.tdata)
            dst = _dst_dev(self.params, f.tdata[0])
            assert list(f.tdest) == [dst] * n, f"tdest {f.tdest} on a packet for device {dst}"
            assert list(f.tuser) == [1] + [0] * (n - 1), f"tuser {f.tuser}: not the header mark"
            self.count += n
            self.packets += 1

    async def _take(self):
        while True:
            f = await self.sink.recv(compact=False)
            beats = [{"data": d, "last": int(k == len(f.tdata) - 1)}
                     for k, d in enumerate(f.tdata)]
            for cb in self.on_packet:
                cb(beats)


class AxisRx:
    """A unit's incoming AXI-Stream link (``s_axis_``) on an ``AxiStreamSource``: beats are
    queued with ``send_nowait({"data", "last"})`` as on the native link and sent as one frame
    per packet (up to the beat with ``last``), ``tdest``/``tuser`` as a transmitter sets them."""

    def __init__(self, dut, prefix, clock, reset, params):
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, prefix), clock, reset,
                                      byte_lanes=1)
        self.source.log.setLevel(logging.WARNING)
        self.params = params
        self._beats = []
        self.count = 0

    def set_pause_generator(self, generator=None):
        self.source.set_pause_generator(generator)

    def send_packet(self, beats):
        data = [b["data"] for b in beats]
        dst = _dst_dev(self.params, data[0])
        self.source.send_nowait(AxiStreamFrame(data, tdest=[dst] * len(data),
                                               tuser=[1] + [0] * (len(data) - 1)))
        self.count += len(data)

    def send_nowait(self, beat):
        self._beats.append(beat)
        if beat["last"]:
            beats, self._beats = self._beats, []
            self.send_packet(beats)

    def flush(self):
        self._beats = []
        self.source.clear()
