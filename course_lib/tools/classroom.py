"""The course for a class on JupyterHub: resources from the measured walk, the nbgitpuller link, the plan.

``python -m course_lib.tools.classroom link --hub URL [--chapter NN_name]``
    prints the link a teacher sends: it puts the course into each learner's home
    (nbgitpuller: a clone the first time, a merge that keeps the learner's edits later)
    and opens the chapter there.
``python -m course_lib.tools.classroom resources``
    prints what one learner's server gets (``classroom/values.yaml`` and
    ``classroom/tljh.sh`` hold these numbers; tests/test_classroom.py compares them).
``python -m course_lib.tools.classroom plan``
    prints the instructor's-guide tables: learners per server, nodes per class size.

Every number comes from ``course_lib/results/benchmark.json`` (the walk: one JupyterLab
session, every chapter in turn, on one CPU, with the kernel policy) and, for the Hub's own
memory, ``course_lib/results/classroom.json`` (``python3 make.py classroom --save``). Those files
count memory in decimal MB (``course_lib.core.resources.MB``); what a server gets is in MiB,
written ``"<n>M"`` as JupyterHub reads it (KubeSpawner and TLJH: M = 2**20 bytes), and the
planning tables use MiB and GiB too.
"""

import argparse
import json
import math
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from course_lib.core.resources import MB
from course_lib.publishing import BRANCH, REPOSITORY

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "chapters"
RESULTS = ROOT / "course_lib" / "results"
#: Memory is granted in steps of this many MiB (rounded up).
MEMORY_STEP_MIB = 256
#: Above the walk's session peak, the limit keeps this share for what the walk did not do
#: (a learner's own cells, a second run of a chapter).
MEMORY_HEADROOM = 0.10
#: Kept free on every server or node for the operating system, the kubelet and the like (MiB).
SYSTEM_RESERVE_MIB = 1024
#: The class sizes the instructor's guide plans for, and the node shapes it offers (cores, GiB).
CLASS_SIZES = (30, 100, 300)
NODE_SHAPES = ((8, 32), (16, 64))


def load(name):
    """``course_lib/results/NAME.json`` as a dict."""
    return json.loads((RESULTS / f"{name}.json").read_text())


def chapter_names():
    """The chapters' notebook names, e.g. ``["00_welcome", ...]``, in course order."""
    return sorted(path.stem for path in CHAPTERS.glob("*.ipynb"))


def mib(mb):
    """Decimal megabytes (the results files') in MiB."""
    return mb * MB / 2**20


def _round_up(mib):
    return MEMORY_STEP_MIB * math.ceil(mib / MEMORY_STEP_MIB)


@dataclass(frozen=True)
class Resources:
    """What one learner's server gets. Memory in MiB, CPU in cores."""

    memory_guarantee_mib: int
    memory_limit_mib: int
    cpu_guarantee: float
    cpu_limit: float

    def kubernetes(self):
        """``singleuser.memory`` and ``singleuser.cpu`` of the Zero to JupyterHub chart."""
        return {"memory": {"guarantee": f"{self.memory_guarantee_mib}M", "limit": f"{self.memory_limit_mib}M"},
                "cpu": {"guarantee": self.cpu_guarantee, "limit": self.cpu_limit}}

    def tljh(self):
        """TLJH's ``tljh-config set`` keys and values (TLJH has limits only, no guarantees)."""
        return {"limits.memory": f"{self.memory_limit_mib}M", "limits.cpu": self.cpu_limit}


