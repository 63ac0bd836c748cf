"""``python -m mnist_helpers site``: the course as a static website, built offline from the committed notebooks.

The site is plain HTML (Sphinx, myst-nb and sphinx-book-theme; settings and landing page in
``site_source/``): a landing page, one page per notebook with its stored outputs (nothing is
executed), TEACHING.md, offline search, dark mode, a phone layout, and nothing loaded from
outside the site, so it reads from a USB stick or any web server. On each notebook page:

- every figure has alt text, read from the cell that draws it: its title (f-string fields
  filled in from the notebook's literal settings, such as ``lr = 0.3``) and, for a helper of
  ``mnist_helpers.plots``, the first line of that helper's docstring, which says what it draws;
- each exercise's reference solution is folded behind "Show a solution" (``--without-solutions``:
  the student edition's stubs instead, and no solution text anywhere in the site);
- a link to download the notebook's student edition, and one line on running it.

The build works on a temporary copy of everything it reads: the checkout is never touched.
"""

from __future__ import annotations

import ast
import copy
import re
import shutil
import string
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from ..errors import MnistHelpersError
from ..files import check_can_create, repository_root
from .folders import existing_edition, refuse_overlap, write_edition
from .notebooks import read_notebook, series, shown
from .student import student_notebook

SOURCE = Path(__file__).resolve().parent / "site_source"  # conf.py (Sphinx settings), index.md (landing page)
PLOTS = Path(__file__).resolve().parent.parent / "plots.py"
WRITER = "python -m mnist_helpers site"  # in the manifest of every site it builds (folders.py)


class SiteError(MnistHelpersError, ValueError):
    """The site cannot be built (no repository, a README section it shows is missing, a failed Sphinx build)."""

    exit_status = 2


# -- Alt text for the figures ------------------------------------------------------------------


def literal_settings(cells) -> dict[str, object]:
    """The names that the code cells bind once, to a literal (``lr = 0.3``), for filling in f-string titles.

    A name bound in any other way as well (a loop, a second value, unpacking), or to a list or a
    dict, is left out: its value when the figure was drawn cannot be read from the source.
    """
    literals: dict[str, list] = {}
    bound: dict[str, int] = {}
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound[node.id] = bound.get(node.id, 0) + 1
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    literals.setdefault(node.targets[0].id, []).append(ast.literal_eval(node.value))
                except (ValueError, TypeError):
                    pass
    return {name: values[0] for name, values in literals.items()  # a list or dict could change after
            if len(values) == bound[name] and all(v == values[0] for v in values)
            and isinstance(values[0], (str, int, float, bool, tuple, type(None)))}


def text_of(node: ast.AST, settings: dict[str, object]) -> str | None:
    """The text a string or f-string argument shows; a field that cannot be known from the source shows as "…"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
        elif isinstance(value.value, ast.Name) and value.value.id in settings:
            spec = text_of(value.format_spec, settings) if value.format_spec else ""
            try:
                parts.append(format(settings[value.value.id], spec or ""))
            except (TypeError, ValueError):
                parts.append("…")
        else:
            parts.append("…")
    return "".join(parts)


def helper_descriptions() -> dict[str, str]:
    """Each plotting helper of ``mnist_helpers.plots`` and the first line of its docstring."""
    tree = ast.parse(PLOTS.read_text(encoding="utf-8"))
    return {node.name: ast.get_docstring(node).splitlines()[0].replace("``", "")
            for node in tree.body if isinstance(node, ast.FunctionDef) and ast.get_docstring(node)}


def figure_alt(source: str, settings: dict[str, object], helpers: dict[str, str]) -> str | None:
    """What the figures of a cell show, from its code: titles, axis labels, the plotting helpers' descriptions.

    None when the code names nothing to describe (no title, no helper).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    described, titles, panels, labels = [], [], [], {}
    for call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        first = text_of(call.args[0], settings) if call.args else None
        words = {k.arg: text_of(k.value, settings) for k in call.keywords if k.arg in ("title", "xlabel", "ylabel")}
        if name in helpers:  # show_images(..., title=...): its title, and what the helper draws
            described.append(f"{words.get('title') or name}. {helpers[name]}")
        elif name == "suptitle" and first:
            titles.append(first)
        elif name in ("title", "set_title") and first:
            panels.append(first)
        elif name in ("xlabel", "ylabel", "set_xlabel", "set_ylabel") and first:
            labels[name[-6:]] = first
        elif words.get("title"):  # ax.set(title=..., xlabel=..., ylabel=...)
            both = words.get("xlabel") and words.get("ylabel")
            panels.append(words["title"] + (f" ({words['ylabel']} against {words['xlabel']})" if both else ""))
    if len(panels) == 1 and len(labels) == 2:  # plt.title, plt.xlabel and plt.ylabel of one plot
        panels[0] += f" ({labels['ylabel']} against {labels['xlabel']})"
    parts = described + titles + panels
    return "; ".join(parts) if parts else None


