"""DANN: domain-adversarial training of neural networks (Ganin & Lempitsky, 2015).

One network, three parts: a feature extractor G_f, a label classifier G_y and a
domain classifier G_d behind a gradient reversal layer. The loss is

    L = L_y(G_y(G_f(x_s)), y_s) + L_d(G_d(R_lambda(G_f(x))), d)

G_d learns to tell source (d = 0) from target (d = 1); the reversal layer R
flips the gradient that reaches G_f, so the extractor learns features that
classify the source well and that G_d cannot tell apart.
"""

import keras

from course_lib.adaptation.gradient_reversal import GradientReversal, LambdaSchedule
from course_lib.adaptation.two_domain import TwoDomainModel, paired_inputs
from course_lib.models import compile_built
from course_lib.progress import ProgressLine


def build_domain_classifier(width, units=64, seed=0):
    """G_d: (batch, width) features -> probability of "target", with a reversal layer first.

    Returns:
        ``(model, reversal_layer)``.
    """
    if width < 1 or units < 1:
        raise ValueError(f"width and units must be >= 1, got {width} and {units}")
    features = keras.Input((width,), name="domain_in")
    reversal = GradientReversal(0.0, name="gradient_reversal")
    h = reversal(features)
    init = keras.initializers.GlorotUniform(seed=seed)
    h = keras.layers.Dense(units, activation="relu", kernel_initializer=init, name="domain_hidden")(h)
    out = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init, name="domain_out")(h)
    return keras.Model(features, out, name="domain_classifier"), reversal


class DANN(TwoDomainModel):
    """Feature extractor + label classifier + domain classifier, trained with ``fit``.

    Logs per epoch: ``accuracy`` (task, on source), ``domain_accuracy`` (the
    domain classifier on source and target batches; 0.5 means the features no
    longer reveal the domain), ``task_loss``, ``adaptation_loss`` (the domain
    loss) and ``lambda`` when trained with ``train_dann``.
    """

    def __init__(self, extractor, classifier, domain_units=64, seed=0, **kwargs):
        super().__init__(extractor, classifier, **kwargs)
        width = extractor.output_shape[-1]
        self.domain_classifier, self.reversal = build_domain_classifier(width, domain_units, seed)
        self.domain_loss = keras.losses.BinaryCrossentropy()
        self.domain_accuracy = keras.metrics.BinaryAccuracy(name="domain_accuracy")

    def extra_metrics(self):
        return [self.domain_accuracy]

    def adaptation_loss(self, source_features, target_features):
        ops = keras.ops
        features = ops.concatenate([source_features, target_features], axis=0)
        domains = ops.concatenate([ops.zeros((ops.shape(source_features)[0], 1)),
                                   ops.ones((ops.shape(target_features)[0], 1))], axis=0)
        predicted = self.domain_classifier(features, training=True)
        self.domain_accuracy.update_state(domains, predicted)
        return self.domain_loss(domains, predicted)


def train_adapter(model, x_source, y_source, x_target, epochs, batch_size=64, learning_rate=3e-4,
                  seed=0, callbacks=(), progress="adapt"):
    """Compile ``model`` (a ``TwoDomainModel``) with Adam and fit it; returns the History.

    One epoch visits every target image once (see ``paired_inputs``).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    keras.utils.set_random_seed(seed)
    x, y = paired_inputs(x_source, y_source, x_target, seed=seed)
    compile_built(model, keras.optimizers.Adam(learning_rate))
    shown = [ProgressLine(progress, keys=("accuracy", "domain_accuracy", "adaptation_loss"))] \
        if progress else []
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
                     callbacks=[*callbacks, *shown])


def train_dann(model, x_source, y_source, x_target, epochs, lambda_max=0.3, **kwargs):
    """Fit a ``DANN`` with lambda rising from 0 to ``lambda_max`` by ``ganin_schedule``.

    Other keyword arguments go to ``train_adapter``. Returns the History; its
    ``history["lambda"]`` holds lambda at the end of each epoch.
    """
    if not isinstance(model, DANN):
        raise ValueError(f"model must be a DANN, got {type(model).__name__}")
    schedule = LambdaSchedule(model.reversal, lambda_max)
    return train_adapter(model, x_source, y_source, x_target, epochs,
                         callbacks=[schedule, *kwargs.pop("callbacks", ())], **kwargs)
