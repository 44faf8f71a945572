"""A run's output folder: the model, a report and the figures, written whole or not at all.

::

    output/
        model.keras            the trained model (``keras.models.load_model``)
        report.md              what was trained on, how, and how well (read this first)
        report.json            the same, for programs
        curves.png             accuracy and loss per epoch, training and validation, both stages
        confusion_matrix.png   test set: rows the true class, columns the predicted one
        mistakes.png           test set: the most confident mistakes

Everything is written into a hidden temporary folder beside ``output`` and renamed into place
when complete. An ``output`` that exists and holds anything is refused before training starts:
the course never overwrites a folder.
"""

import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from course_lib.methods.own_images.publish import missing_or_empty, publish_folder

MODEL_FILE = "model.keras"
#: Confident mistakes listed and shown.
MISTAKES_SHOWN = 8
FIGURE_DPI = 100


def check_output(output):
    """``output`` as a ``Path`` (or None), if it does not exist yet or is an empty folder."""
    if output is None:
        return None
    output = Path(output).expanduser()
    if not missing_or_empty(output):
        raise ValueError(f"the output folder {output} already exists; give a new one (the course never "
                         "overwrites a folder: move or delete it yourself if you no longer need it)")
    return output


def unique_output(parent=None, prefix="run-"):
    """A new, empty, uniquely named folder for a run's outputs (default: in the cache folder)."""
    import time

    from course_lib.core.cache import cache_dir

    parent = Path(parent) if parent else cache_dir() / "own_images_runs"
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=prefix + time.strftime("%Y%m%d-%H%M%S-")))


def _rows(run, evaluation):
    return [{"class": name, "test images": int((evaluation.labels == k).sum()),
             "accuracy": round(float(evaluation.per_class[k]), 4)}
            for k, name in enumerate(run.class_names)]


def _mistakes(run, indices):
    final = run.final
    return [{"file": run.report.relative(final.paths[i]), "true": run.class_names[final.labels[i]],
             "predicted": run.class_names[final.predicted[i]],
             "confidence": round(float(final.probabilities[i].max()), 4)} for i in indices]


def summary(run, mistakes):
    """The run as a JSON-ready dict (``report.json``)."""
    import dataclasses

    stages = {name: {"best_epoch": stage.best_epoch, "epochs": len(stage.logs["loss"]),
                     "trainable_parameters": stage.trainable, "logs": stage.logs}
              for name, stage in run.stages.items()}
    return {"folder": str(run.report.root), "classes": run.class_names, "counts": run.report.counts,
            "skipped": [{"file": str(p), "reason": why} for p, why in run.report.skipped],
            "split": {name: len(split) for name, split in run.splits.items()},
            "settings": dataclasses.asdict(run.settings), "weights": run.weights.label,
            "weights_message": run.weights.message, "distributed": run.distributed, "stages": stages,
            "test_accuracy": {"head only": run.head_only.accuracy, "two stages": run.final.accuracy},
            "chance": 1 / len(run.class_names), "per_class": _rows(run, run.final),
            "confusion_matrix": run.final.confusion.tolist(), "confident_mistakes": _mistakes(run, mistakes)}


def _table(rows):
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows])


def report_text(facts, report):
    """``report.md``: the run in words and tables."""
    d, accuracy = facts["distributed"], facts["test_accuracy"]
    stages = "\n".join(f"- {name}: kept epoch {s['best_epoch']} of {s['epochs']} (lowest validation loss), "
                       f"{s['trainable_parameters']:,} trainable parameters"
                       for name, s in facts["stages"].items())
    mistakes = (_table(facts["confident_mistakes"]) if facts["confident_mistakes"]
                else "No mistakes on the test set.")
    return f"""# {Path(facts['folder']).name}: {facts['settings']['backbone']} ({facts['weights']})

{facts['weights_message']}

## The folder

{report.text()}

Split (validation and test hold the same number of images of every class): {facts['split']}.

## Training

- strategy {d['strategy']}, {d['replicas']} replica(s), global batch {d['global_batch']},
  precision {d['precision']}
- learning rates (scaled to the global batch): head {d['head_learning_rate']:g},
  top blocks {d['fine_learning_rate']:g}
{stages}

Curves: `curves.png` (training and validation; the validation split chose the epochs).

## Test set (measured once per stage; chance is {facts['chance']:.3f})

- after stage 1 (head only): accuracy {accuracy['head only']:.3f}
- after both stages: accuracy **{accuracy['two stages']:.3f}**

{_table(facts['per_class'])}

Confusion matrix: `confusion_matrix.png`. Most confident mistakes (`mistakes.png`), the first
place to look for mislabelled images, look-alike classes and shortcuts:

{mistakes}
"""


def _save(figure, path):
    figure.savefig(path, dpi=FIGURE_DPI, bbox_inches="tight")
    plt.close(figure)


def write_run(run, output):
    """Write ``run``'s model, report and figures into ``output`` (see the module docstring).

    Returns:
        ``output`` (a ``Path``).
    """
    from course_lib.methods.own_images import show
    from course_lib.methods.own_images.pipeline import load_images
    from course_lib.methods.own_images.recipe import confident_mistakes

    def write(folder):
        run.model.save(folder / MODEL_FILE)
        mistakes = confident_mistakes(run.final.probabilities, run.final.labels, MISTAKES_SHOWN)
        facts = summary(run, mistakes)
        (folder / "report.json").write_text(json.dumps(facts, indent=1) + "\n")
        (folder / "report.md").write_text(report_text(facts, run.report))
        _save(show.two_stage_curves(run.stages, run.weights.label)[0].figure, folder / "curves.png")
        _save(show.confusion(run.final.confusion, run.class_names, f"test set ({run.weights.label})").figure,
              folder / "confusion_matrix.png")
        images = (load_images([run.final.paths[i] for i in mistakes], run.settings.image_size)
                  if len(mistakes) else [])
        _save(show.mistakes_grid(images, run.final.labels[mistakes], run.final.probabilities[mistakes],
                                 run.class_names, f"most confident mistakes ({run.weights.label})"),
              folder / "mistakes.png")

    return publish_folder(check_output(output), write)
