"""The environment and the licences: the lock of every supported platform and requirements.txt,
the CPU path of `make env`, LICENSE, the licence of the text, CITATION.cff and the book's footer."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import ROOT
from deepinside.book import colab

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LOCK = ROOT / "requirements-universal.txt"
REFERENCE = ROOT / "requirements.txt"
MAKEFILE = (ROOT / "Makefile").read_text()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# the packages that only PyPI's CUDA build of PyTorch needs (Linux only)
CUDA_ONLY = re.compile(r"^(nvidia-|cuda-|triton$)")


def make_variable(name: str) -> str:
    """The value of the Makefile's simple assignment ``name := value``."""
    found = re.search(rf"^{name} := (.+)$", MAKEFILE, re.M)
    assert found, f"the Makefile has no `{name} := ...`"
    return found.group(1).strip()


REFERENCE_PYTHON = make_variable("REFERENCE_PYTHON")


def environment(system: str, python: str) -> dict[str, str]:
    """The environment markers of CPython ``python`` (X.Y.Z) on Linux x86-64 or macOS arm64."""
    return {
        "implementation_name": "cpython",
        "implementation_version": python,
        "platform_python_implementation": "CPython",
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "os_name": "posix",
        "sys_platform": system,
        "platform_system": {"linux": "Linux", "darwin": "Darwin"}[system],
        "platform_machine": {"linux": "x86_64", "darwin": "arm64"}[system],
    }


# the supported platforms: Linux x86-64 and macOS arm64, Python 3.10 to 3.12
PLATFORMS = {
    f"{system}-{python}": environment(system, python)
    for system in ("linux", "darwin")
    for python in ("3.10.18", REFERENCE_PYTHON, "3.12.11")
}


def requirements(path: Path) -> list[Requirement]:
    """The requirements of a pip requirements file (comments and blank lines skipped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def pins(reqs: list[Requirement], env: dict[str, str] | None = None) -> dict[str, Version]:
    """``{name: version}`` of the exact pins whose markers ``env`` meets (``None``: this one)."""
    selected: dict[str, Version] = {}
    for req in reqs:
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name not in selected, f"{name} is pinned twice for {env}"
            (spec,) = req.specifier
            selected[name] = Version(spec.version)
    return selected


def project_requirements() -> list[Requirement]:
    extras = PROJECT["optional-dependencies"]
    return [Requirement(r) for r in PROJECT["dependencies"] + extras["book"] + extras["test"]]


def test_the_lock_pins_every_package_exactly():
    reqs = requirements(LOCK)
    assert len(reqs) > 100
    for req in reqs:
        assert [s.operator for s in req.specifier] == ["=="], str(req)


def test_the_lock_says_what_it_is_and_how_to_regenerate_it():
    header = [line for line in LOCK.read_text().splitlines() if line.startswith("#")]
    text = " ".join(header)
    assert "Linux x86-64" in text and "macOS" in text and "3.10" in text and "3.12" in text
    assert "make lock" in text and "requirements.txt" in text


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_lock_pins_every_dependency_on_every_supported_platform(platform):
    env = PLATFORMS[platform]
    pinned = pins(requirements(LOCK), env)
    for req in project_requirements():
        name = canonicalize_name(req.name)
        assert name in pinned, f"{name} is not pinned for {platform}"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"{name}=={pinned[name]} does not meet pyproject.toml's {req} on {platform}"
        )
    cuda = [name for name in pinned if CUDA_ONLY.match(name)]
    assert bool(cuda) == (env["sys_platform"] == "linux"), cuda


def test_the_packages_only_cuda_needs_are_for_linux_only():
    cuda = [r for r in requirements(LOCK) if CUDA_ONLY.match(canonicalize_name(r.name))]
    assert len(cuda) > 10
    for req in cuda:
        assert req.marker is not None and 'sys_platform == "linux"' in str(req.marker), str(req)
        macos = [env for env in PLATFORMS.values() if env["sys_platform"] == "darwin"]
        assert not any(req.marker.evaluate(env) for env in macos), str(req)


def test_on_the_reference_platform_the_lock_pins_exactly_requirements_txt():
    """CI and the book's recorded numbers do not depend on which of the two is installed;
    requirements.txt, once a pip freeze, may leave out pip's own setuptools and wheel."""
    locked = pins(requirements(LOCK), environment("linux", REFERENCE_PYTHON))
    reference = pins(requirements(REFERENCE))
    missing = set(locked) - set(reference)
    assert missing <= {"setuptools", "wheel"}, missing
    assert {n: v for n, v in locked.items() if n not in missing} == reference


@pytest.mark.skipif(
    not (Path(sys.prefix) / ".installed").exists(), reason="not an environment of `make env`"
)
@pytest.mark.parametrize(
    "package", ["torch", "torchvision", "numpy", "scipy", "matplotlib", "myst-nb", "jupyter-book"]
)
def test_this_environment_has_the_versions_the_lock_pins_for_it(package):
    pinned = pins(requirements(LOCK))[canonicalize_name(package)]
    installed = Version(metadata.version(package))
    assert Version(installed.public) == pinned, f"{package} {installed}, the lock pins {pinned}"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_cpu_path_drops_exactly_the_packages_only_cuda_needs(tmp_path):
    venv = tmp_path / "venv"
    files = [venv / "requirements-torch.txt", venv / "requirements-cpu.txt"]
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", f"VENV={venv}", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lock = requirements(LOCK)
    torch, cpu = (requirements(f) for f in files)
    names = {canonicalize_name(r.name) for r in torch}
    assert names == {"torch", "torchvision"}
    assert {str(r) for r in torch} == {str(r) for r in lock if r.name in names}
    dropped = {str(r) for r in lock} - {str(r) for r in cpu}
    assert dropped == {str(r) for r in lock if CUDA_ONLY.match(canonicalize_name(r.name))}
    assert names <= {canonicalize_name(r.name) for r in cpu}, "the CPU build still is pinned"
    assert "--index-url $(TORCH_CPU_INDEX)" in MAKEFILE and "--no-deps" in MAKEFILE


def test_the_code_is_under_the_mit_licence():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 The deepinside authors" in text
    assert PROJECT["license"] == "MIT"


def test_the_text_and_figures_are_under_cc_by_4():
    text = (ROOT / "LICENSE-text.md").read_text()
    assert "CC BY 4.0" in text
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in text


def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_the_citation_file_names_the_book_its_version_and_its_repository():
    cff = citation()
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["message"]
    assert cff["title"] == "Inside Deep Networks"
    assert cff["authors"] == [{"name": "The deepinside authors"}]
    assert cff["version"] == PROJECT["version"] and cff["license"] == PROJECT["license"]
    assert cff["repository-code"] == colab.repository(ROOT)


@pytest.mark.skipif(
    not (Path(sys.executable).parent / "check-jsonschema").exists(), reason="needs check-jsonschema"
)
def test_the_citation_file_follows_the_citation_file_format():
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.citation-file-format",
            str(ROOT / "CITATION.cff"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_page_shows_the_licences_and_how_to_cite():
    footer = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["extra_footer"]
    assert "MIT" in footer and "CC BY 4.0" in footer
    assert "To cite" in footer and "CITATION.cff" in footer


def test_the_readme_states_the_platforms_and_the_ways_to_install():
    readme = (ROOT / "README.md").read_text()
    assert "## Supported platforms" in readme and "## Licence and citation" in readme
    for command in ("make book", "make test", "make env CPU=1", 'pip install -e ".[book,test]"'):
        assert command in readme, command
