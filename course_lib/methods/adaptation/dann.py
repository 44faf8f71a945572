"""DANN: domain-adversarial training of neural networks (Ganin & Lempitsky, 2015).

One network, three parts: a feature extractor G_f, a label classifier G_y and a domain
classifier G_d behind a gradient reversal layer R. The loss is

    L = L_y(G_y(G_f(x_s)), y_s) + L_d(G_d(R_lambda(G_f(x))), d)

G_d learns to tell source (d = 0) from target (d = 1); the reversal layer flips the
gradient that reaches G_f, so the extractor learns features that classify the source
well and that G_d cannot tell apart. Train with the lambda schedule::

    model = DANN(extractor, classifier)
    fit(model, paired(x_s, y_s, x_t), epochs=5, callbacks=[LambdaSchedule(model.reversal, 0.3)])
"""

import keras

from course_lib.core import checks
from course_lib.methods.adaptation.gradient_reversal import GradientReversal
from course_lib.methods.adaptation.two_domain import TwoDomainModel


def build_domain_classifier(width, units=64, seed=0):
    """G_d: (batch, width) features -> (batch, 1) probability of "target", reversal layer first.

    Returns:
        ``(model, reversal_layer)``.
    """
    width, units = checks.whole_number(width, "width"), checks.whole_number(units, "units")
    features = keras.Input((width,), name="domain_in")
    reversal = GradientReversal(0.0, name="gradient_reversal")
    init = keras.initializers.GlorotUniform(seed=seed)
    h = keras.layers.Dense(units, activation="relu", kernel_initializer=init,
                           name="domain_hidden")(reversal(features))
    out = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init, name="domain_out")(h)
    return keras.Model(features, out, name="domain_classifier"), reversal


class DANN(TwoDomainModel):
    """Feature extractor + label classifier + domain classifier, trained with ``fit``.

    Logs per epoch, besides ``TwoDomainModel``'s: ``domain_accuracy``, the domain
    classifier's accuracy on source and target batches (0.5: the features no longer
    reveal the domain).
    """

    def __init__(self, extractor, classifier, domain_units=64, seed=0, **kwargs):
        super().__init__(extractor, classifier, **kwargs)
        width = extractor.output.shape[-1]
        self.domain_classifier, self.reversal = build_domain_classifier(width, domain_units, seed)
        self.domain_loss = keras.losses.BinaryCrossentropy()
        self.domain_accuracy = keras.metrics.BinaryAccuracy(name="domain_accuracy")

    def adaptation_loss(self, source_features, target_features):
        ops = keras.ops
        features = ops.concatenate([source_features, target_features], axis=0)
        domains = ops.concatenate([ops.zeros((ops.shape(source_features)[0], 1)),
                                   ops.ones((ops.shape(target_features)[0], 1))], axis=0)
        predicted = self.domain_classifier(features, training=True)
        self.domain_accuracy.update_state(domains, predicted)
        return self.domain_loss(domains, predicted)