def resources(benchmark):
    """One learner's :class:`Resources`, from ``benchmark`` (``benchmark.json`` as a dict).

    - memory guarantee: the Jupyter server at start plus the largest kernel of any
      chapter (the kernel policy keeps one chapter in memory at a time), rounded up;
    - memory limit: the whole session's peak over the walk (server and every kernel,
      summed RSS) plus ``MEMORY_HEADROOM``, rounded up;
    - CPU guarantee: the share of one CPU with which every chapter's Run All still ends
      within its own time budget (the walk ran on one CPU), rounded up to 0.1;
    - CPU limit: the CPUs the walk ran on (the course runs TensorFlow on one thread).
    """
    walk = benchmark["walk"]
    summary = walk["summary"]
    guarantee = mib(walk["server_start"]["rss_mb"] + summary["largest_kernel_mb"])
    limit = mib(summary["session_peak_rss_mb"]) * (1 + MEMORY_HEADROOM)
    budget = walk["budget"]["run_all_seconds"]  # per chapter: {notebook: seconds}
    share = max(row["run_all_seconds"] / budget[row["notebook"]] for row in walk["chapters"])
    return Resources(memory_guarantee_mib=_round_up(guarantee), memory_limit_mib=_round_up(limit),
                     cpu_guarantee=math.ceil(share * 10) / 10, cpu_limit=float(walk["machine"]["cpus_used"]))


def classroom_link(hub, chapter="00_welcome", repository=f"https://github.com/{REPOSITORY}", branch=BRANCH):
    """The nbgitpuller link that opens ``chapter`` in the learner's own copy of the course.

    Args:
        hub: the JupyterHub's address, e.g. ``https://hub.example.edu`` (a path prefix is kept).
        chapter: a chapter's notebook name, e.g. ``"00_welcome"``.
        repository: the git repository the course is pulled from.
        branch: its branch.

    Raises:
        ValueError: for an unknown chapter or a hub address that is not http(s).
    """
    names = chapter_names()
    if chapter not in names:
        raise ValueError(f"unknown chapter {chapter!r}; the chapters are: {', '.join(names)}")
    parsed = urllib.parse.urlparse(hub)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"--hub must be the hub's address, like https://hub.example.edu; got {hub!r}")
    # nbgitpuller's default folder: the repository's last path component.
    folder = repository.rstrip("/").split("/")[-1]
    query = urllib.parse.urlencode({"repo": repository, "branch": branch, "targetpath": folder,
                                    "urlpath": f"lab/tree/{folder}/chapters/{chapter}.ipynb"})
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def learner_mib(chapter, benchmark):
    """MiB one learner holds running ``chapter`` alone: the server at start plus the chapter's kernel."""
    return mib(benchmark["walk"]["server_start"]["rss_mb"] + benchmark["chapters"][chapter]["peak_mb"])


def learner_cpu(chapter, benchmark):
    """The share of a CPU with which ``chapter``'s Run All ends within the budget, every learner at once."""
    return benchmark["chapters"][chapter]["seconds_1cpu"] / benchmark["walk"]["budget"]["run_all_seconds"][chapter]


def learners_per_server(cores, gib, per_learner_mib, per_learner_cpu, hub_mib=0):
    """How many learners a server of ``cores`` CPUs and ``gib`` GiB holds (the tighter of memory and CPU)."""
    memory = (gib * 1024 - SYSTEM_RESERVE_MIB - hub_mib) // per_learner_mib
    cpu = cores // per_learner_cpu
    return int(max(0, min(memory, cpu)))


def nodes_needed(learners, cores, gib, guaranteed):
    """Kubernetes nodes of ``cores`` CPUs and ``gib`` GiB that schedule ``learners`` servers at ``guaranteed``."""
    per_node = learners_per_server(cores, gib, guaranteed.memory_guarantee_mib, guaranteed.cpu_guarantee)
    return math.ceil(learners / per_node), per_node


