"""Instruction counts on the emulated board (microtf_host.board_bench): the dual-timer method is
calibrated against a loop of known length, figures repeat run to run, refusals give reasons."""

from __future__ import annotations

import pytest
from boardkit import HELLO, LSTM
from microtf_host import board_bench, qemu

pytestmark = pytest.mark.timeout(300)

CALIBRATE = (
    board_bench.TIMER_SCRIPT
    + """
@micropython.asm_thumb
def spin(r0):           # 2 instructions per turn: subs, bne
    label(again)
    sub(r0, 1)
    bne(again)

def timed(n):           # in a function: a first store into the globals dict would be timed
    t0 = ticks()
    spin(n)
    return (ticks() - t0) & 0x3fffffff

timer_start()
systick(0)
for n in (100000, 300000):
    print(n, timed(n))
systick(1)
"""
)


def test_timer_counts_instructions(firmware):
    runs = []
    for _ in range(2):
        status, out = qemu.run_script(CALIBRATE, timeout=60, icount=True)
        assert status == 0, out
        runs.append({int(a): int(b) for a, b in (line.split() for line in out.splitlines())})
    # A reading can land either side of a tick edge (QEMU's timer phase at start-up varies), so
    # repeat runs agree within one tick (40 instructions), not always exactly.
    for n in runs[0]:
        assert abs(runs[0][n] - runs[1][n]) <= 1, f"tick counts differ by more than one tick: {runs}"
    extra = board_bench.INSTRUCTIONS_PER_TICK * (runs[0][300000] - runs[0][100000])
    # 200000 more turns are 400000 more instructions, within the +-1 tick of each reading.
    assert abs(extra - 2 * 200000) <= 2 * board_bench.INSTRUCTIONS_PER_TICK, extra


def test_measure_native_and_viper(firmware):
    first = board_bench.measure([HELLO, LSTM])
    hello, lstm = first
    assert hello["model"] == "hello_world_int8" and hello["native_reason"] is None
    assert 2000 < hello["native_instructions"] < 200000, hello
    assert hello["native_n"] == board_bench.MAX_N and hello["native_placement"] == "heap"
    if hello["viper_instructions"] is None:
        assert hello["viper_reason"], hello
    else:
        assert hello["viper_matches_native"] is True, hello
        assert hello["viper_instructions"] > hello["native_instructions"]
    assert lstm["native_instructions"] is None and "UNIDIRECTIONAL_SEQUENCE_LSTM" in lstm["native_reason"]
    assert lstm["viper_instructions"] is None and lstm["viper_reason"]
    again = board_bench.measure([HELLO], engines=("native",))[0]
    assert again["native_instructions"] == hello["native_instructions"]
    assert again["viper_reason"] == "not requested"
    table = board_bench.format_table(first)
    assert f"{hello['native_instructions']:,}" in table and "UNIDIRECTIONAL_SEQUENCE_LSTM" in table
