"""An optional peer comparison, not part of the course: the ADAPT library's DANN and DeepCORAL on
this chapter's task.

It answers a question a teacher may be asked: "do the course's own DANN and Deep CORAL get
what an established library gets on the same problem?" ADAPT (adapt-python, de Mathelin et
al.) is not a dependency of the course, and nothing in the course imports this module.

Everything the chapter's ``domain_adaptation`` experiment fixes is fixed here too: the data
(``experiments.load_task``: ``mnist`` train labelled, ``mnist_m`` train unlabelled, grey);
the network (the cached source model split at ``features_relu`` into ADAPT's encoder and
task, both warm); ``EPOCHS`` epochs in batches of ``BATCH_SIZE``, Adam at ``LEARNING_RATE``;
DANN with the course's adversary (256-256 units, its own Adam at 10 times the rate) and
lambda rising to the chapter's ``WEIGHTS["dann"]`` on Ganin's schedule (ADAPT's ``UpdateLambda``); DeepCORAL
with the course's weight (ADAPT scales the CORAL loss as the course does: ``||C_s - C_t||^2 /
(4 d^2)``); and before testing, the encoder's BatchNorm statistics re-estimated on the
unlabelled target images (AdaBN), as every course arm does. Differences that remain: ADAPT
completes a last short batch by repeating images (63 steps per epoch on 4,000 images where
the course drops it: 62), labels the source 1 where the course labels the target 1, and sums
its domain loss's source and target terms where the course averages over both domains' images,
so at one lambda_max ADAPT's adversarial weight is twice the course's.
ADAPT trains through its own ``fit``: comparing its training loop is the point.

ADAPT 0.4.5 on Keras 3 needs one-hot labels (its ``train_step`` reshapes the prediction to the
label's shape), so the task loss is categorical cross-entropy on one-hot labels.

Each seed also runs the course's own arm beside each ADAPT arm (``dann``, ``coral``), in the same
process, so the seconds compare under the same load; its accuracy is the results file's. Beside
ADAPT's DANN it also runs the course's DANN **matched** to ADAPT's training: twice the chapter's
lambda_max (ADAPT's summed domain loss) and the target images completed to whole batches by
repeating some, as ADAPT does. ``--save`` writes the rows to ``course_lib/results/peer_adapt.json``,
which chapter 06 shows (``load``, ``table``): a learner without ADAPT sees what it measured.
Run, with ADAPT in an environment of its own (it pins no Keras 3 version) and the course's on
the path::

    python -m venv adapt-venv
    adapt-venv/bin/pip install adapt tensorflow-cpu==2.21.0 keras==3.15.1
    PYTHONPATH=.:<the course environment's site-packages> adapt-venv/bin/python \\
        -m course_lib.chapters.ch06_domain_adaptation.peer_adapt --seeds 0 1 2 3 4
"""

import argparse
import dataclasses
import json
import statistics
import sys

from course_lib.chapters.ch06_domain_adaptation import experiments as chapter
from course_lib.core.cnn import FEATURE_LAYER
from course_lib.core.data import N_CLASSES
from course_lib.methods.adaptation.dann import DOMAIN_RATE_FACTOR, DOMAIN_UNITS
from course_lib.results import FOLDER

#: Where ``--save`` writes the comparison's rows (chapter 06 reads them with ``load``).
SAVED = FOLDER / "peer_adapt.json"

ARMS = ("adapt_dann", "adapt_deepcoral")
#: The course's arm each peer arm is compared with.
COURSE_ARMS = {"adapt_dann": "dann", "adapt_deepcoral": "coral"}
MISSING = ("peer_adapt: the ADAPT library is not installed here, so there is nothing to compare.\n"
           "It is optional and the course does not need it. To run the comparison, in an environment of\n"
           "its own:  pip install adapt tensorflow-cpu==2.21.0 keras==3.15.1\n"
           "with the course on PYTHONPATH (see this module's docstring).")


def adapt_installed():
    """True when the ADAPT library can be imported."""
    try:
        import adapt  # noqa: F401
    except ImportError:
        return False
    return True


