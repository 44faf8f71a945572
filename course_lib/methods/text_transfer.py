"""Transfer on text: a small Transformer encoder, pretrained by masked-token prediction, then fine-tuned.

The encoder (``build_encoder``) reads token ids (batch, T) and returns one vector per token
(batch, T, d)::

    tokens -> token embedding + position embedding -> EncoderBlock x BLOCKS -> (batch, T, d)
    EncoderBlock: h = norm(h + attention(h, h));  h = norm(h + feed_forward(h))
                  attention: MultiHeadAttention (query, key, value, output: EinsumDense layers)
                  feed_forward: Dense(FEED_FORWARD, relu) then Dense(d)

Pretraining (``MaskedLanguageModel``, BERT's objective, Devlin et al. 2019): hide
``MASK_RATE`` of a tweet's tokens behind ``[mask]`` and predict each hidden token from the
rest, with cross-entropy over the vocabulary at the hidden positions only. It needs no label.
``pretrained_encoder`` trains it once per ``TextRecipe`` and caches the encoder (the
prediction head is dropped, as BERT's is); ``python -m course_lib.tools.warm`` builds it.

Fine-tuning (``build``): the encoder, mean pooling over the real tokens, a new softmax head::

    scratch   every weight, from a random start (no pretraining)
    probe     the pretrained encoder frozen, the new head trains
    full      every weight, from the pretrained encoder
    lora      the pretrained encoder frozen, a low-rank update W + (alpha / r) A B on the
              ``LORA_TARGETS[where]`` of every block (Keras's ``enable_lora``, which leaves
              those layers' biases trainable), and the head

Keras's LoRA on an ``EinsumDense`` projection (kernel (d, heads, d / heads)) adds A of shape
(d, heads, r) and B of shape (r, d / heads): A B is a matmul over A's last axis, so the update
has rank r within each head and up to heads * r as a d x d matrix, where LoRA of rank r on a
Dense (d, d) kernel has rank r. Hu et al. (2021, section 7.1) compare which matrices to adapt: ``where="attention"`` puts
LoRA on the query and value projections, as they recommend; ``where="feed_forward"`` on
the two Dense layers of the feed-forward part.
"""

import dataclasses

import keras
import numpy as np

from course_lib.core import checks, text_data
from course_lib.core.environment import seed_everything
from course_lib.methods import fine_tuning as ft
from course_lib.methods import parameter_efficient as pe

#: The encoder's width d, attention heads, feed-forward width and number of blocks.
DIM, HEADS, FEED_FORWARD, BLOCKS = 32, 2, 64, 2
#: The share of real tokens hidden behind ``[mask]`` in each pretraining batch.
MASK_RATE = 0.15
METHODS = ("scratch", "probe", "full", "lora")
#: The sublayers of each ``EncoderBlock`` that LoRA adapts, by where it goes.
LORA_TARGETS = {"attention": ("query", "value"), "feed_forward": ("ff_in", "ff_out")}
LORA_RANK = 4
#: The learning rates each method tries; the validation split picks one.
RATE_GRID = {"scratch": (3e-4, 1e-3, 3e-3), "probe": (3e-3, 1e-2, 3e-2),
             "full": (3e-4, 1e-3, 3e-3), "lora": (1e-3, 3e-3, 1e-2)}


