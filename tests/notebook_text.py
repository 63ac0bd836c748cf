"""Reading the committed notebooks, for the tests: their cells, their printed numbers and their prose.

Shared by the notebook tests (test_notebooks.py, test_notebook09.py, test_prose.py), the small runs
(small_runs.py) and the builds' tests, so that those test modules need not import each other.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from mnist_helpers.course.outputs import stdout_text as stdout

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
MODELS_09 = ("linear model", "hidden layer", "CNN")  # the MNIST models notebook 9 compares, in its order


def checks_in(name: str) -> int:
    """How many check cells (tagged "check") the notebook has: one "Correct" each in the teacher edition."""
    cells = nbformat.read(NOTEBOOKS / name, as_version=4).cells
    return sum("check" in cell.metadata.get("tags", []) for cell in cells)


def number(text: str, pattern: str) -> float:
    """The number printed after ``pattern`` (last occurrence), commas allowed."""
    found = re.findall(pattern + r"\s*([-\d.,]+\d)", text)
    assert found, f"nothing printed matches {pattern!r}"
    return float(found[-1].replace(",", ""))


def parameter_names(name: str) -> set[str]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{name} must have exactly one cell tagged 'parameters'"
    assert nb.cells.index(cells[0]) <= 2, f"{name}: the parameters cell belongs near the top"
    return {t.id for node in ast.parse(cells[0].source).body for t in node.targets}


def lesson_code(name: str) -> list[str]:
    """The sources of a notebook's code cells, without its imports and the exercises' answers and checks."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"
            and not {"solution", "check"} & set(c.metadata.get("tags", []))
            and not all(isinstance(node, (ast.Import, ast.ImportFrom, ast.Try))  # imports, and the install check
                        for node in ast.parse(c.source).body)]


def solution_lines(source: str) -> list[str]:
    """The lines of a solution cell that hold the answer (between the markers, or marked)."""
    found, inside = [], False
    for line in source.splitlines():
        if "# BEGIN SOLUTION" in line:
            inside = True
        elif "# END SOLUTION" in line:
            inside = False
        elif inside or line.rstrip().endswith("# SOLUTION") or "# SOLUTION:" in line:
            code = re.sub(r"\s*# SOLUTION.*$", "", line).strip()
            if code and not code.startswith("#"):
                found.append(code.split("=", 1)[-1].strip() if "# SOLUTION" in line else code)
    return found


# --- the prose and the numbers it quotes ---------------------------------------------------------

def percent(digits: int) -> Callable[[str], str]:
    """A printed fraction (0.9174) as the prose writes it (91.74%)."""
    return lambda text: f"{float(text):.{digits}%}"


def as_is(text: str) -> str:
    return text


@dataclass
class Quote:
    """The prose of ``notebook`` contains ``prose`` with the number that ``printed`` finds in its outputs."""

    notebook: str
    printed: str  # a regex over the notebook's stored stdout; its group 1 is the number
    prose: str  # the phrase in the markdown, with {} where the number goes
    written: Callable[[str], str] = as_is  # how the prose writes the printed number

    def problem(self, nb) -> str | None:
        found = re.findall(self.printed, stdout(nb))
        if len(found) != 1:
            return f"{self.notebook}: the output should print {self.printed!r} once, found {len(found)} times"
        phrase = self.prose.format(self.written(found[0]))
        if phrase not in prose(nb):
            return f"{self.notebook}: the output prints {found[0]!r}, so the prose should say {phrase!r}"
        return None


@dataclass
class Near:
    """A rounded claim ("about 80%"): the phrase is in the prose and the printed number is near ``value``."""

    notebook: str
    printed: str  # a regex over the notebook's stored stdout; its group 1 is the number
    prose: str  # the phrase in the markdown
    value: float
    tolerance: float

    def problem(self, nb) -> str | None:
        found = re.findall(self.printed, stdout(nb))
        if len(found) != 1:
            return f"{self.notebook}: the output should print {self.printed!r} once, found {len(found)} times"
        if self.prose not in prose(nb):
            return f"{self.notebook}: the prose no longer says {self.prose!r}"
        number = float(found[0].replace(",", ""))
        if abs(number - self.value) > self.tolerance:
            return f"{self.notebook}: the prose says {self.prose!r}, but the output prints {found[0]}"
        return None


def prose(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


# --- what notebook 9 prints ---------------------------------------------------------------------

def percents(line: str) -> list[float]:
    """The percentages printed on one line, as fractions (99.12% is 0.9912)."""
    return [float(x) / 100 for x in re.findall(r"([\d.]+)%", line)]


def row(text: str, name: str, after: str) -> str:
    """The line that starts with ``name`` in the table printed after the line starting with ``after``."""
    table = text[text.index(after):]
    return re.search(rf"(?m)^{re.escape(name)} .*$", table).group(0)


def validation(text: str) -> dict[str, float]:
    """Each MNIST model's validation accuracy, from the side-by-side table."""
    return {name: percents(row(text, name, "model  "))[0] for name in MODELS_09}


def measured_on_test_sets(text: str) -> dict[tuple[str, str], float]:
    """The test accuracies: (model, dataset) -> fraction."""
    result = {}
    for name in MODELS_09:
        values = re.search(rf"(?m)^{re.escape(name)} +([\d.]+)% +(?:([\d.]+)%|-)$", text[text.index("test accuracy"):])
        result[name, "mnist"] = float(values.group(1)) / 100
        if values.group(2):
            result[name, "fashion-mnist"] = float(values.group(2)) / 100
    return result


def fashion_validation(text: str) -> dict[str, float]:
    found = re.search(r"Fashion-MNIST: hidden layer ([\d.]+)%, CNN ([\d.]+)%", text)
    return {"hidden layer": float(found.group(1)) / 100, "CNN": float(found.group(2)) / 100}


def moved(text: str) -> list[dict[str, tuple[float, float]]]:
    """Each shift experiment's accuracies, not moved and moved by 2 pixels: one dict per experiment."""
    experiments = []
    for name, still, two in re.findall(r"(?m)^(linear model|hidden layer|CNN) +not moved: ([\d.]+)% +"
                                       r"moved by 2 pixels: ([\d.]+)%$", text):
        if name == "linear model":  # each experiment starts with it
            experiments.append({})
        experiments[-1][name] = (float(still) / 100, float(two) / 100)
    return experiments
