"""microtf host tools: the CPython half of microtf (import name ``microtf_host``).

The device package is ``microtf``; this one has its own import name so both can
sit in one environment.
"""

__version__ = "0.1.0"
