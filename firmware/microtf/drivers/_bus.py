"""Register access with bounded retries, shared by the drivers.

Nothing here allocates on success: the caller owns every buffer.  Only the
final failure builds a message.
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

_EIO = 5
_ENODEV = 19

# Types for the checker only: MicroPython has no typing module, and never runs this block.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    Buf = bytearray | memoryview

    # Positional-only by the __name convention: MicroPython cannot parse "/".
    class I2CBus(Protocol):
        """What the drivers use of machine.I2C (microtf.sim.SimI2C has it too)."""

        def readfrom_mem_into(self, __addr: int, __memaddr: int, __buf: Buf) -> None: ...  # noqa: PYI063

        def writeto_mem(self, __addr: int, __memaddr: int, __buf: Buf) -> None: ...  # noqa: PYI063


def errno_of(exc):
    """The errno carried by an OSError (EIO when it carries none)."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else _EIO


def _transfer(i2c: "I2CBus", addr: int, reg: int, buf: "Buf", tries: int, chip: str, write: bool) -> None:
    left = tries
    while True:
        try:
            if write:
                i2c.writeto_mem(addr, reg, buf)
            else:
                i2c.readfrom_mem_into(addr, reg, buf)
            return
        except OSError as exc:
            left -= 1
            if left <= 0:
                raise OSError(
                    errno_of(exc),
                    "%s at 0x%02x: %s of register 0x%02x failed after %d attempts (%s)"
                    % (chip, addr, "write" if write else "read", reg, tries, exc),
                ) from None


def read_into(i2c: "I2CBus", addr: int, reg: int, buf: "Buf", tries: int, chip: str) -> None:
    """Fill ``buf`` from register ``reg`` onwards, trying at most ``tries`` times."""
    _transfer(i2c, addr, reg, buf, tries, chip, False)


def write(i2c: "I2CBus", addr: int, reg: int, buf: "Buf", tries: int, chip: str) -> None:
    """Write ``buf`` to register ``reg`` onwards, trying at most ``tries`` times."""
    _transfer(i2c, addr, reg, buf, tries, chip, True)


def probe(i2c: "I2CBus", addr: int, reg: int, buf: "Buf", tries: int, chip: str) -> None:
    """Read an identity register; a missing device becomes OSError(ENODEV) naming the address."""
    try:
        read_into(i2c, addr, reg, buf, tries, chip)
    except OSError as exc:
        raise OSError(_ENODEV, "no %s at I2C address 0x%02x (%s)" % (chip, addr, exc)) from None


def check_choice(value, table, what):
    """Index of ``value`` in ``table``; ValueError naming the bad value otherwise."""
    for i in range(len(table)):
        if table[i] == value:
            return i
    raise ValueError("invalid %s %r; choose one of %s" % (what, value, table))
