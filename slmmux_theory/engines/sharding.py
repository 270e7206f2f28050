"""Run question-axis sweeps on several devices by sharding the question axis.

Every exact computation is independent across questions, so placing the question axis of the
inputs on a device mesh is enough: ``jit`` propagates the sharding and each device works on its
share. Results are identical to the single-device run. On a multi-host setup, call
``jax.distributed.initialize()`` on every host first; ``jax.devices()`` then spans all hosts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["pad_questions", "question_mesh", "shard_questions"]

QUESTION_AXIS = "questions"


def question_mesh(devices=None) -> Mesh:
    """A one-dimensional mesh named ``"questions"`` over the given (default: all) devices."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (QUESTION_AXIS,))


def pad_questions(array, axis: int, multiple: int, fill: float = 0.0):
    """Pad the question axis to a multiple of ``multiple`` (even shards); returns (padded, size).

    Padded questions are dropped from results by slicing ``[..., :size]``; ``fill`` should make
    them valid inputs (e.g. a one-hot distribution), never read back.
    """
    array = jnp.asarray(array)
    size = array.shape[axis]
    extra = (-size) % multiple
    if extra == 0:
        return array, size
    widths = [(0, 0)] * array.ndim
    widths[axis] = (0, extra)
    return jnp.pad(array, widths, constant_values=fill), size


def shard_questions(array, axis: int, mesh: Mesh | None = None):
    """Place ``array`` with its question axis split across the mesh's devices.

    Args:
      array: any array whose ``axis`` is the question axis, its length a multiple of the number
        of devices (see :func:`pad_questions`).
      axis: the question axis.
      mesh: from :func:`question_mesh`; default all devices.

    >>> x = shard_questions(jnp.ones((2, 4, 3)), axis=1)
    >>> x.shape
    (2, 4, 3)
    """
    mesh = question_mesh() if mesh is None else mesh
    spec = [None] * jnp.ndim(array)
    spec[axis] = QUESTION_AXIS
    return jax.device_put(array, NamedSharding(mesh, PartitionSpec(*spec)))