@keras.saving.register_keras_serializable(package="course_lib")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token ids (batch, T) -> token embedding + position embedding (batch, T, dim).

    Its mask (``compute_mask``) marks the real tokens (id != ``PAD``): attention and pooling
    downstream ignore the padding.
    """

    def __init__(self, vocabulary_size, length, dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.length, self.dim = vocabulary_size, length, dim
        self.tokens = keras.layers.Embedding(vocabulary_size, dim, name="tokens")
        self.positions = keras.layers.Embedding(length, dim, name="positions")

    def build(self, input_shape):
        self.tokens.build(input_shape)
        self.positions.build((self.length,))

    def call(self, ids):
        return self.tokens(ids) + self.positions(keras.ops.arange(self.length))

    def compute_mask(self, ids, mask=None):
        return keras.ops.not_equal(ids, text_data.PAD)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "length": self.length, "dim": self.dim}


@keras.saving.register_keras_serializable(package="course_lib")
class EncoderBlock(keras.layers.Layer):
    """One Transformer encoder block (post-norm, as in Vaswani et al. 2017): (batch, T, dim) -> same.

    Self-attention over the real tokens, then a two-layer feed-forward net, each with a
    residual connection and layer normalisation. Its sublayers are attributes named as in
    ``LORA_TARGETS``: ``query``, ``key``, ``value``, ``output`` (the attention's EinsumDense
    projections), ``ff_in``, ``ff_out``.
    """

    def __init__(self, dim, heads, feed_forward, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.heads, self.feed_forward = dim, heads, feed_forward
        self.supports_masking = True
        self.attention = keras.layers.MultiHeadAttention(heads, dim // heads, name="attention")
        self.attention_norm = keras.layers.LayerNormalization(name="attention_norm")
        self.ff_in = keras.layers.Dense(feed_forward, activation="relu", name="ff_in")
        self.ff_out = keras.layers.Dense(dim, name="ff_out")
        self.ff_norm = keras.layers.LayerNormalization(name="ff_norm")

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)
        self.attention_norm.build(input_shape)
        self.ff_in.build(input_shape)
        self.ff_out.build((*input_shape[:-1], self.feed_forward))
        self.ff_norm.build(input_shape)

    def sublayer(self, name):
        """The Dense or EinsumDense sublayer ``name``: query, key, value, output, ff_in or ff_out."""
        projections = {"query": "_query_dense", "key": "_key_dense", "value": "_value_dense",
                       "output": "_output_dense"}
        if name in projections:
            return getattr(self.attention, projections[name])
        checks.choice(name, "sublayer", (*projections, "ff_in", "ff_out"))
        return getattr(self, name)

    def call(self, h, mask=None):
        pair = None if mask is None else keras.ops.logical_and(mask[:, :, None], mask[:, None, :])
        h = self.attention_norm(h + self.attention(h, h, attention_mask=pair))
        return self.ff_norm(h + self.ff_out(self.ff_in(h)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "heads": self.heads,
                "feed_forward": self.feed_forward}


def build_encoder(seed=0, vocabulary_size=text_data.VOCABULARY_SIZE, length=text_data.SEQUENCE_LENGTH,
                  dim=DIM, heads=HEADS, feed_forward=FEED_FORWARD, blocks=BLOCKS):
    """The untrained encoder: token ids (batch, length) -> (batch, length, dim), a functional model.

    Its layers: ``embedding`` (``TokenAndPositionEmbedding``), ``block1`` ... (``EncoderBlock``).
    """
    seed_everything(seed)
    tokens = keras.Input((length,), dtype="int32", name="tokens")
    h = TokenAndPositionEmbedding(vocabulary_size, length, dim, name="embedding")(tokens)
    for i in range(blocks):
        h = EncoderBlock(dim, heads, feed_forward, name=f"block{i + 1}")(h)
    return keras.Model(tokens, h, name="encoder")


def blocks(encoder):
    """The ``EncoderBlock`` layers of ``encoder`` (or of a classifier holding it), in order."""
    found = []
    for layer in encoder.layers:
        if isinstance(layer, EncoderBlock):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found += blocks(layer)
    return found


def masked_tokens(ids, rate, seed):
    """BERT's corruption: ``(corrupted, hidden)`` where ``hidden`` (bool, same shape as ``ids``)
    marks about ``rate`` of the real tokens, each replaced by ``MASK`` in ``corrupted``.

    ``seed``: an int or a ``keras.random.SeedGenerator``.
    """
    real = keras.ops.not_equal(ids, text_data.PAD)
    hidden = keras.ops.logical_and(real, keras.random.uniform(keras.ops.shape(ids), seed=seed) < rate)
    return keras.ops.where(hidden, text_data.MASK, ids), hidden


def hidden_token_loss(model, corrupted, ids, hidden, training=False):
    """What ``model`` (a ``MaskedLanguageModel``) predicts at the ``hidden`` positions only.

    Args:
        corrupted, ids: token ids (batch, T) with and without the ``[mask]`` tokens.
        hidden: bool (batch, T), the positions to predict (at least one).

    Returns:
        ``(loss, logits, targets)``: the mean cross-entropy of the true tokens, the logits
        (k, V) and the true ids (k,) of the k hidden positions.
    """
    import tensorflow as tf

    targets = tf.boolean_mask(ids, hidden)
    states = tf.boolean_mask(model.encoder(corrupted, training=training), hidden)  # (k, d)
    logits = model.predict_token(states)
    loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))
    return loss, logits, targets


class MaskedLanguageModel(keras.Model):
    """The encoder with a linear prediction head over the vocabulary, trained to fill in hidden tokens.

    Inputs to ``fit``: ``(token ids (n, T), None)``: no labels, the tokens are their own
    targets. Each step hides ``mask_rate`` of the real tokens (``masked_tokens``) and
    minimises ``hidden_token_loss``. Logs ``loss`` and ``masked_accuracy`` (the share of
    hidden tokens predicted exactly). Called on ids, it returns logits (batch, T, V).
    """

    def __init__(self, encoder, mask_rate=MASK_RATE, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.mask_rate = checks.positive_number(mask_rate, "mask_rate")
        vocabulary_size = encoder.get_layer("embedding").vocabulary_size
        self.predict_token = keras.layers.Dense(vocabulary_size, name="predict_token")
        self.predict_token.build(encoder.output_shape)  # before fit builds the optimizer
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="masked_accuracy")

    def call(self, ids, training=False):
        return self.predict_token(self.encoder(ids, training=training))

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    def train_step(self, data):
        import tensorflow as tf

        ids, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        corrupted, hidden = masked_tokens(ids, self.mask_rate, self.seed_generator)
        with tf.GradientTape() as tape:
            loss, logits, targets = hidden_token_loss(self, corrupted, ids, hidden, training=True)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(keras.ops.mean(keras.ops.cast(
            keras.ops.equal(keras.ops.argmax(logits, -1), keras.ops.cast(targets, "int64")), "float32")))
        return {m.name: m.result() for m in self.metrics}


@dataclasses.dataclass(frozen=True)
class TextRecipe:
    """How the encoder is pretrained: masked-token prediction on the unlabelled pool's tweets.

    Attributes:
        epochs, batch_size, learning_rate: Adam over ``text_data.pool_tokens()``.
        mask_rate: the share of real tokens hidden in each batch.
        seed: the initialisation, the shuffling and the hidden positions.
    """

    epochs: int = 16
    batch_size: int = 128
    learning_rate: float = 2e-3
    mask_rate: float = MASK_RATE
    seed: int = 0

    @property
    def name(self):
        """A readable start of the cache file name."""
        return f"text_encoder_mlm_s{self.seed}"


#: The course's pretrained text encoder.
TEXT_SOURCE = TextRecipe()


def pretrained_encoder(recipe=TEXT_SOURCE, progress=None):
    """The encoder pretrained by ``recipe``: from the cache, or trained now and cached.

    Returns:
        a ``keras.Model`` (``build_encoder``'s); its attribute ``from_cache`` says whether it
        was loaded and ``history`` (when trained now) holds the pretraining curves.
    """
    from course_lib.core.cache import cached_model
    from course_lib.core.training import fit

    history = {}

    def train(encoder):
        model = MaskedLanguageModel(encoder, recipe.mask_rate, seed=recipe.seed)
        history.update(fit(model, (text_data.pool_tokens(), None), epochs=recipe.epochs,
                           batch_size=recipe.batch_size, learning_rate=recipe.learning_rate,
                           seed=recipe.seed, progress=progress).history)
        return encoder

    parts = [dataclasses.asdict(recipe), text_data.CORPUS_FILE, text_data.vocabulary()]
    encoder, loaded = cached_model(recipe.name, parts, lambda: build_encoder(recipe.seed), train)
    encoder.from_cache, encoder.history = loaded, history
    return encoder


def classifier(encoder, n_classes=2, seed=0):
    """``encoder`` -> mean over the real tokens -> a new softmax ``head``: ids -> (batch, n_classes).

    The classifier holds ``encoder`` itself (train a copy to keep the original).
    """
    seed_everything(seed)
    tokens = keras.Input(encoder.input_shape[1:], dtype="int32", name="tokens")
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(encoder(tokens))
    probabilities = keras.layers.Dense(n_classes, activation="softmax", name="head")(pooled)
    return keras.Model(tokens, probabilities, name="text_classifier")


def _copy(encoder, seed):
    """An untrained encoder of ``encoder``'s architecture holding a copy of its weights."""
    copy = build_encoder(seed)
    copy.set_weights(encoder.get_weights())
    return copy


def _freeze_all_but(model, layers):
    """Freeze every leaf layer of ``model`` except ``layers`` (their parents stay trainable, so
    their weights stay in ``model.trainable_weights``)."""
    model.trainable = True
    keep = {id(layer) for layer in layers}
    for layer in model._flatten_layers(include_self=False):
        if not list(layer._flatten_layers(include_self=False)) and id(layer) not in keep:
            layer.trainable = False


def with_lora(model, where="attention", rank=LORA_RANK, alpha=None, seed=0):
    """Freeze ``model`` (a ``classifier``) except its head, and put LoRA on ``LORA_TARGETS[where]``
    of every encoder block: ``W + (alpha / rank) A B`` with W frozen, A and B (and, Keras's
    choice, the layer's bias) trained. ``alpha`` defaults to ``pe.LORA_ALPHA_PER_RANK * rank``.

    Returns:
        ``model``, changed in place.
    """
    checks.choice(where, "where", tuple(LORA_TARGETS))
    rank = checks.whole_number(rank, "rank")
    alpha = pe.LORA_ALPHA_PER_RANK * rank if alpha is None else checks.positive_number(alpha, "alpha")
    targets = [block.sublayer(name) for block in blocks(model) for name in LORA_TARGETS[where]]
    _freeze_all_but(model, [*targets, model.get_layer("head")])
    seed_everything(seed)
    for layer in targets:
        layer.enable_lora(rank, lora_alpha=alpha)
    return model


def build(method, encoder, n_classes=2, seed=0, **options):
    """The classifier ``method`` fine-tunes, frozen as the method says (uncompiled).

    Args:
        method: one of ``METHODS``.
        encoder: the pretrained encoder (left unchanged: the classifier holds a copy);
            ``scratch`` only takes its architecture.
        options: for ``lora``: ``where``, ``rank``, ``alpha`` (see ``with_lora``).
    """
    checks.choice(method, "method", METHODS)
    if options and method != "lora":
        raise ValueError(f"method {method!r} takes no options, got {sorted(options)}; "
                         "where, rank and alpha are LoRA's")
    start = build_encoder(seed) if method == "scratch" else _copy(encoder, seed)
    model = classifier(start, n_classes, seed=seed)
    if method == "probe":
        _freeze_all_but(model, [model.get_layer("head")])
    elif method == "lora":
        with_lora(model, seed=seed, **options)
    return model


def tune(method, encoder, train, validation, seed=0, steps=ft.DEFAULT_STEPS, rates=None, progress=None,
         **options):
    """Fine-tune ``method`` at each rate of ``rates`` (default ``RATE_GRID[method]``); keep the best
    on the validation split.

    Args:
        train, validation: ``(token ids, labels)``.

    Returns:
        a ``fine_tuning.Selection``.
    """
    checks.choice(method, "method", METHODS)

    def train_at(model, rate):
        label = f"{progress} at rate {rate:g}" if progress else None
        return ft.fine_tune(model, train, validation, rate, steps=steps, seed=seed, progress=label)

    return ft.select_learning_rate(lambda: build(method, encoder, seed=seed, **options),
                                   RATE_GRID[method] if rates is None else rates, train_at)


def _size(variables):
    return int(sum(np.prod(v.shape) for v in variables))


def weight_counts(model):
    """``{part: weights}`` of a ``classifier`` (or an encoder): the embeddings, each block's
    attention and feed-forward (with their layer norms), and the head."""
    counts = {}
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, TokenAndPositionEmbedding):
            counts["token embedding"] = int(np.prod(layer.tokens.embeddings.shape))
            counts["position embedding"] = int(np.prod(layer.positions.embeddings.shape))
        elif isinstance(layer, EncoderBlock):
            counts[f"{layer.name} attention"] = _size(layer.attention.weights + layer.attention_norm.weights)
            counts[f"{layer.name} feed-forward"] = _size(
                layer.ff_in.weights + layer.ff_out.weights + layer.ff_norm.weights)
        elif layer.name == "head":
            counts["head"] = _size(layer.weights)
    return counts


def nearest_words(encoder, word, k=5):
    """The ``k`` words whose token embeddings in ``encoder`` are closest to ``word``'s (cosine),
    nearest first: what pretraining put next to it."""
    vocabulary = text_data.vocabulary()
    if word not in vocabulary:
        raise ValueError(f"{word!r} is not in the vocabulary of the {len(vocabulary)} most frequent words; "
                         "try a frequent word such as 'thanks' or 'delayed'")
    table = encoder.get_layer("embedding").tokens.embeddings.numpy()
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    similarity = unit @ unit[vocabulary.index(word)]
    order = [i for i in np.argsort(-similarity) if i != vocabulary.index(word) and i >= len(text_data.SPECIAL_TOKENS)]
    return [vocabulary[i] for i in order[:k]]
