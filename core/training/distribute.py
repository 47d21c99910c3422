"""Training over several devices with ``tf.distribute.MirroredStrategy`` (command line only)."""

from __future__ import annotations

from typing import Any


def split_cpu(count: int) -> None:
    """Present the CPU as ``count`` logical devices (for trying distribution without GPUs).

    Must run before TensorFlow touches a device; later it is refused with a clear sentence.
    """
    import tensorflow as tf

    from core.errors import UserError

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        raise UserError("The CPU can be split into logical devices only before TensorFlow starts.") from None


def mirrored_strategy() -> Any:
    """A MirroredStrategy over the visible GPUs, or over the logical CPUs when there is no GPU."""
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices)
