"""Bench-only wrapper: :class:`hw.trigger.Trigger` feeding :class:`hw.dma.DmaEngine`.

The trigger's ready-command stream drives the DMA engine's ``cmd`` directly, as in the T3 unit;
that internal stream is also exported read-only (``cmd_tap_valid``/``cmd_tap_ready``/
``cmd_tap_payload``) so the bench can check that every ready command is issued exactly once, in
order. Every other port is the trigger's or the DMA engine's, unchanged.
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hw.dma import DmaEngine
from hw.params import T3Params
from hw.trigger import Trigger

__all__ = ["TriggerDma"]


class TriggerDma(wiring.Component):
    """Trigger -> DMA engine (see the module docstring).

    Parameters
    ----------
    params : T3Params
    queue_depth : int
        Depth of the trigger's ready-command queue.
    buffer_depth : int or None
        The DMA engine's response buffer depth (default ``mem_latency + 4``).
    """

    def __init__(self, params, *, queue_depth=8, buffer_depth=None):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        self.trigger = Trigger(params, queue_depth=queue_depth)
        self.dma = DmaEngine(params, buffer_depth=buffer_depth)
        self.params = params
        super().__init__({
            "cmd_write":       In(stream.Signature(self.trigger.write_layout)),
            "fire":            In(stream.Signature(params.fire_layout)),
            "doorbell":        In(stream.Signature(self.trigger.doorbell_layout)),
            "src_dev":         In(params.dev_width),
            "mem_req":         Out(stream.Signature(params.mem_request_layout)),
            "mem_resp":        In(stream.Signature(params.mem_response_layout)),
            "tx":              Out(stream.Signature(params.link_layout)),
            "cmd_tap_valid":   Out(1),
            "cmd_tap_ready":   Out(1),
            "cmd_tap_payload": Out(params.dma_command_layout),
            "queue_level":     Out(range(queue_depth + 1)),
            "err_no_command":  Out(1),
            "issued":          Out(32),
            "busy":            Out(1),
            "commands_done":   Out(32),
            "beats_sent":      Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.trigger = trig = self.trigger
        m.submodules.dma = dma = self.dma
        wiring.connect(m, wiring.flipped(self.cmd_write), trig.cmd_write)
        wiring.connect(m, wiring.flipped(self.fire), trig.fire)
        wiring.connect(m, wiring.flipped(self.doorbell), trig.doorbell)
        wiring.connect(m, trig.cmd, dma.cmd)
        wiring.connect(m, dma.mem_req, wiring.flipped(self.mem_req))
        wiring.connect(m, wiring.flipped(self.mem_resp), dma.mem_resp)
        wiring.connect(m, dma.tx, wiring.flipped(self.tx))
        m.d.comb += [
            dma.src_dev.eq(self.src_dev),
            self.cmd_tap_valid.eq(trig.cmd.valid),
            self.cmd_tap_ready.eq(trig.cmd.ready),
            self.cmd_tap_payload.eq(trig.cmd.payload),
            self.queue_level.eq(trig.queue_level),
            self.err_no_command.eq(trig.err_no_command),
            self.issued.eq(trig.issued),
            self.busy.eq(dma.busy),
            self.commands_done.eq(dma.commands_done),
            self.beats_sent.eq(dma.beats_sent),
        ]
        return m
