"""microtf: TinyML for MicroPython (device package).

This file must import on every board, including the emulated board that has
only MicroPython's ``py/`` modules (no ``os``, ``time``, ``machine``, VFS or
``hashlib``).  So it imports nothing at module level: the drivers, the
sampler, the ADC reader, the bus simulation and the model store are separate
submodules, imported only when asked for::

    from microtf import sampler          # or: import microtf.store
    from microtf.drivers.mpu6050 import MPU6050
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Submodules as attributes (``microtf.store``) on ports with module-level
    # __getattr__; ``import microtf.store`` works everywhere.  MicroPython also
    # calls this for ``from microtf import x``, so any submodule must resolve.
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        mod = __import__("microtf." + name, None, None, (name,))
    except ImportError:
        raise AttributeError(name) from None
    globals()[name] = mod
    return mod


# ---------------------------------------------------------------------------
# Model (inference) goes below this line.  It is written by the engine
# helpers: the C binding (_microtf) and the pure-MicroPython engine.  Keep
# its imports lazy too (inside functions), so that this package still imports
# on boards without extmod/.
# ---------------------------------------------------------------------------
