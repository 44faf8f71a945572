"""classroom/: the deployment files pass the tools' own schemas and carry the measured numbers; the link.

The schemas are the upstream projects' own (classroom/upstream/README.md says from where):
Helm validates a release's values, its chart's defaults merged under the user's, against the
chart's values.schema.json; ``tljh-config set`` validates TLJH's config after each change.
"""

import json
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import jsonschema
import pytest
import yaml

from course_lib.tools import classroom

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = ROOT / "classroom"
UPSTREAM = DEPLOYMENT / "upstream"


def _values():
    return yaml.safe_load((DEPLOYMENT / "values.yaml").read_text())


def _helm_merge(defaults, values):
    """Helm's merge of a chart's defaults and the user's values: maps merge, a null deletes."""
    merged = dict(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _tljh_config_sets():
    """``[(key, value)]`` of tljh.sh's ``tljh-config set`` lines, values parsed as tljh-config does."""
    found = re.findall(r"tljh-config set (\S+) (\S+)", (DEPLOYMENT / "tljh.sh").read_text())

    def parse_value(text):  # tljh/config.py's parse_value (TLJH 2.0.0)
        if re.match(r"^\d+$", text):
            return int(text)
        if re.match(r"^\d+\.\d*$", text):
            return float(text)
        return {"true": True, "false": False}.get(text.lower(), text)

    return [(key, parse_value(value)) for key, value in found]


def test_values_yaml_passes_the_charts_values_schema():
    schema = json.loads((UPSTREAM / "z2jh-values.schema.json").read_text())
    defaults = yaml.safe_load((UPSTREAM / "z2jh-values.yaml").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    merged = _helm_merge(defaults, _values())
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(merged)]
    assert not errors, errors


def test_the_schema_check_catches_a_wrong_key():
    schema = json.loads((UPSTREAM / "z2jh-values.schema.json").read_text())
    defaults = yaml.safe_load((UPSTREAM / "z2jh-values.yaml").read_text())
    wrong = _helm_merge(_values(), {"singleuser": {"memory": {"guarantee": "1G", "limmit": "2G"}}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_helm_merge(defaults, wrong), schema)


def test_values_yaml_gives_each_learner_what_the_walk_measured():
    values = _values()["singleuser"]
    wanted = classroom.resources(classroom.load("benchmark")).kubernetes()
    assert {"memory": values["memory"], "cpu": values["cpu"]} == wanted, (
        "classroom/values.yaml's singleuser memory/cpu differ from `python -m course_lib.tools.classroom resources`")


def test_resources_follow_the_walk():
    benchmark = classroom.load("benchmark")
    walk = benchmark["walk"]
    found = classroom.resources(benchmark)
    assert found.memory_limit_mib >= classroom.mib(walk["summary"]["session_peak_rss_mb"])
    assert found.memory_guarantee_mib >= classroom.mib(walk["summary"]["largest_kernel_mb"])
    assert found.memory_guarantee_mib <= found.memory_limit_mib
    assert found.memory_limit_mib % classroom.MEMORY_STEP_MIB == 0
    budget = walk["budget"]["run_all_seconds"]  # per chapter
    assert all(found.cpu_guarantee * budget[row["notebook"]] >= row["run_all_seconds"] for row in walk["chapters"])


def test_tljh_commands_use_tljh_config_keys_and_the_measured_limits():
    schema = json.loads((UPSTREAM / "tljh-config.schema.json").read_text())
    sets = _tljh_config_sets()
    config = {}
    for key, value in sets:
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    jsonschema.validate(config, schema)
    # The schema lets unknown top-level keys through: each one we set must be one TLJH defines.
    assert {key.split(".")[0] for key, _ in sets} <= set(schema["properties"])
    wanted = classroom.resources(classroom.load("benchmark")).tljh()
    assert {key: value for key, value in sets if key in wanted} == wanted


def test_link_opens_the_chapter_in_the_learners_copy():
    link = classroom.classroom_link("https://hub.example.edu/", "02_task_fine_tuning")
    base, query = link.split("?")
    assert base == "https://hub.example.edu/hub/user-redirect/git-pull"
    fields = dict(urllib.parse.parse_qsl(query))
    assert fields["repo"].endswith("/course") and fields["branch"] == "main"
    assert fields["urlpath"] == f"lab/tree/{fields['targetpath']}/chapters/02_task_fine_tuning.ipynb"
    assert (ROOT / "chapters" / "02_task_fine_tuning.ipynb").exists()


@pytest.mark.parametrize("hub, chapter, says", [
    ("https://hub.example.edu", "08_nothing", "unknown chapter '08_nothing'; the chapters are: 00_welcome, "),
    ("hub.example.edu", "00_welcome", "--hub must be the hub's address"),
])
def test_link_refuses_bad_input_in_one_line(hub, chapter, says):
    answer = subprocess.run([sys.executable, "-m", "course_lib.tools.classroom", "link", "--hub", hub,
                             "--chapter", chapter], capture_output=True, text=True, cwd=ROOT)
    assert answer.returncode != 0 and says in answer.stderr
    assert len(answer.stderr.strip().splitlines()) == 1 and len(answer.stderr) < 400


def test_learners_per_server_is_the_tighter_of_memory_and_cpu():
    assert classroom.learners_per_server(cores=4, gib=16, per_learner_mib=1500, per_learner_cpu=0.5) == 8
    assert classroom.learners_per_server(cores=64, gib=16, per_learner_mib=1500, per_learner_cpu=0.5) == 10
    assert classroom.learners_per_server(cores=1, gib=1, per_learner_mib=1500, per_learner_cpu=0.5) == 0


def test_a_class_the_machine_cannot_hold_is_refused_with_the_most_it_can():
    from course_lib.tools.classroom_load import memory_problem

    assert memory_problem(2, "00_welcome", available_mb=20_000) is None
    message = memory_problem(40, "00_welcome", available_mb=20_000)
    assert message.startswith("40 learners running 00_welcome need about")
    each, hub = (int(re.search(pattern, message)[1].replace(",", ""))
                 for pattern in (r"\(([\d,]+) MB each", r"plus ([\d,]+) MB for the Hub"))
    most = int(re.search(r"use --learners (\d+) or fewer", message)[1])
    assert most * each + hub <= 20_000 < (most + 1) * each + hub  # the most the machine holds
    assert len(message) < 300


def test_a_missing_proxy_without_npm_gets_one_clear_line(monkeypatch, tmp_path):
    from course_lib.tools import classroom_load

    monkeypatch.setattr(classroom_load, "PROXY", tmp_path / "configurable-http-proxy")
    monkeypatch.setattr(classroom_load.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit) as stop:
        classroom_load.ensure_proxy()
    assert "configurable-http-proxy" in str(stop.value) and "npm" in str(stop.value)
    assert "\n" not in str(stop.value) and len(str(stop.value)) < 300


def test_the_instructors_guide_has_the_plan_of_the_committed_results():
    plan = classroom.plan(classroom.load("benchmark"), classroom.load("classroom"))
    assert plan in (ROOT / "site" / "teachers.md").read_text(), (
        "site/teachers.md's 'A class on JupyterHub' tables differ from `python -m course_lib.tools.classroom plan`")


def test_the_committed_class_lost_no_edit():
    summary = classroom.load("classroom")["summary"]
    assert summary["edits_lost"] == 0 and summary["failures"] == [] and summary["learners"] >= 2


@pytest.mark.slow
def test_a_class_of_two_learners_runs_a_chapter_at_once_and_loses_no_edit(tmp_path):
    """``python3 make.py classroom --learners 2``: a real JupyterHub, two learners (one in Chromium)."""
    from course_lib.tools import browser, classroom_load

    if browser.find_chromium() is None:
        pytest.skip(browser.CHROMIUM_HELP)
    subprocess.run([sys.executable, "-m", "course_lib.tools.warm"], check=True, stdout=subprocess.DEVNULL)
    classroom_load.main(["--learners", "2", "--json", str(tmp_path / "classroom.json")])
    summary = json.loads((tmp_path / "classroom.json").read_text())["summary"]
    assert summary["failures"] == [] and summary["edits_lost"] == 0
