"""environment.yml (Binder, conda) pins exactly what requirements.txt pins, for the same Python."""

import os
import re

import yaml

from conftest import PROJECT

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+$")


def requirement_lines():
    lines = [line.split("#", 1)[0].strip() for line in (PROJECT / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line]


def environment():
    return yaml.safe_load((PROJECT / "environment.yml").read_text())


def conda_dependencies():
    return [item for item in environment()["dependencies"] if isinstance(item, str)]


def pip_dependencies():
    lists = [item["pip"] for item in environment()["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert len(lists) == 1, "environment.yml needs exactly one pip: section"
    return [str(line).strip() for line in lists[0]]


def test_pip_section_equals_requirements():
    pinned, listed = requirement_lines(), pip_dependencies()
    only_requirements = sorted(set(pinned) - set(listed))
    only_environment = sorted(set(listed) - set(pinned))
    assert pinned == listed, (f"only in requirements.txt: {only_requirements}; only in environment.yml: "
                              f"{only_environment}; if both are empty the order differs")


def test_requirements_are_exact_pins():
    loose = [line for line in requirement_lines() if not PIN.match(line)]
    assert loose == []


def test_no_package_listed_twice():
    names = [line.split("==")[0].lower().replace("_", "-") for line in requirement_lines()]
    assert sorted({name for name in names if names.count(name) > 1}) == []


def test_conda_python_matches_project():
    assert "python=3.11" in conda_dependencies()
    assert 'requires-python = ">=3.11,<3.12"' in (PROJECT / "pyproject.toml").read_text()


def test_conda_part_holds_only_python_and_pip():
    assert sorted(conda_dependencies()) == ["pip", "python=3.11"]


def test_binder_post_build_installs_project():
    post_build = PROJECT / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert "pip install --no-deps -e ." in post_build.read_text()
