"""The CI workflows in .github/ are valid, safe, and match the book's chapters."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import CHAPTERS, ROOT
from deepinside.book import colab
from deepinside.book.build import affected_chapters

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def lint(*paths: Path) -> subprocess.CompletedProcess:
    """Validate workflows against the GitHub Actions schema (check-jsonschema, offline)."""
    return subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
    )


def test_there_are_a_pull_request_and_a_publish_workflow():
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "publish.yml"}


def test_workflows_follow_the_github_actions_schema():
    result = lint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps: run this\n")
    assert lint(broken).returncode != 0


def test_workflows_pass_the_security_linter():
    result = subprocess.run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--config",
            str(ROOT / ".github" / "zizmor.yml"),
            str(ROOT / ".github" / "workflows"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def step_index(steps: list[dict], *words: str) -> int:
    """The index of the first step whose command contains every one of ``words``."""
    found = [i for i, s in enumerate(steps) if all(w in s.get("run", "") for w in words)]
    assert found, f"no step runs {words}"
    return found[0]


def test_pull_requests_run_the_affected_chapters_quickly_on_cpu():
    steps = load("pull-request.yml")["jobs"]["quick"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "cuda" not in runs.lower()
    affected = step_index(steps, "deepinside.book.build", "--changed-since", "--no-html")
    assert "--profile quick" in steps[affected]["run"]
    assert step_index(steps, "pytest -m chapters") > affected


def test_pull_requests_dry_run_the_full_profile_before_the_checks_that_read_it():
    steps = load("pull-request.yml")["jobs"]["quick"]["steps"]
    assert step_index(steps, "make dryrun") < step_index(steps, "pytest -m chapters")
    cached = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert "_build/standin" in cached[0]["with"]["path"]


def test_pull_requests_build_the_html_and_open_every_page():
    """A broken page fails the pull request: after the affected chapters, the rest of the book is
    brought up to date (the HTML needs every chapter), the site built and opened in a browser."""
    steps = load("pull-request.yml")["jobs"]["quick"]["steps"]
    affected = step_index(steps, "--changed-since")
    html = step_index(steps, "deepinside.book.build --profile quick")
    while "--no-html" in steps[html]["run"] or "--changed-since" in steps[html]["run"]:
        html = step_index(steps[html + 1 :], "deepinside.book.build --profile quick") + html + 1
    site = step_index(steps, "tests/test_site.py")
    assert affected < html < site and step_index(steps, "pytest -m chapters") > html
    assert "DEEPINSIDE_REQUIRE_BROWSER=1" in steps[site]["run"]
    assert "DEEPINSIDE_SKIP_UNEXECUTED" not in " ".join(s.get("run", "") for s in steps)
    cached = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    assert cached and "_build/stage" in cached[0]["with"]["path"]
    assert steps.index(cached[0]) < affected, "earlier stages are restored before executing"


def setup_python_steps() -> list[tuple[str, dict]]:
    return [
        (f"{name}:{job_name}", step)
        for name in ("pull-request.yml", "publish.yml")
        for job_name, job in load(name)["jobs"].items()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("actions/setup-python@")
    ]


def test_pip_downloads_are_cached_by_the_lock_and_pyproject():
    steps = setup_python_steps()
    assert len(steps) >= 4
    for where, step in steps:
        options = step["with"]
        assert options.get("cache") == "pip", where
        paths = options["cache-dependency-path"].split()
        assert {"requirements-universal.txt", "pyproject.toml"} <= set(paths), where
        assert all((ROOT / p).exists() for p in paths), where


def test_the_reference_jobs_run_the_reference_python():
    reference = re.search(r"^REFERENCE_PYTHON := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    minor = ".".join(reference.group(1).split(".")[:2])
    for where, step in setup_python_steps():
        if "platforms" not in where:
            assert step["with"]["python-version"] == minor, where


def test_pull_requests_install_and_unit_test_every_supported_platform():
    job = load("pull-request.yml")["jobs"]["platforms"]
    matrix = job["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest"}
    assert set(matrix["python"]) == {"3.10", "3.12"}  # 3.11 on Linux: the job `quick`
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert "make env" in runs and 'pytest -m "not chapters"' in runs
    readme = (ROOT / "README.md").read_text()
    assert "macOS" in readme and "3.10" in readme and "3.12" in readme


def test_gpu_jobs_start_only_where_a_gpu_runner_is_configured_and_time_out():
    workflow = load("publish.yml")
    jobs = workflow["jobs"]
    gpu = [name for name, job in jobs.items() if "gpu" in job["runs-on"]]
    assert gpu == ["execute"]
    for name in gpu:
        assert "gpu-runner" in jobs[name]["needs"] and jobs[name]["timeout-minutes"] <= 360
    guard = jobs["gpu-runner"]
    assert guard["runs-on"] == "ubuntu-latest" and guard["timeout-minutes"] <= 10
    script = " ".join(str(s) for s in guard["steps"])
    assert "vars.GPU_RUNNER" in script and "_config.yml" in script
    text = (ROOT / ".github" / "workflows" / "publish.yml").read_text()
    assert colab.repository(ROOT).removeprefix("https://github.com/") not in text, (
        "the repository is named once, in _config.yml"
    )


def run_step(job: dict, index: int, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the shell of step ``index`` of ``job`` as a runner would (bash -e) in ``cwd``."""
    return subprocess.run(
        ["bash", "-e", "-c", job["steps"][index]["run"]],
        env={**os.environ, "GITHUB_SERVER_URL": "https://github.com", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    "repository, runner, message",
    [
        (None, "true", None),
        ("a-student/my-fork", "true", "is not the book's repository"),
        (None, "", "has no GPU runner configured"),
    ],
)
def test_the_gpu_runner_check_fails_fast_with_a_clear_message(repository, runner, message):
    guard = load("publish.yml")["jobs"]["gpu-runner"]
    own = colab.repository(ROOT).removeprefix("https://github.com/")
    env = {"GITHUB_REPOSITORY": repository or own, "GPU_RUNNER": runner}
    result = run_step(guard, 1, env, ROOT)
    assert (result.returncode == 0) == (message is None), result.stdout + result.stderr
    if message:
        assert f"::error::{repository or own} {message}" in result.stdout
        assert ("GPU_RUNNER" in result.stdout) and ("gpu" in result.stdout)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("exists", [True, False])
def test_publishing_tags_the_version_once(tmp_path, exists):
    workflow = load("publish.yml")
    version = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    tag = workflow["jobs"]["tag"]
    assert tag["needs"] == "deploy" and tag["permissions"] == {"contents": "write"}
    writes = [n for n, j in workflow["jobs"].items() if "contents" in j.get("permissions", {})]
    assert writes == ["tag"] and workflow["permissions"] == {"contents": "read"}
    calls = tmp_path / "calls"
    gh = tmp_path / "bin" / "gh"  # a stand-in for GitHub's CLI: records its calls
    gh.parent.mkdir()
    gh.write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\n'
        f'case "$2" in */git/ref/tags/*) exit {0 if exists else 1};; esac\n'
    )
    gh.chmod(0o755)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {"PATH": f"{gh.parent}:{os.environ['PATH']}", "GITHUB_REPOSITORY": "o/n"}
    result = run_step(tag, 1, {**env, "GITHUB_SHA": "abc123"}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    made = [c for c in calls.read_text().splitlines() if "git/refs" in c]
    if exists:
        assert made == [] and f"v{version} exists" in result.stdout
    else:
        assert made == [
            f"api repos/o/n/git/refs -f ref=refs/tags/v{version} -f sha=abc123 --silent"
        ]


# the current major version of each action (none older may be used)
CURRENT = {
    "actions/checkout": 7,
    "actions/setup-python": 7,
    "actions/cache": 6,
    "actions/upload-artifact": 7,
    "actions/download-artifact": 8,
    "actions/upload-pages-artifact": 5,
    "actions/deploy-pages": 5,
    "actions/configure-pages": 6,
}


def test_actions_are_at_their_current_major_version():
    uses = [
        step["uses"]
        for path in WORKFLOWS
        for job in yaml.safe_load(path.read_text())["jobs"].values()
        for step in job.get("steps", [])
        if "uses" in step
    ]
    assert uses
    for use in uses:
        action, _, ref = use.partition("@")
        assert action in CURRENT, f"{use}: add its current major version to CURRENT"
        assert re.fullmatch(r"v\d+", ref) and int(ref[1:]) >= CURRENT[action], use


def test_publishing_runs_one_gpu_job_per_chapter_then_builds_and_deploys():
    workflow = load("publish.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"] and "schedule" in triggers
    dry_run = workflow["jobs"]["dry-run"]
    assert dry_run["runs-on"] == "ubuntu-latest" and dry_run["timeout-minutes"] <= 30
    assert "make dryrun" in [s.get("run") for s in dry_run["steps"]]
    execute = workflow["jobs"]["execute"]
    assert "dry-run" in execute["needs"], "the GPU jobs wait for the dry run on a CPU"
    assert "gpu" in execute["runs-on"] and "self-hosted" in execute["runs-on"]
    assert execute["strategy"]["matrix"]["chapter"] == CHAPTERS
    runs = " ".join(s.get("run", "") for s in execute["steps"])
    assert (
        "--profile full" in runs
        and "--param DEVICE=cuda" in runs
        and '--chapters "$CHAPTER"' in runs
    )
    build = workflow["jobs"]["build"]
    runs = " ".join(s.get("run", "") for s in build["steps"])
    assert build["needs"] == "execute" and "--html-only" in runs and "pytest -m chapters" in runs
    assert "tests/test_site.py" in runs and "DEEPINSIDE_REQUIRE_BROWSER=1" in runs
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])