def plan(benchmark, measured, servers=((4, 16), (8, 32), (16, 64))):
    """The instructor's guide's tables as Markdown, from the walk and ``measured`` (``classroom.json``)."""
    hub = mib(measured["hub"]["peak_rss_mb"])
    rest = max(mib(learner["rest_rss_mb"]) for learner in measured["learners"])
    summary, machine = measured["summary"], measured["made"]["machine"]
    walk_alone = learner_mib(measured["chapter"], benchmark)
    # A server under load held more than the walk's figure: scale every chapter's by as much.
    scale = max(1.0, mib(summary["max_peak_rss_mb"]) / walk_alone)
    lines = [f"Measured with `python3 make.py classroom --learners {summary['learners']}` on a machine with "
             f"{machine['cpus']} cores: {summary['learners']} learners ({summary['in_chromium']} in JupyterLab in "
             f"Chromium, the others through the Jupyter server API) ran {measured['chapter']} at once in "
             f"{summary['chapter_wall_seconds']} s; each saw the first output after at most "
             f"{summary['max_first_output_seconds']} s; each server with its kernel peaked at "
             f"{mib(summary['max_peak_rss_mb']):.0f} MiB "
             f"(the walk alone: {walk_alone:.0f}); "
             f"the Hub held {hub:.0f} MiB and its proxy {mib(measured['hub']['proxy_peak_rss_mb']):.0f} MiB; "
             f"failures: {len(summary['failures'])}; edits lost: {summary['edits_lost']}.", "",
             "Learners one server holds when all of them run the same chapter at once, the Hub "
             f"({hub:.0f} MiB measured) on the same server, {SYSTEM_RESERVE_MIB} MiB left to the system; "
             f"memory per learner: the walk's figure for the chapter times {scale:.2f}, what the class above "
             "held over the walk's figure (computed, not measured):", "",
             "| chapter | MiB per learner | CPU per learner | "
             + " | ".join(f"{c} cores / {g} GiB" for c, g in servers) + " |",
             "|---|---|---|" + "---|" * len(servers)]
    for chapter in benchmark["chapters"]:
        memory, cpu = scale * learner_mib(chapter, benchmark), learner_cpu(chapter, benchmark)
        held = [learners_per_server(c, g, memory, cpu, hub) for c, g in servers]
        lines.append(f"| {chapter} | {memory:.0f} | {cpu:.2f} | " + " | ".join(map(str, held)) + " |")
    guaranteed = resources(benchmark)
    lines += ["", f"The idle culler frees what a finished learner's server holds: up to {rest:.0f} MiB each "
              f"after {measured['chapter']} (measured), and the {guaranteed.memory_guarantee_mib} MiB its "
              "guarantee keeps reserved on a Kubernetes node.", "",
              f"Kubernetes nodes for a class, each learner guaranteed {guaranteed.memory_guarantee_mib} MiB "
              f"and {guaranteed.cpu_guarantee} CPU (classroom/values.yaml), {SYSTEM_RESERVE_MIB} MiB per node "
              "left to the system; the Hub and proxy on one more small node (computed, not measured):", "",
              "| learners | " + " | ".join(f"nodes of {c} cores / {g} GiB" for c, g in NODE_SHAPES) + " |",
              "|---|" + "---|" * len(NODE_SHAPES)]
    for learners in CLASS_SIZES:
        cells = []
        for cores, gib in NODE_SHAPES:
            count, per_node = nodes_needed(learners, cores, gib, guaranteed)
            cells.append(f"{count} ({per_node} learners each)")
        lines.append(f"| {learners} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.classroom", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    link = commands.add_parser("link", help="print the nbgitpuller link a teacher sends")
    link.add_argument("--hub", required=True, help="the hub's address, e.g. https://hub.example.edu")
    link.add_argument("--chapter", default="00_welcome", help="the chapter to open (default: 00_welcome)")
    link.add_argument("--repository", default=f"https://github.com/{REPOSITORY}", help="the course's git repository")
    link.add_argument("--branch", default=BRANCH, help="its branch")
    commands.add_parser("resources", help="print one learner's memory and CPU (values.yaml, tljh.sh)")
    commands.add_parser("plan", help="print the instructor's guide's planning tables")
    args = parser.parse_args(argv)
    benchmark = load("benchmark")
    if args.command == "link":
        try:
            print(classroom_link(args.hub, args.chapter, args.repository, args.branch))
        except ValueError as error:
            sys.exit(f"error: {error}")
    elif args.command == "resources":
        print(json.dumps({"kubernetes": resources(benchmark).kubernetes(), "tljh": resources(benchmark).tljh()},
                         indent=1))
    else:
        print(plan(benchmark, load("classroom")))


if __name__ == "__main__":
    main()