# -- The pages -----------------------------------------------------------------------------------


def prose_alt(cells) -> str | None:
    """What a figure drawn by the notebook's own code is about: the first sentence of the prose above it."""
    for cell in reversed(cells):
        if cell.cell_type == "markdown":
            text = " ".join(re.sub(r"[#*`_]|\[([^\]]*)\]\([^)]*\)", r"\1", cell.source).split())
            return "A figure for: " + re.split(r"(?<=[.:!?])\s", text, maxsplit=1)[0] if text else None
    return None


def notebook_page(nb, name: str, solutions: bool = True, helpers: dict[str, str] | None = None):
    """The notebook as its page shows it, and the figures it could not describe (cell indices).

    With ``solutions``, each solution cell is folded behind "Show a solution"; without, the
    student edition's stubs replace the solutions (and the checks' verdicts are left out).
    """
    nb = student_notebook(nb, name) if not solutions else copy.deepcopy(nb)
    helpers = helper_descriptions() if helpers is None else helpers
    undescribed, pads = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        mystnb = {}
        if "solution" in cell.metadata.get("tags", []) and solutions:
            cell.metadata["tags"] = [*cell.metadata["tags"], "hide-input"]
            mystnb.update(code_prompt_show="Show a solution", code_prompt_hide="Hide the solution")
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            settings = literal_settings(c for c in nb.cells[:index + 1] if c.cell_type == "code")
            pad = next((o["data"]["text/plain"] for o in cell.outputs
                        if str(o.get("data", {}).get("text/plain", "")).startswith("Drawing pad:")), None)
            if pad:
                alt = (f"{pad}: the drawing, the 28x28 image the model received and its ten probabilities, as the "
                       "notebook stored them")
                pads.append(index)
            else:
                alt = figure_alt(cell.source, settings, helpers) or prose_alt(nb.cells[:index])
            if alt is None:
                undescribed.append(index)
            mystnb["image"] = {"alt": alt or f"A figure drawn by the code of cell {index}"}
        if mystnb:
            cell.metadata["mystnb"] = mystnb
    for index in reversed(pads):  # one line under each pad: here it is a picture
        nb.cells.insert(index + 1, nbformat.v4.new_markdown_cell(
            "*On this page the drawing pad is the picture the notebook stored: to draw on it, run the notebook "
            "in Jupyter.*"))
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(
        f"**Run it yourself:** [download this notebook](path:_student/{name}.ipynb) (the student "
        "edition: the exercises without their answers), put it in the `notebooks/` folder of the course's "
        "repository and open it in JupyterLab (see {ref}`running`)."))
    return nb, undescribed


def readme_section(readme: str, heading: str) -> str:
    """The text of the README's ``## heading`` section, without the heading."""
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if not found:
        raise SiteError(f"README.md has no '## {heading}' section, which the landing page shows: restore it")
    return found.group(1).strip()


def code_block(text: str, where: str) -> str:
    found = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S)
    if not found:
        raise SiteError(f"README.md's '{where}' section has no code block, which the landing page shows")
    return found.group(1).strip()


def landing_page(readme: str, names: list[str], solutions: bool) -> str:
    """The landing page: the README's introduction and series table, how to run the course, the navigation."""
    intro = re.search(r"^# .*?\n(.*?)(?=^!\[|^## )", readme, re.M | re.S)
    series_table = re.sub(r"^\| `(\d\d_\w+)` \|", r"| [`\1`](\1.ipynb) |", readme_section(readme, "The series"),
                          flags=re.M)
    template = string.Template((SOURCE / "index.md").read_text(encoding="utf-8"))
    return template.substitute(
        intro=intro.group(1).strip() if intro else "", series=series_table,
        exercises="Its exercises show their checks' verdicts, and each reference solution is folded behind "
                  "*Show a solution*." if solutions else
                  "Its exercises are shown as in the student edition: without their reference solutions.",
        quick_start=code_block(readme_section(readme, "Quick start"), "Quick start"),
        jupyterlab=code_block(readme_section(readme, "Reading the notebooks"), "Reading the notebooks"),
        notebooks="\n".join(names))


# -- The build -----------------------------------------------------------------------------------


def unexecuted(nb) -> bool:
    """Whether a notebook with code was saved without any outputs: its page would show the code alone."""
    code = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]
    return bool(code) and not any(cell.get("outputs") for cell in code)


