"""``python -m course_lib.methods.own_images``: chapter 08's recipe on your own folder, from the shell.

::

    python -m course_lib.methods.own_images check FOLDER            what training would use and skip
    python -m course_lib.methods.own_images train FOLDER [options]   two stages; writes model, report, figures
    python -m course_lib.methods.own_images bench FOLDER             the input pipeline's images per second
    python -m course_lib.methods.own_images fetch-weights            ImageNet weights into Keras's cache

One GPU needs nothing more (``train`` uses it, with mixed precision). Several GPUs of one
machine: ``--strategy mirrored``. Several machines: start the same command on each with
``--strategy multiworker`` and its own ``TF_CONFIG`` (see ``distribution``); worker 0 writes
the outputs. ``--cpu-devices 2`` splits a CPU into two devices, to try ``mirrored`` without GPUs.

Bad input (a missing or empty folder, a single class, too few readable images, an output
folder that exists) stops with a message and exit code 2 before anything is written.
"""

import argparse
import sys
import time
from pathlib import Path

from course_lib.core import checks
from course_lib.methods.own_images.backbone import BACKBONES, DEFAULT_BACKBONE
from course_lib.methods.own_images.train import Settings

#: Exit codes: bad input (nothing written), and a weights fetch that failed.
BAD_INPUT, FETCH_FAILED = 2, 1
BENCH_PASSES = 3
DEFAULT_FETCH_TIMEOUT = 30.0


def parser():
    """The command line's ``argparse`` parser."""
    defaults = Settings()
    top = argparse.ArgumentParser(prog="python -m course_lib.methods.own_images",
                                  description="Transfer learning on a folder of your own images "
                                              "(chapter 08 of Transfer Learning, Hands-On).")
    commands = top.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="check a folder: what training would use, and what it skips")
    check.add_argument("folder", type=Path, help="one sub-folder per class, e.g. photos/cats/*.jpg")

    train = commands.add_parser("train", help="train the two-stage recipe on a folder, write model and report")
    train.add_argument("folder", type=Path, help="one sub-folder per class, e.g. photos/cats/*.jpg")
    train.add_argument("--output", type=Path, help="a new folder for the model, report and figures "
                                                    "(default: trained-FOLDERNAME here; must not exist)")
    train.add_argument("--backbone", default=defaults.backbone, choices=list(BACKBONES))
    train.add_argument("--image-size", type=int, default=defaults.image_size, help="side in pixels, 32-512")
    train.add_argument("--head-epochs", type=int, default=defaults.head_epochs, help="stage 1: head only")
    train.add_argument("--fine-epochs", type=int, default=defaults.fine_epochs,
                       help="stage 2: the top blocks too (0 skips it)")
    train.add_argument("--top-blocks", type=int, default=defaults.top_blocks, help="blocks unfrozen in stage 2")
    train.add_argument("--batch-size", type=int, default=defaults.batch_size,
                       help="images per replica per step: the global batch is this times the replicas, "
                            "and the learning rates grow in proportion to the global batch")
    train.add_argument("--validation-share", type=float, default=defaults.validation_share,
                       help="held out to choose epochs: this share of the smallest class, from every class")
    train.add_argument("--test-share", type=float, default=defaults.test_share,
                       help="held out for the final numbers, the same way")
    train.add_argument("--seed", type=int, default=defaults.seed,
                       help="the split, the initialisation, the order")
    train.add_argument("--cache", default=defaults.cache, choices=["auto", "memory", "disk"],
                       help="where decoded images are kept (auto: memory if they fit in 512 MB)")
    train.add_argument("--no-augment", action="store_true", help="no random flips, rotations, zooms")
    train.add_argument("--dropout", type=float, default=defaults.dropout, help="dropout before the head")
    train.add_argument("--offline", action="store_true", help="do not try to download ImageNet weights")
    train.add_argument("--random-init", action="store_true",
                       help="start from random weights even if ImageNet weights are at hand (not transfer)")
    train.add_argument("--strategy", default="default", choices=["default", "mirrored", "multiworker"],
                       help="default: one device; mirrored: every GPU here; multiworker: several "
                            "machines, each started with its TF_CONFIG")
    train.add_argument("--cpu-devices", type=int, help="split the CPU into this many devices (to try "
                                                       "--strategy mirrored without GPUs)")
    train.add_argument("--threads", type=int, help="TensorFlow threads (default: every CPU available)")

    bench = commands.add_parser("bench", help="measure the input pipeline's images per second")
    bench.add_argument("folder", type=Path)
    bench.add_argument("--image-size", type=int, default=defaults.image_size)
    bench.add_argument("--batch-size", type=int, default=defaults.batch_size)
    bench.add_argument("--cache", default="memory", choices=["memory", "disk"])
    bench.add_argument("--passes", type=int, default=BENCH_PASSES, help="reads of the whole folder")

    fetch = commands.add_parser("fetch-weights", help="download ImageNet weights into Keras's cache "
                                                      "(checked against their published hash)")
    fetch.add_argument("--backbone", nargs="+", default=[DEFAULT_BACKBONE], choices=list(BACKBONES))
    fetch.add_argument("--timeout", type=float, default=DEFAULT_FETCH_TIMEOUT,
                       help="seconds to wait for the server")
    top.commands = {"check": check, "train": train, "bench": bench, "fetch-weights": fetch}
    return top


