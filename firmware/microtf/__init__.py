"""microtf: TinyML for MicroPython (device package).

This file must import on every board, including the emulated board that has
only MicroPython's ``py/`` modules (no ``os``, ``time``, ``machine``, VFS or
``hashlib``).  So it imports nothing at module level: the drivers, the
sampler, the ADC reader, the bus simulation and the model store are separate
submodules, imported only when asked for::

    from microtf import sampler          # or: import microtf.store
    from microtf.drivers.mpu6050 import MPU6050

Inference (microtf.model, microtf.repl; the native engine ``_microtf`` when
the firmware has it, else the pure-MicroPython engine microtf.vengine)::

    import microtf
    m = microtf.Model("gesture_int8.tflite")
    print(m.predict(window))
    microtf.info(m); microtf.bench(m, 100)
"""

__version__ = "0.1.0"


# Names of the inference API, each imported from its submodule at first use.
_EXPORTS = {"Model": "model", "info": "repl", "bench": "repl"}


def __getattr__(name):
    # Submodules as attributes (``microtf.store``) on ports with module-level
    # __getattr__; ``import microtf.store`` works everywhere.  MicroPython also
    # calls this for ``from microtf import x``, so any submodule must resolve.
    # ``microtf.Model``, ``microtf.info`` and ``microtf.bench`` come from
    # microtf.model and microtf.repl, imported only then: the package itself
    # imports on boards with py/ modules alone.
    if name.startswith("__"):
        raise AttributeError(name)
    sub = _EXPORTS.get(name)
    if sub is not None:
        mod = __import__("microtf." + sub, None, None, (sub,))
        value = getattr(mod, name)
        globals()[name] = value
        return value
    try:
        mod = __import__("microtf." + name, None, None, (name,))
    except ImportError:
        raise AttributeError(name) from None
    globals()[name] = mod
    return mod
