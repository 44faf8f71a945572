"""``python -m course_lib.experiments NAME [--seeds 0 1 2] [--json FILE]``."""

import argparse
import json
import sys

from course_lib import experiments


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.experiments",
        description="Run one of the course's experiments over several seeds.",
    )
    parser.add_argument("name", choices=sorted(experiments.EXPERIMENTS), help="the experiment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default: 0)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)

    print(f"{args.name}: {experiments.get(args.name).DESCRIPTION}", flush=True)

    def on_seed(seed, measured):
        values = ", ".join(f"{arm} {m.value:.3f}" for arm, m in measured.items())
        print(f"  seed {seed}: {values}", flush=True)

    report = experiments.run(args.name, args.seeds, on_seed=on_seed)
    print()
    print(experiments.format_table(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
