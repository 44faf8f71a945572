"""Fusion: branches freeze as asked, both fusions build and train, bad input is refused."""

import numpy as np
import pytest

from course_lib.core.cnn import build_cnn
from course_lib.core.evaluation import predict
from course_lib.core.layers import trainable_summary
from course_lib.core.training import fit
from course_lib.methods import fusion as fu


def _data(n=32):
    rng = np.random.default_rng(0)
    colour = rng.random((n, 28, 28, 3)).astype("float32")
    return [colour.mean(axis=-1, keepdims=True), colour], np.arange(n) % 10


def _trainable(model):
    """Trainable parameters per top-level layer (each branch is one layer of the fusion model)."""
    return trainable_summary(model).set_index("layer")["trainable_params"]


@pytest.mark.parametrize("fusion", fu.FUSIONS)
def test_frozen_source_branch_does_not_change_and_target_does(fusion):
    source = fu.source_branch(build_cnn(channels=1))
    target = fu.target_branch()
    model = fu.build_fusion(source, target, fusion=fusion, freeze_source=True)
    counts = _trainable(model)
    assert counts["source_branch"] == 0 and counts["target_branch"] > 0
    before_s = [w.copy() for w in source.get_weights()]
    before_t = [w.copy() for w in target.get_weights()]
    fit(model, _data(), epochs=1, batch_size=16)
    assert all(np.array_equal(a, b) for a, b in zip(before_s, source.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(before_t, target.get_weights()))
    assert predict(model, _data(8)[0]).shape == (8, 10)


def test_the_source_branch_is_a_copy_of_the_source_features():
    source = build_cnn(channels=1, seed=3)
    branch = fu.source_branch(source)
    x = _data(4)[0][0]
    from course_lib.core.evaluation import layer_output

    np.testing.assert_allclose(predict(branch, x), layer_output(source, "flatten", x), rtol=1e-5, atol=1e-6)
    branch.trainable = False
    assert all(layer.trainable for layer in source.layers)  # freezing the copy leaves the source alone
    assert branch.output_shape == (None, 800)


def test_branches_freeze_as_asked():
    source, target = fu.source_branch(build_cnn(channels=1)), fu.target_branch()
    counts = _trainable(fu.build_fusion(source, target, freeze_source=False, freeze_target=True))
    assert counts["source_branch"] > 0 and counts["target_branch"] == 0
    single = fu.build_single(fu.target_branch(), freeze=True)
    assert _trainable(single)["target_branch"] == 0


def test_the_concat_head_reads_both_branches():
    source, target = fu.source_branch(build_cnn(channels=1)), fu.target_branch(units=64)
    model = fu.build_fusion(source, target, fusion="concat")
    assert model.get_layer("fusion_concat").output.shape[-1] == 800 + 64
    assert model.get_layer("head").get_weights()[0].shape == (864, 10)


def test_fusion_rejects_bad_input():
    source, target = fu.source_branch(build_cnn(channels=1)), fu.target_branch()
    with pytest.raises(ValueError, match="unknown fusion 'sum'"):
        fu.build_fusion(source, target, fusion="sum")
    with pytest.raises(ValueError, match="two different branch models"):
        fu.build_fusion(source, source)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        fu.source_branch(build_cnn(channels=1), layer="nope")
    with pytest.raises(ValueError, match="dropout must be between 0 and 1"):
        fu.build_single(fu.target_branch(), dropout=1.5)
