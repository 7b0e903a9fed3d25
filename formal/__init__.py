"""Formal proofs of the T3 blocks (SymbiYosys through yowasp, yices).

Each ``<block>_props.py`` module holds a harness component that instantiates the real design from
``hw/`` and states its properties as Amaranth ``Assert``/``Assume``/``Cover`` statements, plus a
``jobs()`` function listing the proofs, the covers and the mutants that must be caught.
``python -m formal.run`` runs them all and prints the table.
"""
