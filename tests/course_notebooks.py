"""Small notebooks for the readiness check's tests, and a snapshot of a folder to see that nothing changed."""

from pathlib import Path

import nbformat


def notebook(folder: Path, name: str, cells: list[tuple[str, str]]) -> Path:
    """A notebook of code cells with the stored stdout given for each: [(source, stored output), ...]."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for number, (source, text) in enumerate(cells, start=1):
        outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
        nb.cells.append(nbformat.v4.new_code_cell(source, outputs=outputs, execution_count=number))
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def files(folder: Path) -> dict[str, bytes]:
    """Everything below ``folder``, to see that nothing changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
