"""Models as data: the layer registry, specs, shape traces, receptive fields, presets, parameter matching,
and the Keras code and diagram written from a trace. Nothing here imports Keras."""
