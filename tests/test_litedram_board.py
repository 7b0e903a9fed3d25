"""The small instance of ``make litedram`` in ``make test``: the FPGA prototype's core on LiteDRAM
and its SDRAM model (Verilator), driven only through its UART by the host driver
(tb/litedram/uart_bench.py): the traffic generator's STORE and UPDATE runs and the single-board
ring (STORE, then remote UPDATEs), every beat read back through the memory window. The full
bench (the block-RAM comparison, cycles per beat, the 2-device ring) is ``make litedram``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import litedram_bench  # noqa: E402
import pytest  # noqa: E402

SMALL = dict(divisor=8, tiles=2, beats=8, dma_tiles=2, dma_beats=8, addr_width=12)


@pytest.mark.heavy(150)
def test_board_over_uart_on_litedram():
    r = litedram_bench.run_board("litedram", SMALL)
    n = SMALL["tiles"] * SMALL["beats"]
    assert r["traffic"]["store_checked"] == r["traffic"]["update_checked"] == n
    for demo in ("demo_store", "demo_update"):
        assert r[demo]["checked_beats"] == 2 * SMALL["dma_tiles"] * SMALL["dma_beats"]
        assert r[demo]["notifications"] == SMALL["dma_tiles"]
    assert r["init_cycles"] > 1000, "the SDRAM init sequence ran (LiteDRAM, not block RAM)"
