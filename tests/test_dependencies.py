"""The versions that run are the locked ones: pyproject.toml and the lock files agree, every range
stays within one release line, every pin carries its hashes, and every install reads the lock.

A new or changed requirement fails here until `make lock` re-resolves requirements/.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
DEV_LOCK = ROOT / "requirements" / "dev.txt"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
FIRST_PARTY = {"app", "tests", "bench", "migrations"}


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: int
    direct: bool  # pyproject.toml asks for it by name (the resolver's "via" note)


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as toml:
        return tomllib.load(toml)


def _project() -> dict[str, Any]:
    project: dict[str, Any] = _pyproject()["project"]
    return project


def _runtime_requirements() -> list[Requirement]:
    return [Requirement(line) for line in _project()["dependencies"]]


def _all_requirements() -> list[Requirement]:
    dev = [Requirement(line) for line in _project()["optional-dependencies"]["dev"]]
    return _runtime_requirements() + dev


def _lock(path: Path) -> dict[NormalizedName, Pin]:
    """Each entry starts at the margin with `name==version`; its hashes and notes are indented."""
    pins: dict[NormalizedName, Pin] = {}
    for entry in re.split(r"\n(?=[^\s#])", path.read_text()):
        if entry.startswith("#"):
            continue  # the header
        pin = re.match(r"([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", entry)
        # A range, URL, path or editable install would let the install choose.
        assert pin is not None, f"{path.name}: not a pin: {entry.splitlines()[0]}"
        pins[canonicalize_name(pin[1])] = Pin(
            Version(pin[2]), len(HASH.findall(entry)), "devex (pyproject.toml)" in entry
        )
    return pins


def _next_release_line(floor: Version) -> Version:
    """Where breaking changes may start: the next major, or the next minor while the major is 0."""
    major, minor = (*floor.release, 0)[:2]
    return Version(f"{major + 1}") if major else Version(f"0.{minor + 1}")


def _assert_locked(lock: Path, requirements: list[Requirement]) -> None:
    pins = _lock(lock)
    for requirement in requirements:
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not in {lock.name}: run `make lock`"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock.name} pins {requirement.name}=={pin.version} outside {requirement.specifier}:"
            " run `make lock`"
        )


def test_every_requirement_is_locked_at_a_version_its_range_allows() -> None:
    _assert_locked(DEV_LOCK, _all_requirements())


def test_every_runtime_requirement_is_in_the_image_lock() -> None:
    _assert_locked(RUNTIME_LOCK, _runtime_requirements())


def test_the_lock_was_resolved_from_the_requirements_of_pyproject() -> None:
    # Catches an added requirement that the lock holds only as another's dependency, and a
    # dropped one that the lock still holds.
    direct = {name for name, pin in _lock(DEV_LOCK).items() if pin.direct}
    asked = {canonicalize_name(requirement.name) for requirement in _all_requirements()}
    assert direct == asked, (
        f"requirements/dev.txt is stale (only in the lock: {sorted(direct - asked)}, only in"
        f" pyproject.toml: {sorted(asked - direct)}): run `make lock`"
    )


def test_every_range_stays_within_one_release_line() -> None:
    build = [Requirement(line) for line in _pyproject()["build-system"]["requires"]]
    for requirement in _all_requirements() + build:
        floors = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        ceilings = [Version(s.version) for s in requirement.specifier if s.operator == "<"]
        assert floors, f"{requirement} needs a floor (>=)"
        assert ceilings, f"{requirement} needs a ceiling (<)"
        assert max(ceilings) <= _next_release_line(max(floors)), (
            f"{requirement} spans more than one release line: at most "
            f"<{_next_release_line(max(floors))}"
        )


@pytest.mark.parametrize("lock", [DEV_LOCK, RUNTIME_LOCK], ids=["dev", "runtime"])
def test_every_pin_carries_its_hashes(lock: Path) -> None:
    unhashed = [name for name, pin in _lock(lock).items() if not pin.hashes]
    assert not unhashed, f"{lock.name} pins without --hash: {unhashed}"


def test_the_image_runs_the_versions_the_tests_ran() -> None:
    dev = _lock(DEV_LOCK)
    differing = {
        name: (pin.version, dev[name].version if name in dev else None)
        for name, pin in _lock(RUNTIME_LOCK).items()
        if name not in dev or dev[name].version != pin.version
    }
    assert not differing, f"runtime.txt and dev.txt disagree (runtime, dev): {differing}"


def test_the_image_installs_no_library_structlog_would_load_for_a_terminal() -> None:
    """structlog imports colorama, better-exceptions and rich in every process whenever they are
    installed, to print for a terminal; a production process logs JSON. rich alone was 3 MB of
    each web process's memory (issue 18, point 6), there because typer required it."""
    for_a_terminal = {"colorama", "better-exceptions", "rich"}
    installed = for_a_terminal & set(_lock(RUNTIME_LOCK))
    assert not installed, f"runtime.txt installs {installed}: which requirement brings it?"


def test_the_environment_under_test_is_the_locked_one() -> None:
    stale: dict[str, tuple[str, str | None]] = {}
    for name, pin in _lock(DEV_LOCK).items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pin.version:
            stale[name] = (str(pin.version), str(installed) if installed else None)
    assert not stale, f"installed versions differ from the lock (locked, installed): {stale}"


def _pip_installs(path: Path) -> list[str]:
    joined = path.read_text().replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if "pip install" in line]


def test_every_install_reads_the_lock_then_adds_the_project_alone() -> None:
    makefile = _pip_installs(ROOT / "Makefile")
    image = _pip_installs(ROOT / "deploy" / "Dockerfile")
    assert any("--require-hashes -r requirements/dev.txt" in line for line in makefile), makefile
    assert any("--require-hashes -r requirements/runtime.txt" in line for line in image), image
    for line in makefile + image:
        reads_the_lock = "--require-hashes -r requirements/" in line
        adds_the_project = "--no-deps -e ." in line
        assert reads_the_lock or adds_the_project or "--upgrade pip" in line, line
    stamp_rule = re.search(r"^\$\(STAMP\):(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert stamp_rule is not None
    assert "requirements/dev.txt" in stamp_rule.group(1), "a new lock must rebuild the venv"


def test_the_code_imports_no_private_module_of_a_library() -> None:
    # A library's underscore modules change in any release, a patch one included.
    private: list[str] = []
    for directory in FIRST_PARTY:
        for source in (ROOT / directory).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(), str(source))):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                private += [
                    f"{source.relative_to(ROOT)}: {module}"
                    for module in modules
                    if module.split(".")[0] not in FIRST_PARTY
                    and any(part.startswith("_") for part in module.split(".")[1:])
                ]
    assert not private, private