def build(out: Path | None = None, solutions: bool = True, root: Path | None = None,
          notebooks: Path | None = None) -> dict:
    """Build the site of the course in ``root`` into ``out``; return what was built: pages, seconds, warnings.

    ``root`` is a checkout of the course (default: the one this package runs from), ``out``
    defaults to its ``build/site``, ``notebooks`` to its ``notebooks/``. A notebook saved without
    outputs is published as code alone, and named in the returned ``unexecuted``.

    Everything is prepared and built in a temporary folder, then written by ``folders.write_edition``:
    into a new or empty ``out``, or in place of an earlier site of this command, unchanged; any
    other folder is refused before the build starts. A failed build leaves ``out`` as it was.
    """
    from sphinx.cmd.build import build_main  # here: only this command needs Sphinx

    start = time.perf_counter()
    root = Path(root).resolve() if root is not None else repository_root()
    if root is None:
        raise SiteError("the site is built from a checkout of the course's repository (notebooks/, README.md, "
                        "TEACHING.md); this mnist_helpers is installed without one")
    out = Path(out) if out is not None else root / "build" / "site"
    notebooks = Path(notebooks) if notebooks is not None else root / "notebooks"
    refuse_overlap(out, notebooks, inside_repository=True)  # build/ is fine, the notebooks' folder never
    existing_edition(out, WRITER, overwrite=True)  # only an earlier site of this command, unchanged
    try:
        check_can_create(out)
    except OSError as err:
        raise SiteError(f"cannot write the site to {out} ({err.strerror or err}): choose a folder you can "
                        "write with --out") from None
    read = [(path, read_notebook(path)) for path in series(folder=notebooks)]  # each named if it cannot be read
    with tempfile.TemporaryDirectory(prefix="mnist-site-") as folder:
        work = Path(folder)
        src, html = work / "src", work / "html"
        (src / "_student").mkdir(parents=True)
        helpers, names, undescribed = helper_descriptions(), [], []
        for path, nb in read:
            page, missing = notebook_page(nb, path.stem, solutions, helpers)
            nbformat.write(page, src / path.name)
            nbformat.write(student_notebook(nb, path.stem), src / "_student" / path.name)
            names.append(path.stem)
            undescribed += [f"{path.stem}, cell {i}" for i in missing]
        readme = (root / "README.md").read_text(encoding="utf-8")
        (src / "index.md").write_text(landing_page(readme, names, solutions), encoding="utf-8")
        shutil.copyfile(root / "TEACHING.md", src / "TEACHING.md")
        status = build_main(["-q", "-b", "html", "-c", str(SOURCE), "-d", str(work / "doctrees"),
                             "-w", str(work / "warnings.txt"), str(src), str(html)])
        log = work / "warnings.txt"
        warnings = log.read_text(encoding="utf-8").splitlines() if log.is_file() else []
        if status != 0:  # Sphinx has printed why
            raise SiteError("Sphinx could not build the site (see above)" + "".join(f"\n  {w}" for w in warnings[-20:]))
        (html / ".nojekyll").touch()  # GitHub Pages: serve _static/ and _images/ as they are
        files = {p.relative_to(html).as_posix(): p.read_bytes() for p in sorted(html.rglob("*")) if p.is_file()}
    write_edition(out, files, WRITER, overwrite=True)
    pages = sorted(name for name in files if name.endswith(".html") and "/" not in name)  # not _static/'s templates
    return {"out": out, "pages": pages, "seconds": time.perf_counter() - start, "warnings": warnings,
            "undescribed": undescribed, "unexecuted": [shown(path) for path, nb in read if unexecuted(nb)]}


def main(out: Path | None, solutions: bool = True, notebooks: Path | None = None) -> int:
    """Build, and say where the site is and how to open it (a refusal raises a ``MnistHelpersError``)."""
    built = build(out, solutions, notebooks=notebooks)
    for line in built["warnings"]:
        print(f"warning: {line}", file=sys.stderr)
    for where in built["undescribed"]:
        print(f"warning: {where}: a figure without a title, so its alt text only names the cell: give it one",
              file=sys.stderr)
    for path in built["unexecuted"]:
        print(f"warning: {path} was saved without outputs, so its page shows the code alone: run it "
              "(python -m mnist_helpers notebooks --in-place) and build again", file=sys.stderr)
    edition = "with the reference solutions folded" if solutions else "without the reference solutions"
    print(f"built the site ({len(built['pages'])} pages, {edition}) in {built['seconds']:.0f} s: "
          f"open {built['out'] / 'index.html'}")
    print("It is plain static files: copy the folder onto a USB stick or any web server to publish it.")
    return 0
