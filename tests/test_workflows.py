"""The CI workflows in .github/ are valid, safe, and match the book's chapters."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import CHAPTERS, ROOT
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


def test_pull_requests_run_the_affected_chapters_quickly_on_cpu():
    steps = load("pull-request.yml")["jobs"]["quick"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "--profile quick" in runs and "--changed-since" in runs and "--no-html" in runs
    assert "pytest -m chapters" in runs and "DEEPINSIDE_SKIP_UNEXECUTED=1" in runs
    assert "cuda" not in runs


def test_publishing_runs_one_gpu_job_per_chapter_then_builds_and_deploys():
    workflow = load("publish.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["push"]["branches"] == ["main"] and "schedule" in triggers
    execute = workflow["jobs"]["execute"]
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
