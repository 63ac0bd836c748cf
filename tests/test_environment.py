"""requirements.txt, environment.yml and the README's Quick start agree with each other."""

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"{line!r} is not pinned with =="
            found[name.lower()] = pinned
    return found


def requirements() -> dict[str, str]:
    return pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())


def test_environment_yml_lists_the_same_packages_and_versions():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == requirements()
    assert "python=3.11" in env["dependencies"]


def test_installed_versions_are_the_tested_ones():
    assert {name: version(name) for name in requirements()} == requirements()


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "Quick start holds exactly one code block"
    return [line for line in blocks[0].splitlines() if line.strip()]


def test_readme_quick_start_is_two_commands_that_ci_runs():
    setup, test = quick_start()
    assert "python3 -m venv" in setup and "requirements.txt" in setup and "notebooks" in setup
    assert "pytest" in test
    # .ci/run reads the two commands from the README with a Python snippet: run that very snippet here.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    snippet = re.search(r"python3 - <<'PY'\n(.*?)\nPY\n", ci, re.S)
    assert snippet, ".ci/run no longer reads the commands from the README with its Python snippet"
    read = subprocess.run([sys.executable, "-c", snippet.group(1)], cwd=ROOT, capture_output=True, text=True,
                          check=True, encoding="utf-8")
    assert read.stdout.splitlines() == [setup, test]


def test_ruff_finds_nothing_in_the_code():
    """The package, the tests and the benchmarks pass ruff with the settings of pyproject.toml."""
    found = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "mnist_helpers", "tests", "benchmarks",
                            "conftest.py"], cwd=ROOT, capture_output=True, text=True, encoding="utf-8")
    assert found.returncode == 0, found.stdout[-4000:] + found.stderr[-2000:]
