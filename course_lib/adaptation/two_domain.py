"""What DANN, Deep CORAL and MMD share: a model trained on labelled source and unlabelled target.

``TwoDomainModel`` holds a feature extractor and a classifier. Its
``train_step`` takes a batch of labelled source images and a batch of
unlabelled target images and passes them through the extractor **separately**:
every BatchNorm layer then normalises each domain with its own batch
statistics (domain-specific normalisation). Feeding one mixed batch instead
makes BatchNorm average the two domains, which is measured to collapse DANN.

Subclasses add an ``adaptation_loss`` on the two feature batches.
"""

import keras
import numpy as np

from course_lib.source_free import reestimate_batchnorm


class TwoDomainModel(keras.Model):
    """extractor -> classifier, trained on source labels plus an adaptation loss.

    Inputs to ``fit``: ``x = {"source": (n, 28, 28, c), "target": (n, 28, 28, c)}``,
    ``y`` = (n,) source labels (the target's labels are never used). At
    inference (``predict``, ``evaluate``) it is a plain classifier of images.

    Args:
        extractor: a functional ``keras.Model`` from images to (batch, d) features.
        classifier: a ``keras.Model`` from (batch, d) features to class probabilities.
        entropy_weight: weight of the mean prediction entropy on target images
            (entropy minimisation: pushes target predictions to be confident); 0 = off.
    """

    def __init__(self, extractor, classifier, entropy_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        if entropy_weight < 0:
            raise ValueError(f"entropy_weight must be >= 0, got {entropy_weight}")
        self.entropy_weight = float(entropy_weight)
        self.extractor = extractor
        self.classifier = classifier
        self.task_loss = keras.losses.SparseCategoricalCrossentropy()
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("loss", "task_loss", "adaptation_loss")}
        self.task_accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    def call(self, x, training=False):
        return self.classifier(self.extractor(x, training=training), training=training)

    @property
    def metrics(self):
        return [*self.trackers.values(), self.task_accuracy, *self.extra_metrics()]

    def extra_metrics(self):
        """Further metrics a subclass reports per epoch (reset with the others)."""
        return []

    def adaptation_loss(self, source_features, target_features):
        """The term that pulls the domains together; a scalar tensor. Subclasses define it."""
        raise NotImplementedError

    def train_step(self, data):
        import tensorflow as tf

        x, y = data[0], data[1]
        if not isinstance(x, dict) or set(x) != {"source", "target"}:
            raise ValueError("fit needs x = {'source': images, 'target': images} and y = source labels")
        with tf.GradientTape() as tape:
            source_features = self.extractor(x["source"], training=True)
            target_features = self.extractor(x["target"], training=True)
            probabilities = self.classifier(source_features, training=True)
            task = self.task_loss(y, probabilities)
            adaptation = self.adaptation_loss(source_features, target_features)
            loss = task + adaptation
            if self.entropy_weight:
                loss = loss + self.entropy_weight * target_entropy(
                    self.classifier(target_features, training=True))
        variables = self.trainable_variables
        gradients = tape.gradient(loss, variables)
        self.optimizer.apply(gradients, variables)
        for name, value in (("loss", loss), ("task_loss", task), ("adaptation_loss", adaptation)):
            self.trackers[name].update_state(value)
        self.task_accuracy.update_state(y, probabilities)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data[0], data[1]
        probabilities = self(x, training=False)
        self.task_accuracy.update_state(y, probabilities)
        return {"accuracy": self.task_accuracy.result()}

    def adapt_batchnorm(self, x_target):
        """Re-estimate the extractor's BatchNorm statistics on target images (before testing)."""
        return reestimate_batchnorm(self.extractor, x_target)


def target_entropy(probabilities):
    """Mean Shannon entropy (nats) of (batch, classes) predicted probabilities; a scalar."""
    p = keras.ops.clip(probabilities, 1e-7, 1.0)
    return keras.ops.mean(-keras.ops.sum(p * keras.ops.log(p), axis=1))


def split_source_model(model, feature_layer="features_relu"):
    """Split a trained classifier into (extractor, classifier) copies at ``feature_layer``.

    The copies start with the model's weights (warm start) and are trainable;
    the original model is not changed.

    Returns:
        ``(extractor, classifier)``: images -> (batch, d) features, features -> probabilities.
    """
    names = [layer.name for layer in model.layers]
    if feature_layer not in names:
        raise ValueError(f"model has no layer {feature_layer!r}; its layers: {', '.join(names)}")
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    clone.trainable = True
    extractor = keras.Model(clone.input, clone.get_layer(feature_layer).output, name="extractor")
    after = names[names.index(feature_layer) + 1:]
    features = keras.Input(extractor.output_shape[1:], name="features_in")
    h = features
    for name in after:
        h = clone.get_layer(name)(h)
    classifier = keras.Model(features, h, name="classifier")
    return extractor, classifier


def paired_inputs(x_source, y_source, x_target, seed=0):
    """Pair every target image with a source example, for ``TwoDomainModel.fit``.

    One epoch then visits every target image once; source examples are drawn
    in shuffled rounds (all of them once before any repeats).

    Returns:
        ``({"source": xs, "target": x_target}, ys)`` with ``len(x_target)`` rows.
    """
    if len(x_source) == 0 or len(x_target) == 0:
        raise ValueError(f"need source and target images, got {len(x_source)} and {len(x_target)}")
    if len(x_source) != len(y_source):
        raise ValueError(f"x_source has {len(x_source)} rows but y_source has {len(y_source)}")
    if x_source.shape[1:] != x_target.shape[1:]:
        raise ValueError(f"source images {x_source.shape[1:]} and target images "
                         f"{x_target.shape[1:]} must have the same shape")
    rng = np.random.default_rng(seed)
    rounds = -(-len(x_target) // len(x_source))
    index = np.concatenate([rng.permutation(len(x_source)) for _ in range(rounds)])[:len(x_target)]
    return {"source": x_source[index], "target": x_target}, y_source[index]
