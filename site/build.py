"""Build the course's website and slide decks, offline. ``make.py`` runs it in the course's .venv.

    python site/build.py site [--fresh]     the website in site/_build/html (with the decks)
    python site/build.py slides [--fresh]   only the decks, in site/_build/html/slides
    python site/build.py site --executed DIR   from the chapters the learner's walk executed

Both first execute every chapter that the execution cache does not hold yet (one execution
per chapter, shared by the pages and the decks); with ``--executed`` they execute nothing and
take the walk's executions instead (what ``python3 make.py test`` does). The website also needs the results files
that the instructor's guide quotes: missing ones are generated with the experiment
registry (``python -m course_lib.experiments NAME --seeds 0 1 2 --json FILE``).
``--fresh`` empties site/_build first: every chapter and experiment runs again.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import notebooks
import slides
from layout import (BUILD, CHAPTERS, DOCTREES, EXECUTION_CACHE, HTML, RESULTS_DIRS, RESULTS_SEEDS, ROOT,
                    SITE, SLIDES)

# How the guide's pages quote results: {result}`experiment/arm` and ```{results-table} experiment
QUOTED = re.compile(r"\{result\}`([^/`]+)/|\{results-table\}\s+(\S+)")


class Phases:
    """Wall-clock seconds of each phase, printed at the end and kept in site/_build/timings.json."""

    def __init__(self):
        self.seconds = {}

    def run(self, name, function, *args):
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        result = function(*args)
        self.seconds[name] = round(time.perf_counter() - start, 1)
        return result

    def report(self, extra):
        total = sum(self.seconds.values())
        print("\n== time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in self.seconds.items())
              + f"; total {total:.0f}")
        BUILD.mkdir(parents=True, exist_ok=True)
        (BUILD / "timings.json").write_text(json.dumps({**self.seconds, **extra}, indent=2))


def quoted_experiments():
    """Experiments whose results the site's pages quote, in order of first mention."""
    names = []
    for page in sorted(SITE.rglob("*.md")):
        if BUILD in page.parents:
            continue
        for match in QUOTED.finditer(page.read_text(encoding="utf-8")):
            name = match.group(1) or match.group(2)
            if name not in names:
                names.append(name)
    return names


def results_file(name):
    """The results file for experiment ``name``, or None."""
    for folder in RESULTS_DIRS:
        if (folder / f"{name}.json").exists():
            return folder / f"{name}.json"
    return None


def write_results():
    """Generate each quoted experiment's missing results file; ``{experiment: seconds}``."""
    generated = {}
    folder = RESULTS_DIRS[-1]
    folder.mkdir(parents=True, exist_ok=True)
    for name in quoted_experiments():
        found = results_file(name)
        if found:
            print(f"  {name}: {found.relative_to(ROOT)}", flush=True)
            continue
        target = folder / f"{name}.json"
        print(f"  {name}: running over seeds {', '.join(map(str, RESULTS_SEEDS))} ...", flush=True)
        start = time.perf_counter()
        partial = target.with_suffix(".json.tmp")
        command = [sys.executable, "-m", "course_lib.experiments", name,
                   "--seeds", *map(str, RESULTS_SEEDS), "--json", str(partial)]
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            sys.exit(f"the experiment {name} failed (exit {done.returncode}); run "
                     f"`{' '.join(command[1:])}` to see why")
        partial.replace(target)  # never a half-written results file
        generated[name] = round(time.perf_counter() - start, 1)
        print(f"  {name}: {target.relative_to(ROOT)} in {generated[name]:.0f} s", flush=True)
    return generated


def build_slides():
    SLIDES.mkdir(parents=True, exist_ok=True)
    slides.copy_assets(SLIDES)
    for path in CHAPTERS:
        deck = slides.write_deck(notebooks.executed(path), path, SLIDES)
        print(f"  {deck.relative_to(ROOT)}", flush=True)


def build_pages():
    from sphinx.cmd.build import build_main

    # -W: a warning (a broken link, a missing results file, stderr in an output) fails the build.
    code = build_main(["-b", "html", "-c", str(SITE), "-d", str(DOCTREES), "-W", "--keep-going",
                       "-j", "1", str(ROOT), str(HTML)])
    if code != 0:
        sys.exit(f"Sphinx failed (exit {code}); the messages above say where")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="site/build.py", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["site", "slides"])
    parser.add_argument("--fresh", action="store_true",
                        help="empty site/_build first: execute every chapter, rerun every experiment")
    parser.add_argument("--executed", type=Path, metavar="DIR",
                        help="take the chapters executed by the learner's walk from DIR instead of executing them")
    args = parser.parse_args(argv)
    if args.fresh and BUILD.exists():
        shutil.rmtree(BUILD)
    # Outputs and results depend on course_lib, which the execution cache cannot see.
    notebooks.forget_stale([EXECUTION_CACHE, RESULTS_DIRS[-1]])
    phases = Phases()
    try:
        if args.executed:
            executed = phases.run("the walk's executions", notebooks.import_executed, args.executed)
        else:
            executed = phases.run("execute the chapters", notebooks.execute)
    except (notebooks.ExecutionFailed, LookupError) as error:
        sys.exit(str(error))
    generated = phases.run("results files", write_results) if args.what == "site" else {}
    phases.run("slide decks", build_slides)
    if args.what == "site":
        phases.run("pages (Sphinx)", build_pages)
    phases.report({"chapters": executed, "experiments": generated})
    where = HTML / "README.html" if args.what == "site" else SLIDES
    print(f"\nbuilt: {where.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