def command_help(name):
    """The help text of one command, e.g. ``command_help("train")``."""
    commands = parser().commands
    checks.choice(name, "command", tuple(commands))
    return commands[name].format_help()


def _settings(args):
    return Settings(backbone=args.backbone, image_size=args.image_size, head_epochs=args.head_epochs,
                    fine_epochs=args.fine_epochs, top_blocks=args.top_blocks, batch_size=args.batch_size,
                    validation_share=args.validation_share, test_share=args.test_share,
                    augment=not args.no_augment, dropout=args.dropout, cache=args.cache,
                    download=not args.offline, pretrained=not args.random_init,
                    seed=args.seed).checked()


def _start_tensorflow(args):
    """Devices, threads, seeds and the strategy, in the order TensorFlow needs them."""
    import course_lib
    from course_lib.core.resources import available_cpus
    from course_lib.methods.own_images import distribution

    if args.cpu_devices is not None:
        distribution.configure_cpu_devices(args.cpu_devices)
    course_lib.setup(args.seed, threads=available_cpus() if args.threads is None else args.threads)
    return distribution.make_strategy(args.strategy)


def _counts(args, *options):
    """Check the whole-number ``options`` given (``None``: not given); 0 is refused, not read as "not given"."""
    for option in options:
        value = getattr(args, option.replace("-", "_"))
        if value is not None:
            checks.whole_number(value, f"--{option}")


def _bad_input(error):
    print(f"error: {error}", file=sys.stderr)
    return BAD_INPUT


def train(args):
    from course_lib.methods.own_images.outputs import check_output
    from course_lib.methods.own_images.train import prepare, train_plan

    start = time.perf_counter()
    try:
        _counts(args, "threads", "cpu-devices")
        settings = _settings(args)
        output = check_output(args.output or Path(f"trained-{args.folder.resolve().name}"))
        strategy = _start_tensorflow(args)
        plan = prepare(args.folder, output, settings)
    except (ValueError, RuntimeError) as error:  # bad input: nothing was written
        return _bad_input(error)
    print(f"{plan.report.text()}\n{plan.weights.message}", flush=True)
    run = train_plan(plan, strategy)
    print(f"test accuracy: head only {run.head_only.accuracy:.3f}, two stages {run.final.accuracy:.3f} "
          f"(chance {1 / len(run.class_names):.3f}); {run.distributed['replicas']} replica(s), "
          f"{time.perf_counter() - start:.0f} s")
    print(f"wrote {run.output} (model.keras, report.md, figures)" if run.output else
          "this worker is not the chief: the chief (worker 0) writes the outputs")
    return 0


def check(args):
    from course_lib.methods.own_images.folder import check_folder

    try:
        print(check_folder(args.folder).text())
    except ValueError as error:
        return _bad_input(error)
    return 0


def bench(args):
    import course_lib
    from course_lib.core.resources import available_cpus
    from course_lib.methods.own_images import pipeline
    from course_lib.methods.own_images.folder import check_folder
    from course_lib.methods.own_images.train import scratch_folder

    try:
        _counts(args, "passes", "batch-size")
        pipeline.check_image_size(args.image_size)
        course_lib.setup(threads=available_cpus())
        start = time.perf_counter()
        report = check_folder(args.folder)
    except ValueError as error:
        return _bad_input(error)
    paths, labels = report.files_and_labels()
    print(f"check: {len(paths)} images decoded in {time.perf_counter() - start:.1f} s "
          f"({len(paths) / (time.perf_counter() - start):.0f} images/s)")
    with scratch_folder() as scratch:
        data = pipeline.dataset(pipeline.Split(paths, labels), args.image_size, args.batch_size, training=True,
                                cache_file="" if args.cache == "memory" else f"{scratch}/bench")
        for i, rate in enumerate(pipeline.images_per_second(data, args.passes), 1):
            print(f"pass {i} ({'decode, fill the cache' if i == 1 else 'from the cache'}): {rate:.0f} images/s")
    return 0


def fetch_weights(args):
    from course_lib.methods.own_images.weights import fetch

    return 0 if fetch(args.backbone, args.timeout) else FETCH_FAILED


COMMANDS = {"check": check, "train": train, "bench": bench, "fetch-weights": fetch_weights}


def main(argv=None):
    """Run the command line; returns the exit code."""
    args = parser().parse_args(argv)
    return COMMANDS[args.command](args)