def test_the_gpu_runner_label_is_declared():
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())
    assert "gpu" in config["self-hosted-runner"]["labels"]


@pytest.mark.parametrize(
    "changed, expected",
    [
        (["chapters/04_spatial.py", "chapters/04_spatial.ipynb"], ["04_spatial"]),
        (["chapters/02_alignment.py", "README.md"], ["02_alignment"]),
        (["README.md", "book/teaching.md"], []),
        (["src/deepinside/book/build.py", "src/deepinside/book/teaching.py"], []),
        (["requirements.txt"], "all"),
        (["_toc.yml"], "all"),
    ],
)
def test_affected_chapters(changed, expected):
    chapters = CHAPTERS
    affected = affected_chapters(ROOT, changed, chapters)
    assert affected == (chapters if expected == "all" else expected)


def test_a_package_module_affects_the_chapters_that_import_it():
    chapters = CHAPTERS
    spatial = affected_chapters(ROOT, ["src/deepinside/spatial.py"], chapters)
    assert "04_spatial" in spatial and spatial == [c for c in chapters if c in spatial]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_an_unknown_git_ref_is_a_clear_error():
    from deepinside.book.build import BuildError, changed_since

    with pytest.raises(BuildError, match="no-such-ref"):
        changed_since(ROOT, "no-such-ref")
