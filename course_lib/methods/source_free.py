"""Source-free adaptation: adapt a trained model to a new domain with no source data at all.

"Source-free" means (Liang et al. 2020): you have the trained source model and unlabelled
target images, and nothing else; not one source image, not one target label. Every
function here therefore takes a model and target images only.

- **AdaBN** (Li et al. 2016) re-estimates BatchNorm's statistics on the target, with no
  gradient step: ``methods.batchnorm.adabn``.
- **Information maximisation** (the core of SHOT, Liang et al. 2020): freeze the
  classifier head (the source's hypothesis) and train the feature extractor so that the
  head's predictions on target images are confident one by one (low entropy) and diverse
  over the batch (high entropy of the mean prediction)::

      L = mean_i H(p_i) - lambda * H(mean_i p_i),   H(p) = -sum_k p_k log p_k

  SHOT adds pseudo-labels from clustering the target features (``cluster_weight``).
  ``InformationMaximisation`` is a ``keras.Model`` whose ``train_step`` is this loss;
  ``information_maximisation(model, x_target)`` trains it with ``training.fit``.
"""

import keras
import numpy as np
from keras import ops

from course_lib.core import checks
from course_lib.core.cnn import FEATURE_LAYER

#: Probabilities are clipped to at least this before taking logarithms.
EPSILON = 1e-6
#: Refinements of SHOT's cluster centroids after the prediction-weighted start: one, as in the
#: reference code (tim-learn/SHOT, ``obtain_label``: one round of hard labels -> centroids -> labels).
CLUSTER_ITERATIONS = 1
#: Defaults of ``information_maximisation``: passes over the target, batch size, Adam's rate.
EPOCHS = 5
BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def entropy(probabilities, axis=-1):
    """Shannon entropy ``-sum p log p`` along ``axis`` (natural log), of a tensor or array."""
    p = ops.clip(ops.convert_to_tensor(probabilities, "float32"), EPSILON, 1.0)
    return -ops.sum(p * ops.log(p), axis=axis)


def information_maximisation_loss(probabilities, diversity_weight=1.0):
    """SHOT's information-maximisation loss of a batch of predictions: a scalar tensor.

    ``mean_i H(p_i) - diversity_weight * H(mean_i p_i)``.

    Args:
        probabilities: (batch, n_classes) softmax outputs.
        diversity_weight: lambda; 0 gives plain entropy minimisation, which is as happy to
            call every image the same class as to get them right.

    Returns:
        a scalar: lowest (``-lambda log K``) when each prediction is one-hot and the batch
        uses all K classes equally; ``log K - lambda log K`` for uniform predictions; 0
        when every image gets the same one-hot prediction (collapse).
    """
    per_image, diversity = _entropy_terms(probabilities)
    weight = checks.positive_number(diversity_weight, "diversity_weight", allow_zero=True)
    return per_image - weight * diversity


def _entropy_terms(probabilities):
    """(mean entropy of the predictions, entropy of their mean), two scalars."""
    p = ops.convert_to_tensor(probabilities, "float32")
    if len(p.shape) != 2:
        raise ValueError(f"probabilities must be (batch, n_classes), got shape {tuple(p.shape)}")
    return ops.mean(entropy(p)), entropy(ops.mean(p, axis=0))


