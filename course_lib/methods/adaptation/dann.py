"""DANN: domain-adversarial training of neural networks (Ganin & Lempitsky, 2015).

One network, three parts: a feature extractor G_f, a label classifier G_y and a domain
classifier G_d behind a gradient reversal layer R. The loss is

    L = L_y(G_y(G_f(x_s)), y_s) + L_d(G_d(R_lambda(G_f(x))), d)

L_d is the binary cross-entropy averaged over the source and target batches together. Ganin et
al.'s objective (JMLR, 2016) sums the source batch's mean and the target batch's, twice this, so
a ``lambda_max`` here is twice the paper's: 3 here is 1.5 there.

G_d learns to tell source (d = 0) from target (d = 1); the reversal layer flips the
gradient that reaches G_f, so the extractor learns features that classify the source
well and that G_d cannot tell apart. lambda rises from 0 to ``lambda_max`` over the
training on Ganin's schedule (``gradient_reversal.ganin_schedule``).

What makes it work at the course's scale (issue 16, measured over seeds): **an adversary
that can keep up.** The extractor starts from a trained source model; the domain
classifier starts from random weights. A small one (one hidden layer of 64 units) trained
at the extractor's learning rate stayed at chance (domain accuracy about 0.5) for most of
the run: it had learned nothing, so the reversed gradient it sent back was noise, and
DANN was no better than training without it. Here G_d has two hidden layers of 256 units
and **its own Adam optimizer at 10 times the learning rate** (Adam cannot be sped up by
scaling gradients: its step does not depend on their scale, see
``methods.learning_rates``), and lambda_max is 1. Train it like any other model::

    model = DANN(extractor, classifier, total_steps=dann_steps(len(x_target), 5, 64))
    fit(model, paired(x_source, y_source, x_target), epochs=5, batch_size=64, learning_rate=3e-4)
"""

import keras
from keras import ops

from course_lib.core import checks
from course_lib.methods.adaptation.gradient_reversal import GradientReversal, ganin_schedule
from course_lib.methods.adaptation.two_domain import TwoDomainModel

#: Hidden widths of the domain classifier.
DOMAIN_UNITS = (256, 256)
#: The domain classifier's learning rate, as a multiple of the extractor's.
DOMAIN_RATE_FACTOR = 10.0
#: The largest weight of the reversed gradient (reached at the end of training).
LAMBDA_MAX = 1.0