def discriminator(width, seed):
    """ADAPT's discriminator: (batch, width) features -> probability of "source" (a sigmoid),
    the course's hidden widths."""
    import keras

    features = keras.Input((width,))
    h = features
    for i, units in enumerate(DOMAIN_UNITS, start=1):
        h = keras.layers.Dense(units, activation="relu",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i))(h)
    out = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(h)
    return keras.Model(features, out, name="discriminator")


def run_arm(arm, task, source, seed):
    """Train one ADAPT model on ``task``; test it with and without AdaBN.

    Returns:
        a dict: ``accuracy`` (after AdaBN, as the course tests), ``accuracy_without_adabn``,
        ``seconds`` (training and AdaBN), ``steps``.
    """
    import time

    import keras
    import numpy as np
    import tensorflow as tf
    from adapt.feature_based import DANN, DeepCORAL
    from adapt.utils import UpdateLambda

    from course_lib.core.environment import seed_everything
    from course_lib.core.evaluation import accuracy
    from course_lib.core.layers import split
    from course_lib.methods.batchnorm import reestimate

    seed_everything(seed)
    encoder, head = split(source, FEATURE_LAYER)
    common = dict(encoder=encoder, task=head, Xt=task.x_target, random_state=seed, verbose=0,
                  optimizer=keras.optimizers.Adam(chapter.LEARNING_RATE),
                  loss=keras.losses.CategoricalCrossentropy(), metrics=["acc"])
    steps = -(-len(task.x_target) // chapter.BATCH_SIZE) * chapter.EPOCHS  # ADAPT completes the last batch
    callbacks = []
    start = time.perf_counter()
    if arm == "adapt_deepcoral":
        model = DeepCORAL(lambda_=chapter.WEIGHTS["coral"], **common)
    else:
        lambda_ = tf.Variable(0.0, trainable=False, dtype="float32")
        model = DANN(discriminator=discriminator(encoder.output.shape[-1], seed), lambda_=lambda_,
                     optimizer_disc=keras.optimizers.Adam(DOMAIN_RATE_FACTOR * chapter.LEARNING_RATE), **common)
        callbacks.append(UpdateLambda(lambda_max=chapter.WEIGHTS["dann"], max_steps=steps))
    one_hot = np.eye(N_CLASSES, dtype="float32")[task.y_source]
    model.fit(task.x_source, one_hot, epochs=chapter.EPOCHS, batch_size=chapter.BATCH_SIZE, callbacks=callbacks,
              verbose=0)
    classifier = keras.Model(model.encoder_.input, model.task_(model.encoder_.output))
    without = accuracy(classifier, task.x_test, task.y_test)
    reestimate(model.encoder_, task.x_target)
    seconds = time.perf_counter() - start
    return {"accuracy": accuracy(classifier, task.x_test, task.y_test), "accuracy_without_adabn": without,
            "seconds": round(seconds, 1), "steps": steps}


def whole_batches(task, seed):
    """``task`` with its unlabelled target images completed to a whole number of batches by
    repeating some of them (drawn with ``seed``), as ADAPT completes its last batch."""
    import numpy as np

    n = len(task.x_target)
    extra = np.random.default_rng(seed).choice(n, -n % chapter.BATCH_SIZE, replace=False)
    return dataclasses.replace(task, x_target=np.concatenate([task.x_target, task.x_target[extra]]))


def run_course_arm(arm, task, source, seed, matched=False):
    """The course's own ``arm`` of ``domain_adaptation`` on ``task``, timed as ``run_arm`` times ADAPT's
    (training and AdaBN): a dict ``accuracy``, ``seconds``, ``steps``. ``matched`` (DANN only): at
    ADAPT's weight (twice lambda_max: ADAPT sums the domains' terms) and steps (``whole_batches``)."""
    import time

    from course_lib.core.evaluation import accuracy
    from course_lib.methods.adaptation import dann_steps
    from course_lib.methods.batchnorm import reestimate

    weight, trained_on = (2 * chapter.WEIGHTS[arm], whole_batches(task, seed)) if matched else (None, task)
    start = time.perf_counter()
    model, _ = chapter.adapt(source, trained_on, arm, weight=weight, seed=seed)
    reestimate(model.extractor, task.x_target)
    seconds = time.perf_counter() - start
    return {"accuracy": accuracy(model, task.x_test, task.y_test), "seconds": round(seconds, 1),
            "steps": dann_steps(len(trained_on.x_target), chapter.EPOCHS, chapter.BATCH_SIZE)}


def load(path=SAVED):
    """The rows ``--save`` wrote (what chapter 06 shows)."""
    return json.loads(path.read_text())


def gaps(rows, arm="adapt_dann", course="course_matched"):
    """Per seed, in accuracy points: the course's arm (``course`` or ``course_matched``) minus ADAPT's."""
    return {r["seed"]: 100 * (r[course]["accuracy"] - r["accuracy"]) for r in rows if r["arm"] == arm}


def table(rows):
    """The comparison as text: per arm and seed, ADAPT's accuracy and seconds, the course's beside."""
    lines = [f"{'arm':<16} {'seed':>4} {'accuracy':>9} {'no AdaBN':>9} {'seconds':>8} {'steps':>6}   "
             f"{'course arm':<10} {'accuracy':>9} {'seconds':>8} {'steps':>6}"]
    for row in rows:
        lines.append(f"{row['arm']:<16} {row['seed']:>4} {row['accuracy']:>9.3f} "
                     f"{row['accuracy_without_adabn']:>9.3f} {row['seconds']:>8.1f} {row['steps']:>6}   " + "   ".join(
                         f"{name:<10} {row[key]['accuracy']:>9.3f} {row[key]['seconds']:>8.1f} {row[key]['steps']:>6}"
                         for key, name in _course_columns(row)))
    for arm in dict.fromkeys(r["arm"] for r in rows):
        mine = [r for r in rows if r["arm"] == arm]
        lines.append(f"{arm:<16} median accuracy {statistics.median(r['accuracy'] for r in mine):.3f}, " + ", ".join(
            f"the course's {name} {statistics.median(r[key]['accuracy'] for r in mine):.3f}"
            for key, name in _course_columns(mine[0])) + f", over {len(mine)} seeds")
    return "\n".join(lines)


def _course_columns(row):
    """``[(key of the row, name shown)]`` of the course's arms a row has beside ADAPT's."""
    arm = COURSE_ARMS[row["arm"]]
    return [(key, name) for key, name in (("course", arm), ("course_matched", f"{arm} matched")) if key in row]


def main(argv=None):
    """``python -m course_lib.chapters.ch06_domain_adaptation.peer_adapt [--seeds ...] [--arms ...] [--json FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--json", metavar="FILE", help="also write the rows to FILE")
    parser.add_argument("--save", action="store_true", help=f"write the rows to {SAVED} (what chapter 06 shows)")
    args = parser.parse_args(argv)
    if not adapt_installed():
        print(MISSING, file=sys.stderr)
        return 2
    import course_lib

    rows = []
    for seed in args.seeds:
        course_lib.setup(seed)
        task, source = chapter.load_task(seed), chapter.source_model(seed)
        for arm in args.arms:
            rows.append({"arm": arm, "seed": seed, **run_arm(arm, task, source, seed),
                         "course": run_course_arm(COURSE_ARMS[arm], task, source, seed)})
            if arm == "adapt_dann":
                rows[-1]["course_matched"] = run_course_arm("dann", task, source, seed, matched=True)
            print(f"seed {seed} {arm}: accuracy {rows[-1]['accuracy']:.3f} ({rows[-1]['seconds']:.1f} s); "
                  f"the course's {COURSE_ARMS[arm]} {rows[-1]['course']['accuracy']:.3f} "
                  f"({rows[-1]['course']['seconds']:.1f} s)", flush=True)
    print("\n" + table(rows))
    for path in [args.json] * bool(args.json) + [SAVED] * args.save:
        with open(path, "w") as f:
            json.dump(rows, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
