"""What DANN, Deep CORAL and MMD share: one network trained on labelled source and unlabelled target.

``TwoDomainModel`` holds a feature extractor and a classifier. Its ``train_step`` takes a
batch of labelled source images and a batch of unlabelled target images and passes them
through the extractor **separately**: every BatchNorm layer then normalises each domain
with its own batch statistics (domain-specific normalisation). One mixed batch instead
makes BatchNorm average the two domains, which was measured to collapse DANN.

Subclasses define ``adaptation_loss(source_features, target_features)``: the term that
pulls the two domains' features together. The step, in full::

    features_s, features_t = extractor(x_s), extractor(x_t)       # two passes
    loss = L_task(classifier(features_s), y_s) + adaptation_loss(features_s, features_t)

Train it with ``course_lib.core.training.fit(model, paired(...), epochs=...)``.
"""

import keras
import numpy as np

from course_lib.core import checks


class TwoDomainModel(keras.Model):
    """extractor -> classifier, trained on source labels plus an adaptation loss.

    Inputs to ``fit``: ``x = {"source": (n, 28, 28, c), "target": (n, 28, 28, c)}``,
    ``y`` = (n,) source labels (the target's labels are never used). At inference
    (predicting, testing) it is a plain classifier of images.

    Logs per epoch: ``loss`` (the total), ``task_loss`` (the compiled loss on the source
    batch), ``adaptation_loss``, ``accuracy`` (on the source batch), and what a subclass adds.

    Args:
        extractor: a ``keras.Model`` from images to (batch, d) features.
        classifier: a ``keras.Model`` from (batch, d) features to class probabilities.
    """

    def __init__(self, extractor, classifier, **kwargs):
        super().__init__(**kwargs)
        self.extractor = extractor
        self.classifier = classifier
        self.task_loss_tracker = keras.metrics.Mean(name="task_loss")
        self.adaptation_loss_tracker = keras.metrics.Mean(name="adaptation_loss")

    def call(self, x, training=False):
        return self.classifier(self.extractor(x, training=training), training=training)

    def adaptation_loss(self, source_features, target_features):
        """The term that pulls the domains together: a scalar tensor. Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define adaptation_loss")

    def update_weights(self, gradients, variables):
        """One optimizer step on every trainable variable (DANN gives its domain classifier its own)."""
        self.optimizer.apply(gradients, variables)

    def train_step(self, data):
        import tensorflow as tf

        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not isinstance(x, dict) or set(x) != {"source", "target"}:
            raise ValueError("fit needs x = {'source': images, 'target': images} and y = source "
                             "labels: use adaptation.paired(x_source, y_source, x_target)")
        with tf.GradientTape() as tape:
            source_features = self.extractor(x["source"], training=True)
            target_features = self.extractor(x["target"], training=True)
            probabilities = self.classifier(source_features, training=True)
            task = self.compute_loss(x=x["source"], y=y, y_pred=probabilities, training=True)
            adaptation = self.adaptation_loss(source_features, target_features)
            loss = task + adaptation
        variables = self.trainable_variables
        self.update_weights(tape.gradient(loss, variables), variables)
        scalars = {"loss": loss, "task_loss": task, "adaptation_loss": adaptation}
        for metric in self.metrics:
            if metric.name in scalars:
                metric.update_state(scalars[metric.name])
        return self.compute_metrics(x["source"], y, probabilities)


def paired(x_source, y_source, x_target, seed=0):
    """Pair every target image with a source example, as ``TwoDomainModel`` trains on them.

    One epoch then visits every target image once; source examples are drawn in shuffled
    rounds (all of them once before any repeats).

    Returns:
        ``({"source": xs, "target": x_target}, ys)`` with ``len(x_target)`` rows.
    """
    checks.same_length(x_source=x_source, y_source=y_source)
    if len(x_source) == 0 or len(x_target) == 0:
        raise ValueError(f"need source and target images, got {len(x_source)} and {len(x_target)}")
    if x_source.shape[1:] != x_target.shape[1:]:
        raise ValueError(f"source images {x_source.shape[1:]} and target images "
                         f"{x_target.shape[1:]} must have the same shape (data.to_channels converts)")
    rng = np.random.default_rng(checks.seed(seed))
    rounds = -(-len(x_target) // len(x_source))
    index = np.concatenate([rng.permutation(len(x_source)) for _ in range(rounds)])[:len(x_target)]
    return {"source": x_source[index], "target": x_target}, y_source[index]

