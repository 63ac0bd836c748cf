"""Comparing notebook outputs, and cleaning what a committed notebook keeps.

The same rules serve the runner, nbval (``sanitize.cfg``, stderr left out) and the browser
test: text outputs are compared after a few patterns are normalised; images, execution counts,
metadata and stderr are not compared.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

SANITIZE_CONFIG = Path(__file__).resolve().parent / "sanitize.cfg"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3"}
KEPT_CELL_METADATA = ("tags",)  # nbval, papermill and the student edition read their markers from tags


def _patterns() -> list[tuple[str, str]]:
    config = configparser.ConfigParser()
    config.read(SANITIZE_CONFIG)
    return [(config[section]["regex"], config[section]["replace"]) for section in config.sections()]


PATTERNS = _patterns()


def sanitized(text: str) -> str:
    """``text`` with the patterns of sanitize.cfg normalised and trailing spaces dropped."""
    for regex, replace in PATTERNS:
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


def stdout_text(nb) -> str:
    """Everything the notebook's code cells printed to stdout, in order."""
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


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
    return [i for i, (ran, stored) in enumerate(zip(executed.cells, committed.cells))
            if stored.cell_type == "code" and text_outputs(ran) != text_outputs(stored)]


def clean_metadata(nb) -> None:
    """Keep only what a reader needs: the kernel, the language and the cell tags."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
