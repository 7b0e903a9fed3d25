"""cocotb drivers and monitors for Amaranth ``lib.stream`` ports.

An exported stream ``name`` appears in Verilog as ``name__valid``, ``name__ready`` and
``name__payload`` (struct fields flattened, first field in the low bits). These classes follow
cocotbext-axi's naming (``send``/``send_nowait``, ``recv``/``recv_nowait``, ``idle()``, ``wait()``,
``set_pause_generator``) so benches read the same way.

Transfers are sampled on the rising edge where ``valid`` and ``ready`` are both high, which is the
edge at which the RTL accepted them; ``on_transfer`` callbacks see them in that order.
"""

import enum
from collections import deque

import cocotb
from cocotb.triggers import Event, RisingEdge
from amaranth.lib import data

__all__ = ["pack", "unpack", "StreamSource", "StreamSink"]


def pack(layout, value):
    """Pack a dict (nested for nested structs; enums allowed) into an int for ``layout``."""
    if not isinstance(layout, data.Layout):
        if isinstance(value, enum.Enum):
            value = value.value
        return int(value)
    word = 0
    for name, field in layout:
        if name not in value:
            continue
        v = pack(field.shape, value[name])
        width = data.Layout.cast(field.shape).size if isinstance(field.shape, data.Layout) \
            else _shape_width(field.shape)
        word |= (v & ((1 << width) - 1)) << field.offset
    return word


def _shape_width(shape):
    from amaranth.hdl import Shape
    return Shape.cast(shape).width


def unpack(layout, word):
    """Unpack an int into a dict of field values (ints; nested dicts for nested structs)."""
    out = {}
    for name, field in layout:
        if isinstance(field.shape, data.Layout):
            out[name] = unpack(field.shape, (word >> field.offset) & ((1 << field.shape.size) - 1))
        else:
            width = _shape_width(field.shape)
            out[name] = (word >> field.offset) & ((1 << width) - 1)
    return out


class _StreamBase:
    def __init__(self, dut, name, clock, layout, reset=None):
        self.reset = reset if reset is not None else getattr(dut, "rst", None)
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.clock = clock
        self.layout = layout
        self.name = name
        self._pause = None
        self.on_transfer = []
        self.count = 0

    def set_pause_generator(self, generator=None):
        """Insert idle cycles (source) or back-pressure (sink) where ``next(generator)`` is true."""
        self._pause = generator

    def clear_pause_generator(self):
        self._pause = None

    def _paused(self):
        return bool(next(self._pause)) if self._pause is not None else False

    def _in_reset(self):
        """True while reset is asserted (or not yet driven); handshakes are ignored then.

        Out of reset an unresolved ``valid`` or ``ready`` is an error, not a non-transfer.
        """
        if self.reset is None:
            return False
        r = self.reset.value
        return not r.is_resolvable or int(r) == 1

    def _fired(self):
        v, r = self.valid.value, self.ready.value
        if not (v.is_resolvable and r.is_resolvable):
            raise AssertionError(f"{self.name}: valid={v} ready={r} unresolved out of reset")
        return bool(v) and bool(r)

    def _decode(self):
        word = int(self.payload.value)
        return unpack(self.layout, word) if isinstance(self.layout, data.Layout) else word


class StreamSource(_StreamBase):
    """Drives ``valid``/``payload`` of an input stream of the DUT from a queue."""

    def __init__(self, dut, name, clock, layout, reset=None):
        super().__init__(dut, name, clock, layout, reset)
        self.queue = deque()
        self._idle = Event()
        self._idle.set()
        self._current = None
        self.valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send_nowait(self, item):
        self.queue.append(item)
        self._idle.clear()

    async def send(self, item):
        self.send_nowait(item)

    def idle(self):
        return not self.queue and self._current is None

    async def wait(self):
        while not self.idle():
            self._idle.clear()
            await self._idle.wait()

    def flush(self):
        """Drop what is queued and not yet driven (e.g. across a DUT reset)."""
        self.queue.clear()
        self._current = None
        self.valid.value = 0
        self._idle.set()

    async def _run(self):
        while True:
            await RisingEdge(self.clock)
            if self._in_reset():
                continue
            if self._current is not None and self._fired():
                item, self._current = self._current, None
                self.count += 1
                for cb in self.on_transfer:
                    cb(item)
            if self._current is None:
                if self.queue and not self._paused():
                    self._current = self.queue.popleft()
                    self.payload.value = pack(self.layout, self._current)
                    self.valid.value = 1
                else:
                    self.valid.value = 0
                    if not self.queue:
                        self._idle.set()


class StreamSink(_StreamBase):
    """Drives ``ready`` of an output stream of the DUT and collects its transfers."""

    def __init__(self, dut, name, clock, layout, reset=None):
        super().__init__(dut, name, clock, layout, reset)
        self.queue = deque()
        self._event = Event()
        self.ready.value = 0
        self._task = cocotb.start_soon(self._run())

    def recv_nowait(self):
        return self.queue.popleft()

    async def recv(self):
        while not self.queue:
            self._event.clear()
            await self._event.wait()
        return self.queue.popleft()

    def empty(self):
        return not self.queue

    async def _run(self):
        self.ready.value = 1
        while True:
            await RisingEdge(self.clock)
            if self._in_reset():
                continue
            if self._fired():
                item = self._decode()
                self.count += 1
                self.queue.append(item)
                for cb in self.on_transfer:
                    cb(item)
                self._event.set()
            self.ready.value = 0 if self._paused() else 1