def cluster_pseudo_labels(features, probabilities, iterations=CLUSTER_ITERATIONS):
    """SHOT's clustering pseudo-labels: the nearest class centroid in feature space (cosine).

    The centroids start as the prediction-weighted means of the features, then are refined
    ``iterations`` times as the means of the images assigned to them. A class that no image
    is assigned to (by the predictions' argmax, then by the clusters) has no centroid and
    gets no image, as in the reference code (its class-count threshold, 0).

    Args:
        features: (n, d) feature vectors of the target images.
        probabilities: (n, n_classes) the model's predictions for them.

    Returns:
        (n,) int64 labels.
    """
    checks.same_length(features=features, probabilities=probabilities)
    iterations = checks.whole_number(iterations, "iterations", minimum=0)
    f = checks.finite(np.asarray(features, dtype="float64"), "features")
    f = np.concatenate([f, np.ones((len(f), 1))], axis=1)  # as in SHOT: a constant dimension
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    weights = np.asarray(probabilities, dtype="float64")
    n_classes = weights.shape[1]
    labels = np.argmax(weights, axis=1)
    for _ in range(iterations + 1):
        kept = np.flatnonzero(np.bincount(labels, minlength=n_classes) > 0)
        centroids = weights[:, kept].T @ f / (weights[:, kept].sum(axis=0)[:, None] + EPSILON)
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        labels = kept[np.argmax(f @ centroids.T, axis=1)]
        weights = np.eye(n_classes)[labels]
    return labels.astype("int64")


def _images_and_index(data):
    """The target images and their positions from a batch of ``{"image": ..., "index": ...}``."""
    x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    if not isinstance(x, dict) or set(x) != {"image", "index"}:
        raise ValueError("fit needs x = {'image': target images, 'index': their positions 0..n-1}; "
                         "information_maximisation(model, x_target) builds it")
    return x["image"], x["index"]


class InformationMaximisation(keras.Model):
    """A classifier whose training step is the information-maximisation loss (SHOT).

    Inputs to ``fit``: ``x = {"image": (n, 28, 28, c) target images, "index": (n,) their
    positions 0..n-1}``, no labels (``information_maximisation`` builds them). At inference
    it is the classifier: ``model(images)``.

    Logs per epoch: ``loss`` (the total), ``entropy`` (mean entropy of the predictions,
    lower = more confident), ``diversity`` (entropy of the batch's mean prediction, higher =
    classes more evenly used) and, with ``cluster_weight > 0``, ``cluster_loss`` (the
    compiled cross-entropy against SHOT's cluster pseudo-labels).

    Args:
        classifier: the model to adapt (a functional Keras model); its ``trainable`` flags
            decide what trains (freeze the head first). It changes in place.
        n_images: how many target images ``fit`` will see (the size of the pseudo-label table).
        diversity_weight: lambda of ``information_maximisation_loss``.
        cluster_weight: weight of SHOT's cluster pseudo-label term (0: off).
        feature_layer: the layer whose output is clustered.
    """

    def __init__(self, classifier, n_images, diversity_weight=1.0, cluster_weight=0.0,
                 feature_layer=FEATURE_LAYER, **kwargs):
        from course_lib.core.layers import require_layer

        super().__init__(name=kwargs.pop("name", "information_maximisation"), **kwargs)
        self.classifier = classifier
        self.diversity_weight = checks.positive_number(diversity_weight, "diversity_weight", allow_zero=True)
        self.cluster_weight = checks.positive_number(cluster_weight, "cluster_weight", allow_zero=True)
        self.features_and_predictions = keras.Model(
            classifier.input, [require_layer(classifier, feature_layer).output, classifier.output])
        self.cluster_labels = keras.Variable(np.zeros(checks.whole_number(n_images, "n_images"), "int32"),
                                             trainable=False, name="cluster_labels")
        self.entropy_tracker = keras.metrics.Mean(name="entropy")
        self.diversity_tracker = keras.metrics.Mean(name="diversity")
        self.cluster_tracker = keras.metrics.Mean(name="cluster_loss")

    def call(self, x, training=False):
        return self.classifier(x["image"] if isinstance(x, dict) else x, training=training)

    def update_cluster_labels(self, x_target):
        """Recompute SHOT's pseudo-labels for all of ``x_target`` (inference mode)."""
        from course_lib.core.evaluation import INFERENCE_BATCH

        parts = [self.features_and_predictions(x_target[s:s + INFERENCE_BATCH], training=False)
                 for s in range(0, len(x_target), INFERENCE_BATCH)]
        features = np.concatenate([np.asarray(f).reshape(len(f), -1) for f, _ in parts])
        probabilities = np.concatenate([np.asarray(p) for _, p in parts])
        self.cluster_labels.assign(cluster_pseudo_labels(features, probabilities).astype("int32"))

    def train_step(self, data):
        import tensorflow as tf

        images, index = _images_and_index(data)
        with tf.GradientTape() as tape:
            probabilities = self.classifier(images, training=True)
            per_image, diversity = _entropy_terms(probabilities)
            loss = per_image - self.diversity_weight * diversity
            if self.cluster_weight > 0:
                labels = ops.take(self.cluster_labels, index)
                cluster = self.compute_loss(x=images, y=labels, y_pred=probabilities, training=True)
                loss = loss + self.cluster_weight * cluster
                self.cluster_tracker.update_state(cluster)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for metric, value in ((self.entropy_tracker, per_image), (self.diversity_tracker, diversity)):
            metric.update_state(value)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return {metric.name: metric.result() for metric in self.metrics}

    @property
    def metrics(self):
        """Keras's loss tracker and the trackers this step updates (cluster_loss only when on);
        not the compiled accuracy: with no labels there is no accuracy to measure."""
        trackers = [self.entropy_tracker, self.diversity_tracker]
        if self.cluster_weight > 0:
            trackers.append(self.cluster_tracker)
        return [m for m in super().metrics if m.name == "loss"] + trackers


