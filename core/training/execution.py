"""How many batches a run trains per call into TensorFlow (Keras' ``steps_per_execution``).

Every call is a Python round trip (the training loop and the batch callbacks), so several batches per
call train faster, with the same results bit for bit. A call takes about a quarter of a second (a
batch slower than that is a call of its own), so the live progress, Stop and the time left, which move
once per call, still move several times a second; a call never holds more than an epoch's batches.
Measured on mnist_5k in one process (``bench/steps_per_call.py``, docs/performance.md): a plain fit of
the default LSTM took 0.91x the one-batch-per-call time at 4 batches a call and 0.84x at 16 (about
0.23 s a call); the default CNN, whose batch is 33 ms of convolutions, gained nothing.
"""

from __future__ import annotations

TARGET_CALL_SECONDS = 0.25


def steps_per_call(batch_seconds: float | None, batches_per_epoch: int) -> int:
    """Batches per call for a run whose batch takes ``batch_seconds`` (None where nothing measured it:
    one batch per call, as Keras does by default).
    """
    if batch_seconds is None or not batch_seconds > 0:
        return 1
    return max(1, min(round(TARGET_CALL_SECONDS / batch_seconds), batches_per_epoch))


def batch_seconds(seconds_per_epoch: float | None, batches_per_epoch: int) -> float | None:
    """A batch's seconds from an estimate of an epoch's (validation included, so a little over)."""
    if seconds_per_epoch is None or batches_per_epoch < 1:
        return None
    return seconds_per_epoch / batches_per_epoch
