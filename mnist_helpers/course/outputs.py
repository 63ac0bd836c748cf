"""Comparing notebook outputs, and cleaning what a committed notebook keeps.

The same rules serve the runner and nbval (``sanitize.cfg``, stderr left out; see conftest.py):
text outputs are compared after a few patterns are normalised; images, execution counts,
metadata and stderr are not compared.

A fresh run is one of three things next to the stored notebook (``compare_notebooks``):

- identical: every text output is the same, character for character (after ``sanitize.cfg``);
- the same within floating-point noise: every word and every whole number (a count, a size, an
  epoch) is the same, and every decimal number is within ``TOLERANCE`` of the stored one
  (relative to its size above 1). Another CPU (other vector instructions, another number of
  threads) adds up the same sums in another order, and a training's last digits move: see the
  README;
- different: anything else, reported with the cell and the first value that differs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

SANITIZE_CONFIG = Path(__file__).resolve().parent / "sanitize.cfg"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3"}
KEPT_CELL_METADATA = ("tags",)  # nbval, papermill and the student edition read their markers from tags


@functools.cache
def patterns() -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of sanitize.cfg, read by nbval's own parser (spaces kept)."""
    from nbval.plugin import get_sanitize_patterns

    return get_sanitize_patterns(SANITIZE_CONFIG.read_text(encoding="utf-8"))