class ClusterPseudoLabels(keras.callbacks.Callback):
    """Before every epoch, recompute the ``InformationMaximisation`` model's cluster pseudo-labels."""

    def __init__(self, x_target):
        super().__init__()
        self.x_target = x_target

    def on_epoch_begin(self, epoch, logs=None):
        self.model.update_cluster_labels(self.x_target)


def information_maximisation(model, x_target, epochs=EPOCHS, batch_size=BATCH_SIZE,
                             learning_rate=LEARNING_RATE, diversity_weight=1.0, cluster_weight=0.0,
                             head="head", feature_layer=FEATURE_LAYER, seed=0, callbacks=(),
                             progress="information maximisation"):
    """Adapt a copy of ``model`` to the target by information maximisation (SHOT-style).

    Starts from AdaBN (the target's BatchNorm statistics), freezes the ``head`` layer (the
    source's classifier stays the hypothesis), and trains everything before it for
    ``epochs`` on unlabelled target batches through ``training.fit``. With
    ``cluster_weight > 0`` SHOT's cluster pseudo-labels are recomputed before every epoch.
    At the end the BatchNorm statistics are re-estimated on the whole target set.

    Args:
        model: the trained source model; left unchanged. No source data is needed or accepted.
        x_target: (n, 28, 28, channels) unlabelled target images.
        head: the classifier layer to freeze.
        feature_layer: the layer whose output is clustered (with ``cluster_weight > 0``).
        callbacks: more Keras callbacks for ``fit``; their ``model`` is the
            ``InformationMaximisation`` trainer, whose pseudo-labels are fresh at each epoch's start.

    Returns:
        ``(adapted_model, history)``: history is Keras's dict of per-epoch lists (``loss``,
        ``entropy``, ``diversity``, ``cluster_loss``).
    """
    from course_lib.core.layers import freeze, require_layer
    from course_lib.core.training import fit
    from course_lib.methods.batchnorm import adabn, reestimate

    checks.unit_images(x_target, "x_target")
    require_layer(model, head)
    adapted = adabn(model, x_target, seed=seed)
    freeze(adapted, names=[head])
    trainer = InformationMaximisation(adapted, len(x_target), diversity_weight, cluster_weight, feature_layer)
    data = {"image": x_target, "index": np.arange(len(x_target), dtype="int32")}
    history = fit(trainer, (data, None), epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                  seed=seed, progress=progress,
                  callbacks=[*([ClusterPseudoLabels(x_target)] if trainer.cluster_weight > 0 else []), *callbacks])
    reestimate(adapted, x_target)
    return adapted, history.history