def dann_steps(n_target, epochs, batch_size):
    """The gradient steps of ``fit(model, paired(...), epochs=epochs, batch_size=batch_size)``.

    An epoch pairs every target image with a source example; ``fit`` drops a last batch
    smaller than ``batch_size``, so an epoch is ``n_target // batch_size`` steps (one step
    when there are fewer images than a batch).
    """
    n_target = checks.whole_number(n_target, "n_target")
    batch_size = checks.whole_number(batch_size, "batch_size")
    return checks.whole_number(epochs, "epochs") * max(1, n_target // batch_size)


def build_domain_classifier(width, units=DOMAIN_UNITS, seed=0):
    """G_d: (batch, width) features -> (batch, 1) logit of "target", reversal layer first.

    Dense-ReLU layers of the ``units`` widths, then one Dense unit without activation
    (a logit: > 0 means "target").

    Returns:
        ``(model, reversal_layer)``.
    """
    width = checks.whole_number(width, "width")
    units = [checks.whole_number(u, "units") for u in units]
    if not units:
        raise ValueError("units is empty; give the widths of the hidden layers, e.g. (256, 256)")
    features = keras.Input((width,), name="domain_in")
    reversal = GradientReversal(0.0, name="gradient_reversal")
    h = reversal(features)
    for i, u in enumerate(units, start=1):
        h = keras.layers.Dense(u, activation="relu", name=f"domain_hidden{i}",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i))(h)
    logit = keras.layers.Dense(1, name="domain_logit",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(h)
    return keras.Model(features, logit, name="domain_classifier"), reversal


class DANN(TwoDomainModel):
    """Feature extractor + label classifier + domain classifier, trained with ``fit``.

    Args:
        extractor, classifier: as for ``TwoDomainModel`` (warm-started from a source model).
        total_steps: the gradient steps the whole ``fit`` takes (``dann_steps``): lambda
            follows Ganin's schedule over them and stays at ``lambda_max`` after.
        lambda_max: the weight of the reversed gradient at the end of training.
        domain_units: hidden widths of the domain classifier.
        domain_rate_factor: the domain classifier's learning rate over the extractor's.
        seed: the domain classifier's initial weights.

    ``compile`` (``fit`` calls it) gives the domain classifier an optimizer of its own: the
    same kind as the model's, at ``domain_rate_factor`` times its learning rate.

    Logs per epoch, besides ``TwoDomainModel``'s (``adaptation_loss`` is the domain
    classifier's binary cross-entropy): ``domain_accuracy``, the domain classifier's accuracy
    on the source and target batches (0.5: it cannot tell them apart), and ``lambda``.
    """

    def __init__(self, extractor, classifier, total_steps, lambda_max=LAMBDA_MAX,
                 domain_units=DOMAIN_UNITS, domain_rate_factor=DOMAIN_RATE_FACTOR, seed=0, **kwargs):
        super().__init__(extractor, classifier, **kwargs)
        self.total_steps = checks.whole_number(total_steps, "total_steps")
        self.lambda_max = checks.positive_number(lambda_max, "lambda_max", allow_zero=True)
        self.domain_rate_factor = checks.positive_number(domain_rate_factor, "domain_rate_factor")
        width = extractor.output.shape[-1]
        self.domain_classifier, self.reversal = build_domain_classifier(width, domain_units, seed)
        self.domain_optimizer = None
        self.domain_loss = keras.losses.BinaryCrossentropy(from_logits=True)
        self.domain_accuracy = keras.metrics.BinaryAccuracy(name="domain_accuracy", threshold=0.0)
        self.lambda_tracker = keras.metrics.Mean(name="lambda")

    def compile(self, optimizer="adam", **kwargs):
        super().compile(optimizer=optimizer, **kwargs)
        config = self.optimizer.get_config()
        rate = float(ops.convert_to_numpy(self.optimizer.learning_rate))
        config.update(learning_rate=self.domain_rate_factor * rate, name="domain_optimizer")
        self.domain_optimizer = type(self.optimizer).from_config(config)
        self.domain_optimizer.build(self.domain_classifier.trainable_variables)

    @property
    def extra_optimizers(self):
        """The optimizers besides ``optimizer`` (``training.fit`` resets them with it)."""
        return [self.domain_optimizer] if self.domain_optimizer is not None else []

    def current_lambda(self):
        """lambda for the next step: Ganin's schedule at the share of ``total_steps`` done."""
        done = ops.cast(self.optimizer.iterations, "float32") / float(self.total_steps)
        return ganin_schedule(done, self.lambda_max)

    def adaptation_loss(self, source_features, target_features):
        lam = self.current_lambda()
        self.reversal.lambda_.assign(lam)
        self.lambda_tracker.update_state(lam)
        features = ops.concatenate([source_features, target_features], axis=0)
        domains = ops.concatenate([ops.zeros((ops.shape(source_features)[0], 1)),
                                   ops.ones((ops.shape(target_features)[0], 1))], axis=0)
        logits = self.domain_classifier(features, training=True)
        self.domain_accuracy.update_state(domains, logits)
        return self.domain_loss(domains, logits)

    def update_weights(self, gradients, variables):
        if self.domain_optimizer is None:
            raise ValueError("compile the DANN first (course_lib.core.training.fit does)")
        domain = {id(v) for v in self.domain_classifier.trainable_variables}
        for optimizer, mine in ((self.optimizer, False), (self.domain_optimizer, True)):
            pairs = [(g, v) for g, v in zip(gradients, variables) if (id(v) in domain) == mine]
            optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
