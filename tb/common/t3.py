"""Bench-side model of one T3 device: its CSR (through cocotbext-axi's ``AxiLiteMaster``, with
addresses and field encodings taken from ``hw.regmap``) and its compute request port."""

import logging
from collections import deque

import cocotb
from cocotb.triggers import Event, RisingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from hw import regmap
from hw.params import Kind, MemOp, ReqClass
from tb.common.stream import StreamSink, StreamSource

__all__ = ["CsrDriver", "ComputePort", "lanes_to_int", "int_to_lanes"]


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


class ComputePort:
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

    async def read(self, addr):
        event, box = self.read_nowait(addr)
        await event.wait()
        return box[0]

    async def read_many(self, addrs):
        pending = [self.read_nowait(a) for a in addrs]
        out = []
        for event, box in pending:
            await event.wait()
            out.append(box[0])
        return out
