"""Synthesizable Amaranth RTL of the T3 unit."""
