"""The one exception for faults a user caused (bad file, bad data, bad option)."""


class MicrotfError(Exception):
    """A user-caused fault. ``main()`` prints it as ``microtf: message`` and exits 2."""

    exit_code = 2
