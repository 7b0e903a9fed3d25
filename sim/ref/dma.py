"""Functional reference for the DMA engine and the link receiver (pure Python, no Amaranth).

A DMA command is a dict with keys ``src_addr, length, dst_dev, dst_addr, tile, op`` (``op`` an int,
0 = store, 1 = update, or anything with an integer ``value``). A beat is a ``(data, last)`` tuple.
A write is a ``(op, addr, tile, data)`` tuple with ``op`` an int of :class:`MemOp` (1 store,
2 update).

The header packing is written out here from the field order documented for
``T3Params.link_header_layout`` (first field in the low bits): ``dst_dev, src_dev, op, length,
dst_addr, tile`` with widths ``dev_width, dev_width, 1, len_width, addr_width, tile_width``.
"""

__all__ = ["header_fields", "pack_header", "unpack_header", "command_reads", "command_packet",
           "receive"]

MEMOP_STORE = 1
MEMOP_UPDATE = 2


def _int(v):
    return v if isinstance(v, int) else int(v.value)


def header_fields(params):
    """``[(name, width), ...]`` of a header, low bits first."""
    return [("dst_dev", params.dev_width), ("src_dev", params.dev_width), ("op", 1),
            ("length", params.len_width), ("dst_addr", params.addr_width),
            ("tile", params.tile_width)]


def pack_header(params, **fields):
    """Pack header fields into an integer (the low bits of a header beat's ``data``)."""
    value, shift = 0, 0
    for name, width in header_fields(params):
        v = _int(fields[name])
        if not 0 <= v < (1 << width):
            raise ValueError(f"header field {name}={v} does not fit in {width} bits")
        value |= v << shift
        shift += width
    return value


def unpack_header(params, value):
    """Inverse of :func:`pack_header` (bits above the header are ignored)."""
    out, shift = {}, 0
    for name, width in header_fields(params):
        out[name] = (value >> shift) & ((1 << width) - 1)
        shift += width
    return out


def command_reads(params, cmd):
    """Addresses the DMA engine must read for ``cmd``, in order."""
    depth = 1 << params.addr_width
    return [(cmd["src_addr"] + i) % depth for i in range(cmd["length"])]


def command_packet(params, cmd, src_dev, memory):
    """Beats the DMA engine must send for ``cmd``: header then data read from ``memory``
    (a callable or a mapping from address to data)."""
    read = memory if callable(memory) else memory.__getitem__
    n = cmd["length"]
    hdr = pack_header(params, dst_dev=cmd["dst_dev"], src_dev=src_dev, op=cmd["op"], length=n,
                      dst_addr=cmd["dst_addr"], tile=cmd["tile"])
    beats = [(hdr, int(n == 0))]
    for i, addr in enumerate(command_reads(params, cmd)):
        beats.append((read(addr), int(i == n - 1)))
    return beats


def receive(params, beats, dev_id):
    """Reference link receiver.

    Returns ``(writes, stats)`` where ``writes`` is the list of ``(op, addr, tile, data)`` the
    receiver must issue and ``stats`` a dict with ``packets`` (well-formed packets for this device),
    ``beats`` (writes), ``misroute`` and ``malformed`` (error events), following the rules in
    :class:`hw.link.LinkReceiver`.
    """
    depth = 1 << params.addr_width
    writes = []
    stats = {"packets": 0, "beats": 0, "misroute": 0, "malformed": 0}
    state = "header"
    hdr = None
    idx = 0
    for data, last in beats:
        if state == "header":
            hdr = unpack_header(params, data)
            if hdr["dst_dev"] != dev_id:
                stats["misroute"] += 1
                state = "header" if last else "drop"
            elif hdr["length"] == 0:
                if last:
                    stats["packets"] += 1
                else:
                    stats["malformed"] += 1
                    state = "drop"
            elif last:
                stats["malformed"] += 1
            else:
                idx = 0
                state = "data"
        elif state == "data":
            op = MEMOP_UPDATE if hdr["op"] == 1 else MEMOP_STORE
            writes.append((op, (hdr["dst_addr"] + idx) % depth, hdr["tile"], data))
            stats["beats"] += 1
            idx += 1
            at_end = idx == hdr["length"]
            if last:
                if at_end:
                    stats["packets"] += 1
                else:
                    stats["malformed"] += 1
                state = "header"
            elif at_end:
                stats["malformed"] += 1
                state = "drop"
        else:  # drop
            if last:
                state = "header"
    return writes, stats
