"""Small helpers for tops that re-export the ports of the blocks they contain."""

from amaranth.lib.wiring import In

__all__ = ["forward_ports"]


def forward_ports(m, inner, outer, names, prefix=""):
    """Join plain (non-interface) ports ``names`` of ``inner`` to ``outer``'s ports
    ``prefix + name``, driving each in the direction of ``inner``'s member."""
    for name in names:
        member = inner.signature.members[name]
        outer_port = getattr(outer, prefix + name)
        if member.flow == In:
            m.d.comb += getattr(inner, name).eq(outer_port)
        else:
            m.d.comb += outer_port.eq(getattr(inner, name))
