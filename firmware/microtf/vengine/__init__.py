"""vengine: the pure-MicroPython (viper) inference engine.

Same operator semantics and the same arena plan as the C engine
(firmware/engine/), bit for bit with TFLite Micro, on 64-bit (Unix port) and
32-bit boards alike::

    from microtf.vengine.model import VModel
    m = VModel(model_bytes)          # ValueError for a bad or unsupported model
    m.input(0)[:] = features         # memoryviews over one preallocated arena
    m.invoke()                       # allocates nothing (int8 models)
    scores = m.output(0)
    m.reset()                        # streaming models: state back to its start

Modules: reader (bounds-checked flatbuffer), exact (prepare-time IEEE math
in integers), fxmath (prepare-time gemmlowp fixed point for the activation
tables), plan (mtf_planner.h, subgraphs that CALL_ONCE runs included), model
(VModel: compact, reads the model in place), fxp (32-bit-safe viper fixed
point), window, ops_* (operators, one module per family so a board imports
only what a model uses), optable (supported operators).
On boards, ship the modules as .mpy (mpy-cross -march=...): compiling the
viper code on the device needs more heap than small boards have.
Nothing here is imported by ``microtf`` itself.
"""
