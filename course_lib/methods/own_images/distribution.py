"""Training on several devices or machines with ``tf.distribute``: the strategies, the batch
size and learning rate they call for, and mixed precision on GPUs.

Synchronous data parallelism: every device (a *replica*) holds a copy of the model, takes
its share of each batch, computes gradients, and the replicas average their gradients
(all-reduce) before every update, so the copies stay identical::

    default       one device (a CPU or one GPU)
    mirrored      every GPU of this machine (tf.distribute.MirroredStrategy); without
                  GPUs, the CPU devices (split one CPU with ``configure_cpu_devices`` to try it)
    multiworker   several machines (tf.distribute.MultiWorkerMirroredStrategy), each one
                  a worker started with the same command and its own TF_CONFIG

TensorFlow's distributed-training guide: each replica takes a per-replica batch, so the
**global batch** is ``per-replica batch x replicas``; use the extra devices for a larger
batch and tune the learning rate to it. The course scales the learning rate linearly with
the global batch (Goyal et al. 2017, "Accurate, large minibatch SGD"): the recipe's rates
are for a global batch of ``REFERENCE_BATCH`` images; twice the batch, twice the rate, the
same number of epochs (half the steps). It is a starting point, and the validation curves
say whether it held. The same global batch on one device or on several gives the same rate,
so the same training, up to the order in which floating-point numbers are added.

This module imports TensorFlow: import it only to train.
"""

import contextlib
import json
import os

import tensorflow as tf

from course_lib.core import checks

STRATEGIES = ("default", "mirrored", "multiworker")
#: The global batch the recipe's learning rates are for.
REFERENCE_BATCH = 32
#: The worker whose outputs are kept: task 0 of the cluster's workers (or its chief).
CHIEF_INDEX = 0


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """``MultiWorkerMirroredStrategy`` with the two reductions Keras 3's ``fit`` asks of it.

    Keras 3.15 calls ``strategy.reduce`` on a whole ``(x, y)`` batch and with ``axis=0`` on
    scalar losses; with more than one worker, TensorFlow's multi-worker ``reduce`` accepts
    neither (keras-team/keras#20585, tensorflow/tensorflow#72388). This reduces each tensor
    of a structure on its own, over the replicas alone for scalars (a scalar has no axis 0).
    """

    def reduce(self, reduce_op, value, axis):
        def one(part):
            local = part.values[0] if isinstance(part, tf.distribute.DistributedValues) else part
            return super(MultiWorkerStrategy, self).reduce(
                reduce_op, part, None if tf.convert_to_tensor(local).shape.rank == 0 else axis)

        return tf.nest.map_structure(one, value)


def configure_cpu_devices(n):
    """Split this machine's CPU into ``n`` logical devices (before TensorFlow starts).

    With no GPU, ``MirroredStrategy`` then mirrors the model over ``n`` CPU devices: the same
    program as on ``n`` GPUs, to try and test it (it does not make training faster).
    """
    n = checks.whole_number(n, "cpu_devices")
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration()] * n
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == n:
        return n
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError:
        raise RuntimeError(f"cannot split the CPU into {n} devices: TensorFlow has started already; "
                           "do it first thing in a fresh process (the command line's --cpu-devices)") from None
    return n


def cluster():
    """The multi-worker cluster from ``$TF_CONFIG``: ``(workers, task type, task index)``.

    Raises:
        ValueError: TF_CONFIG is missing or does not describe a cluster and this task in it.
    """
    example = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ValueError("--strategy multiworker needs TF_CONFIG, a JSON description of the cluster and "
                         f"of this worker's place in it, set on every worker, e.g. {example}")
    try:
        config = json.loads(text)
        workers = [*config["cluster"].get("chief", []), *config["cluster"]["worker"]]
        task = config["task"]["type"], int(config["task"]["index"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"TF_CONFIG is not a cluster description ({type(error).__name__}: {error}); "
                         f"expected e.g. {example}") from None
    if not workers:
        raise ValueError(f"TF_CONFIG lists no workers; expected e.g. {example}")
    return workers, task[0], task[1]


def make_strategy(name="default"):
    """The ``tf.distribute`` strategy called ``name`` (see the module docstring); None for "default".

    Create it first thing: ``multiworker`` must exist before TensorFlow runs anything else.
    """
    checks.choice(name, "strategy", STRATEGIES)
    if name == "default":
        return None
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    cluster()  # a clear message before TensorFlow's own
    try:
        return MultiWorkerStrategy()
    except RuntimeError as error:
        raise RuntimeError(f"cannot start the multi-worker strategy ({error}); create it first "
                           "thing in a fresh process") from None


def replicas(strategy):
    """How many replicas train in step: 1 without a strategy."""
    return 1 if strategy is None else int(strategy.num_replicas_in_sync)


def scaled(batch_size, learning_rate, n_replicas, reference_batch=REFERENCE_BATCH):
    """``(global batch, learning rate)`` for ``n_replicas`` that each take ``batch_size`` images.

    ``learning_rate`` is the rate for a global batch of ``reference_batch`` images; it grows in
    proportion to the global batch (the linear scaling rule; see the module docstring).
    """
    batch_size = checks.whole_number(batch_size, "batch_size")
    n_replicas = checks.whole_number(n_replicas, "replicas")
    global_batch = batch_size * n_replicas
    rate = checks.positive_number(learning_rate, "learning_rate")
    return global_batch, rate * global_batch / checks.whole_number(reference_batch, "reference_batch")


def is_chief(strategy):
    """True in the process whose outputs are kept: the only one, or a cluster's chief (worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker"
                                             and resolver.task_id == CHIEF_INDEX
                                             and "chief" not in resolver.cluster_spec().as_dict())


def precision_policy():
    """``"mixed_float16"`` when training on GPUs (float16 maths, float32 weights: about twice as
    fast on recent GPUs), else ``"float32"`` (CPUs gain nothing from float16)."""
    return "mixed_float16" if tf.config.list_logical_devices("GPU") else "float32"


@contextlib.contextmanager
def precision(policy):
    """Build models inside this block with the Keras dtype ``policy``; the previous one after."""
    import keras

    checks.choice(policy, "precision", ("float32", "mixed_float16"))
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.config.set_dtype_policy(previous)