def sanitized(text: str) -> str:
    """``text`` with the patterns of sanitize.cfg normalised and trailing spaces dropped."""
    for regex, replace in patterns():
        text = re.sub(regex, replace, text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def is_stderr(output) -> bool:
    """Whether a cell output is text written to stderr."""
    return output.get("output_type") == "stream" and output.get("name") == "stderr"


def stderr_outputs(nb) -> list[str]:
    """Where a cell wrote to stderr (warnings, for example): none may be committed."""
    return [f"cell {i}: {''.join(o.get('text', ''))[:200]!r}"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for o in cell.outputs if is_stderr(o)]


def cell_stdout(cell) -> str:
    """What one code cell printed to stdout."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def stdout_text(nb) -> str:
    """Everything the notebook's code cells printed to stdout, in order."""
    return "".join(cell_stdout(c) for c in nb.cells if c.cell_type == "code")


def text_outputs(cell) -> list[str]:
    """What is compared of one code cell: its text outputs, sanitised, in order (no images, no stderr)."""
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and not is_stderr(output):
            texts.append(sanitized(output["text"]))
        elif output.get("output_type") == "error":
            texts.append(f"{output['ename']}: {output['evalue']}")
        for mime, data in output.get("data", {}).items():
            if not mime.startswith("image/"):
                texts.append(sanitized(data if isinstance(data, str) else "".join(data)))
    return texts


def differing_cells(executed, committed) -> list[int]:
    """Indices of the code cells whose text outputs differ between two versions of a notebook."""
    if [c.cell_type for c in executed.cells] != [c.cell_type for c in committed.cells]:
        return [i for i, c in enumerate(committed.cells) if c.cell_type == "code"]
    return [i for i, (ran, stored) in enumerate(zip(executed.cells, committed.cells, strict=True))
            if stored.cell_type == "code" and text_outputs(ran) != text_outputs(stored)]


# How far a decimal number of a fresh run may be from the stored one and still count as
# floating-point noise: this much for numbers up to 1 (accuracies, losses), this fraction of their
# size above 1, as ``math.isclose(stored, fresh, rel_tol=TOLERANCE, abs_tol=TOLERANCE)``.
# Measured across CPU code paths and thread counts (README): a training that is stable moves its
# printed accuracies and losses by at most 9e-4 (notebook 8's hidden layer on MNIST); twice that is
# noise. A result that really changes, an accuracy moving by a full point (0.01), is five times
# further, and is reported as different.
TOLERANCE = 2e-3


class Agreement(Enum):
    """How a fresh run's text outputs compare with the stored ones."""

    IDENTICAL = "identical"
    NOISE = "within noise"
    DIFFERENT = "different"


IDENTICAL, NOISE, DIFFERENT = Agreement.IDENTICAL, Agreement.NOISE, Agreement.DIFFERENT
# A number as the notebooks print it: whole (7, 60,000, -3) or decimal (0.9783, 52.4, 1.7e-07).
NUMBER = re.compile(r"([-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?)")


@dataclass
class Comparison:
    """How a fresh run's text outputs compare with the stored ones."""

    verdict: Agreement = IDENTICAL
    largest: float = 0.0  # the largest ``difference`` between two decimal numbers
    first: str = ""  # for DIFFERENT: where, and the first value that differs


def is_decimal(number: str) -> bool:
    """Whether a printed number is a decimal (a measurement) rather than a whole number (a count)."""
    return "." in number or "e" in number.lower()


def difference(stored: str, fresh: str, percent: bool = False) -> float:
    """How far apart two printed decimals are: as such up to 1, relative to their size above 1.

    0.9783 and 0.9788 give 5e-04; 52.4 and 52.6 give 3.8e-03. A percentage (``percent``) is
    the fraction it stands for: 97.83% and 97.88% give 5e-04, like 0.9783 and 0.9788. A
    difference up to ``TOLERANCE`` is noise.
    """
    a, b = float(stored.replace(",", "")), float(fresh.replace(",", ""))
    if percent:
        a, b = a / 100, b / 100
    return abs(a - b) / max(1.0, abs(a), abs(b))


def line_difference(stored: str, fresh: str) -> tuple[float, str | None]:
    """The largest ``difference`` between the decimals of two lines, and the first difference beyond noise.

    The lines are cut into words and numbers: the words (spacing aside) and the whole numbers must be
    equal, the decimals within ``TOLERANCE``. The second value is None when they are.
    """
    old, new = NUMBER.split(stored), NUMBER.split(fresh)  # words, number, words, number, ..., words
    largest = 0.0
    for index, (was, now) in enumerate(zip(old, new, strict=False)):
        if index % 2 == 0:  # words
            if was.split() != now.split():
                return largest, f"{' '.join(was.split())!r} became {' '.join(now.split())!r}"
        elif was != now:
            if not (is_decimal(was) and is_decimal(now)):
                return largest, f"{was} became {now}"
            percent = index + 1 < min(len(old), len(new)) and old[index + 1].startswith("%") \
                and new[index + 1].startswith("%")
            gap = difference(was, now, percent)
            largest = max(largest, gap)
            if gap > TOLERANCE:
                return largest, f"{was} became {now}"
    if len(old) != len(new):
        return largest, f"{' '.join(stored.split())!r} became {' '.join(fresh.split())!r}"
    return largest, None


def text_difference(stored: str, fresh: str) -> tuple[float, str | None]:
    """``line_difference`` over a whole text output, line by line; the difference names its line."""
    old, new = stored.splitlines(), fresh.splitlines()
    largest = 0.0
    for was, now in zip(old, new, strict=False):  # then the number of lines
        if was != now:
            line_largest, differs = line_difference(was, now)
            largest = max(largest, line_largest)
            if differs:
                line = " ".join(was.split())
                return largest, f"{differs} in {line[:70] + ('...' if len(line) > 70 else '')!r}"
    if len(old) != len(new):
        return largest, f"{len(new)} lines instead of {len(old)}"
    return largest, None


def compare_outputs(stored: list, fresh: list) -> Comparison:
    """How the outputs of one code cell compare: identical, within noise, or different (and where)."""
    kept, ran = text_outputs({"outputs": stored}), text_outputs({"outputs": fresh})
    if kept == ran:
        return Comparison()
    if len(kept) != len(ran):
        return Comparison(DIFFERENT, first=f"{len(ran)} text outputs instead of {len(kept)}")
    largest = 0.0
    for was, now in zip(kept, ran, strict=True):
        text_largest, differs = text_difference(was, now)
        largest = max(largest, text_largest)
        if differs:
            return Comparison(DIFFERENT, largest, differs)
    return Comparison(NOISE, largest)


def compare_notebooks(executed, committed) -> Comparison:
    """How a freshly executed notebook compares with the committed one, cell by cell."""
    if [c.cell_type for c in executed.cells] != [c.cell_type for c in committed.cells]:
        return Comparison(DIFFERENT, first="its cells are not those of the stored notebook")
    verdict, largest = IDENTICAL, 0.0
    for index, (ran, stored) in enumerate(zip(executed.cells, committed.cells, strict=True)):
        if stored.cell_type != "code":
            continue
        cell = compare_outputs(stored.get("outputs", []), ran.get("outputs", []))
        largest = max(largest, cell.largest)
        if cell.verdict == DIFFERENT:
            return Comparison(DIFFERENT, largest, f"cell {index}: {cell.first}")
        if cell.verdict == NOISE:
            verdict = NOISE
    return Comparison(verdict, largest)


def clean_metadata(nb) -> None:
    """Keep only what a reader needs: the kernel, the language and the cell tags."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
