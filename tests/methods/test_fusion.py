"""Fusion: branches freeze as asked, both fusions build and train, bad input is refused."""

import numpy as np
import pytest

import course_lib
from course_lib.fine_tuning import trainable_summary
from course_lib.models import build_cnn, compile_classifier
from course_lib.transfer_networks import fusion as fu


@pytest.fixture(autouse=True)
def _seed():
    course_lib.setup(0)


def _data(n=32):
    rng = np.random.default_rng(0)
    colour = rng.random((n, 28, 28, 3)).astype("float32")
    return [colour.mean(axis=-1, keepdims=True), colour], np.arange(n) % 10


def _one_epoch(model):
    views, y = _data()
    compile_classifier(model)
    model.fit(views, y, epochs=1, batch_size=16, verbose=0)


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
    _one_epoch(model)
    assert all(np.array_equal(a, b) for a, b in zip(before_s, source.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(before_t, target.get_weights()))


def test_branches_freeze_as_asked():
    source, target = fu.source_branch(build_cnn(channels=1)), fu.target_branch()
    counts = _trainable(fu.build_fusion(source, target, freeze_source=False, freeze_target=True))
    assert counts["source_branch"] > 0 and counts["target_branch"] == 0
    single = fu.build_single(fu.target_branch(), freeze=True)
    assert _trainable(single)["target_branch"] == 0


def test_fusion_rejects_bad_input():
    source, target = fu.source_branch(build_cnn(channels=1)), fu.target_branch()
    with pytest.raises(ValueError, match="fusion must be one of"):
        fu.build_fusion(source, target, fusion="sum")
    with pytest.raises(ValueError, match="two different branch models"):
        fu.build_fusion(source, source)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        fu.source_branch(build_cnn(channels=1), layer="nope")


def test_experiment_rejects_an_unknown_arm():
    from course_lib.experiments import fusion as experiment

    with pytest.raises(ValueError, match="unknown arm"):
        experiment.build_arm("both", build_cnn(channels=1))
