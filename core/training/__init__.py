"""The only package that imports Keras or TensorFlow: model building, the training job, evaluation, the
gradient probe, cost and length measurements, and the workers that run them (local, distributed, Ray).

Import its modules by name (``core.training.job``); this package itself imports nothing, so that a
worker process can start before TensorFlow loads."""
