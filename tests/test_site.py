"""The course's website (``python -m mnist_helpers site``): built offline from the notebooks, read in a browser.

Built once with the reference solutions and once without (into temporary folders), then
checked as files (pages, alt text, nothing from outside the site, no solution in the class's
edition) and in Chromium driven by Playwright, served on 127.0.0.1 the way a reader opens it:
every page and image loads, internal links resolve, search finds "cross-entropy", a solution
toggle reveals a solution, dark mode and a phone's width work, and no request leaves the
machine. A screenshot of a notebook page goes to artifacts/site/ (the README's docs/site.png).
"""

import contextlib
import functools
import hashlib
import html.parser
import http.server
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import nbformat
import pytest
from lab_session import ROOT, launched
from notebook_text import solution_lines

from mnist_helpers.course import site as site_builder
from mnist_helpers.course.site import SiteError, figure_alt, literal_settings

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "artifacts" / "site"
SOFTMAX = "04_softmax_cross_entropy"
NOT_RUN = "stored, never run\n"
# myst-parser 5.2 and sphinx-book-theme 1.4 still use attributes that Sphinx 9 deprecates (for Sphinx 11)
pytestmark = [pytest.mark.filterwarnings("ignore::sphinx.deprecation.RemovedInSphinx11Warning"),
              pytest.mark.slow]  # a website built, then loaded in a browser


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site with the reference solutions, built from a copy of the course; the copy is left as it was."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "notebooks", course / "notebooks")
    for name in ("README.md", "TEACHING.md"):
        shutil.copyfile(ROOT / name, course / name)
    first = course / "notebooks" / NOTEBOOKS[0].name  # a cell whose stored output a run could never give
    nb = nbformat.read(first, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('print("ran")', outputs=[nbformat.v4.new_output("stream", text=NOT_RUN)]))
    nbformat.write(nb, first)
    before = snapshot(course), snapshot(site_builder.SOURCE)
    parent = tmp_path_factory.mktemp("site")
    built = site_builder.build(parent / "site", root=course)
    assert (snapshot(course), snapshot(site_builder.SOURCE)) == before  # nothing it read was changed
    assert sorted(p.name for p in parent.iterdir()) == ["site"]  # no temporary folder left beside it
    assert built["warnings"] == [] and built["undescribed"] == []
    return built["out"]


@pytest.fixture(scope="module")
def class_site(tmp_path_factory) -> Path:
    """The site without the solutions, built from the command line."""
    from mnist_helpers.cli import main

    out = tmp_path_factory.mktemp("class-site") / "site"
    assert main(["site", "--without-solutions", "--out", str(out)]) == 0
    return out


class Page(html.parser.HTMLParser):
    """What a built HTML file holds: its visible text, its images, links and loaded resources."""

    def __init__(self, path: Path):
        super().__init__()
        self.text, self.images, self.links, self.loads = [], [], [], []
        self._skip = 0
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "img":
            self.images.append(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("src", "href"):
            if tag in ("script", "link", "img", "iframe", "source", "video", "audio") and attrs.get(name):
                self.loads.append(attrs[name])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def page_of(folder: Path, name: str) -> Page:
    return Page(folder / f"{name}.html")


def test_a_page_per_notebook_and_teaching_in_the_series_order(site):
    names = [p.stem for p in NOTEBOOKS]
    for name in [*names, "index", "TEACHING", "search"]:
        assert (site / f"{name}.html").is_file(), f"no page for {name}"
    landing = page_of(site, "index")
    order = [link.removesuffix(".html") for link in landing.links if link.removesuffix(".html") in names + ["TEACHING"]]
    navigation = list(dict.fromkeys(order))  # first appearance: the sidebar, in the toctree's order
    assert navigation == names + ["TEACHING"], navigation
    assert NOT_RUN in "".join(page_of(site, NOTEBOOKS[0].stem).text)  # the stored outputs: nothing was executed
    text = "".join(landing.text)
    assert "The series" in text and "How to run it" in text and "pip install -r requirements.txt" in text
    for nb_path in NOTEBOOKS:
        page = page_of(site, nb_path.stem)
        nb, text = nbformat.read(nb_path, as_version=4), "".join(page.text)
        title = nb.cells[0].source.splitlines()[0].lstrip("# ")
        assert title in text, f"{nb_path.stem}: its title {title!r} is not on its page"
        checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
        verdicts = [o.text.splitlines()[0] for c in checks for o in c.outputs]
        assert len(verdicts) >= 3 and all(v in text for v in verdicts), f"{nb_path.stem}: the checks' verdicts"
        download = [link for link in page.links if link.endswith(f"/{nb_path.name}")]
        assert len(download) == 1 and (site / download[0]).is_file(), f"{nb_path.stem}: no download link"
        student = nbformat.read(site / download[0], as_version=4)
        assert any("...  # your code: " in c.source for c in student.cells), "the download is not the student edition"


def test_every_figure_is_shown_with_alt_text_that_describes_it(site):
    for nb_path in NOTEBOOKS:
        nb = nbformat.read(nb_path, as_version=4)
        figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
        images = [img for img in page_of(site, nb_path.stem).images if "_images/" in img.get("src", "")]
        assert len(images) == figures, f"{nb_path.stem}: {len(images)} images on the page, {figures} in the notebook"
        for img in images:
            alt = img.get("alt", "")
            assert len(alt) > 10 and not alt.startswith("A figure drawn") and "_images" not in alt, (nb_path.stem, alt)


def test_alt_text_reads_titles_labels_and_the_helpers_descriptions():
    helpers = {"show_images": "A grid of images."}
    plot = 'plt.plot(x)\nplt.xlabel("x")\nplt.ylabel("y")\nplt.title("Line")'
    assert figure_alt(plot, {}, helpers) == "Line (y against x)"
    assert figure_alt('show_images(a, b, title=f"First {n} at lr {lr:.2f}")', {"lr": 0.3}, helpers) == \
        "First … at lr 0.30. A grid of images."
    assert figure_alt('ax.set(xlabel="epoch", ylabel="loss", title="Loss")\nfig.suptitle("Training")', {}, helpers) == \
        "Training; Loss (loss against epoch)"
    assert figure_alt("plt.imshow(image)", {}, helpers) is None


def test_only_names_bound_once_to_a_literal_fill_in_titles():
    cells = [nbformat.v4.new_code_cell(source) for source in
             ("lr = 0.3\nseed = 42\nnames = []\nsize = 1", "for seed in range(3):\n    pass\nsize = 2\nx = f(1)")]
    assert literal_settings(cells) == {"lr": 0.3}


def test_nothing_is_loaded_from_outside_the_site(site):
    for path in site.rglob("*.html"):
        outside = [url for url in Page(path).loads if re.match(r"(https?:)?//", url)]
        assert not outside, f"{path.name} loads {outside}"
    for path in site.rglob("*.css"):
        imports = re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", path.read_text(encoding="utf-8"))
        assert not imports, f"{path.name} loads {imports}"
    assert not any("mathjax" in p.name.lower() for p in site.rglob("*"))  # no math, so no math renderer to fetch


def built_text(folder: Path) -> dict[str, str]:
    """Every built file's text: the visible text of a page, the cells of a notebook, any other text file as is."""
    found = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".html":
            found[str(path)] = "".join(Page(path).text)
        elif path.suffix == ".ipynb":
            found[str(path)] = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        else:
            with contextlib.suppress(UnicodeDecodeError):
                found[str(path)] = path.read_text(encoding="utf-8")
    return found


def solutions() -> list[tuple[str, str, bool]]:
    """Each line of a reference solution that the course shows nowhere else: (notebook, line, whole line only).

    A line that the lesson itself shows (``loss.backward()`` before the exercise on one training
    step) is no leak; what is left is the text only a solution holds.
    """
    from mnist_helpers.course.student import student_notebook

    elsewhere = [(ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "TEACHING.md")]
    for nb_path in NOTEBOOKS:
        for cell in student_notebook(nbformat.read(nb_path, as_version=4), nb_path.stem).cells:
            elsewhere += [cell.source, *(o.get("text", "") for o in cell.get("outputs", []))]
    elsewhere = "\n".join(elsewhere)
    found = []
    for nb_path in NOTEBOOKS:
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if "solution" in cell.metadata.get("tags", []):
                # a block's lines count as whole lines; a marked line's answer, anywhere
                whole = "# BEGIN SOLUTION" in cell.source
                found += [(nb_path.stem, line, whole) for line in solution_lines(cell.source) if line not in elsewhere]
    return found


def leaks(folder: Path) -> list[tuple[str, str, str]]:
    """Each line of a reference solution found in a file of the site: (notebook, line, file)."""
    texts = built_text(folder)
    lines = {name: {line.strip() for line in text.splitlines()} for name, text in texts.items()}
    return [(notebook, line, Path(name).name) for notebook, line, whole in solutions()
            for name, text in texts.items() if (line in lines[name] if whole else line in text)]


def test_the_class_edition_holds_no_solution_text_at_all(site, class_site):
    searched = {(notebook, line) for notebook, line, _ in solutions()}
    assert {notebook for notebook, _ in searched} == {p.stem for p in NOTEBOOKS}  # every notebook's solutions
    assert {(notebook, line) for notebook, line, _ in leaks(site)} == searched  # found, where they are shown
    assert leaks(class_site) == []
    assert "...  # your code: " in "".join(page_of(class_site, SOFTMAX).text)
    assert "without their reference solutions" in "".join(page_of(class_site, "index").text)
    assert "Show a solution" in "".join(page_of(site, "index").text)


def test_the_output_folder_is_never_one_the_command_did_not_build(class_site, tmp_path, capsys):
    from mnist_helpers.cli import main

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["site", "--out", str(mine)]) == 2
    assert "holds no edition written by python -m mnist_helpers site" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert main(["site", "--out", str(ROOT / "notebooks" / "site")]) == 2
    assert "lies inside the teacher notebooks' folder" in capsys.readouterr().err
    earlier = tmp_path / "earlier"  # a site this command built, with a file of the reader's added
    shutil.copytree(class_site, earlier)
    (earlier / "_static" / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["site", "--out", str(earlier)]) == 2
    assert "holds files that python -m mnist_helpers site did not write" in capsys.readouterr().err
    (earlier / "_static" / "notes.txt").unlink()
    assert main(["site", "--out", str(earlier)]) == 0  # an earlier site, unchanged: rebuilt in its place
    assert "built the site (" in capsys.readouterr().out
    assert snapshot(earlier)["index.html"] != snapshot(class_site)["index.html"]  # with the solutions this time


def one_notebook(folder: Path, name: str = "01_explore") -> Path:
    folder.mkdir(exist_ok=True)
    return Path(shutil.copyfile(ROOT / "notebooks" / f"{name}.ipynb", folder / f"{name}.ipynb"))


@pytest.mark.parametrize("damage, message", [
    (lambda text: text[:len(text) // 2], r"01_explore.ipynb is not valid JSON \(line \d+"),
    (lambda text: "<<<<<<< HEAD\n" + text + "=======\n>>>>>>> other\n", r"01_explore.ipynb holds merge-conflict"),
])
def test_a_notebook_that_cannot_be_read_is_one_line_naming_it(tmp_path, capsys, damage, message):
    from mnist_helpers.cli import main

    path = one_notebook(tmp_path / "nbs")
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert main(["site", "--notebooks", str(tmp_path / "nbs"), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and re.search(message, err), err
    assert not (tmp_path / "site").exists()


def test_a_folder_without_notebooks_is_one_line_with_advice_that_fits_site(tmp_path, capsys):
    from mnist_helpers.cli import main

    (tmp_path / "empty").mkdir()
    assert main(["site", "--notebooks", str(tmp_path / "empty"), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no notebooks of the series" in err and "give --notebooks" in err
    with pytest.raises(SystemExit):
        main(["site", "--help"])
    assert "--notebooks DIR" in capsys.readouterr().out  # the advice names an option site has


def test_an_unwritable_out_is_refused_before_the_build(tmp_path, capsys, monkeypatch):
    from mnist_helpers.cli import main

    monkeypatch.setattr(site_builder, "helper_descriptions", lambda: pytest.fail("the build started"))
    one_notebook(tmp_path / "nbs")
    assert main(["site", "--notebooks", str(tmp_path / "nbs"), "--out", "/proc/mnist-site"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the site to /proc/mnist-site") and err.count("\n") == 1, err


def test_a_notebook_saved_without_outputs_is_published_with_a_warning(tmp_path, capsys):
    from mnist_helpers.cli import main

    path = one_notebook(tmp_path / "nbs", SOFTMAX)
    nb = nbformat.read(path, as_version=4)
    assert not site_builder.unexecuted(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, path)
    assert site_builder.unexecuted(nb)
    assert main(["site", "--notebooks", str(tmp_path / "nbs"), "--out", str(tmp_path / "site")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {path} was saved without outputs, so its page shows the code alone" in err
    assert (tmp_path / "site" / f"{SOFTMAX}.html").is_file()


def test_a_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr("sphinx.cmd.build.build_main", lambda argv: 2)
    with pytest.raises(SiteError, match="Sphinx could not build the site"):
        site_builder.build(tmp_path / "site")
    assert list(tmp_path.iterdir()) == []


# -- In a browser -------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(folder: Path):
    """A web server for ``folder`` on 127.0.0.1 (a free port), in a thread; yields its address."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site, chromium):
    """A page in Chromium on the served site, and every request it made that left 127.0.0.1 (then refused)."""
    with serving(site) as base, launched(chromium) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        outside = []

        def guard(route):
            if route.request.url.startswith((base, "data:", site.as_uri())):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        yield page, base, outside, errors


IMAGES_LOADED = "() => [...document.images].map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0}))"
LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
IDS = "() => [...document.querySelectorAll('[id]')].map(e => e.id)"


def test_every_page_image_and_internal_link_loads(site, browser):
    page, base, outside, errors = browser
    ids, links = {}, set()
    for path in sorted(site.glob("*.html")):  # every page (_static/ holds templates of the theme)
        url = base + path.relative_to(site).as_posix()
        response = page.goto(url, wait_until="load")
        assert response.ok, f"{url}: HTTP {response.status}"
        broken = [i["src"] for i in page.evaluate(IMAGES_LOADED) if not i["ok"]]
        assert not broken, f"{path.name}: images that did not load: {broken}"
        ids[url] = set(page.evaluate(IDS))
        links |= {(url, link) for link in page.evaluate(LINKS) if link.startswith(base)}
    for source, link in sorted(links):
        target, fragment = urldefrag(link)
        if target.endswith("/"):
            target = urljoin(target, "index.html")
        if target not in ids:  # not a page: a download, a file of the site
            response = page.request.get(target)
            assert response.ok, f"{source} links to {link}: HTTP {response.status}"
        elif fragment:
            assert fragment in ids[target], f"{source} links to {link}: no #{fragment} on that page"
    assert not errors, errors
    assert not outside, f"requests that left 127.0.0.1: {outside}"


def test_search_finds_cross_entropy_on_the_softmax_page(browser):
    page, base, outside, _ = browser
    page.goto(base + "index.html")
    page.locator("button.search-button-field").first.click()
    box = page.locator("#pst-search-dialog input[name=q]")
    box.fill("cross-entropy")
    box.press("Enter")
    page.wait_for_url("**/search.html?q=cross-entropy*")
    found = page.locator(f'#search-results a[href*="{SOFTMAX}.html"]')
    found.first.wait_for(timeout=30_000)
    assert found.count() >= 1
    assert not outside


def test_search_works_from_a_folder_without_a_server(site, browser):
    """A USB stick: the pages opened as files, search included (without the results' excerpts, which
    Sphinx fetches from each page: a browser allows that only from a server)."""
    page, _, outside, errors = browser
    page.goto((site / "search.html").as_uri() + "?q=cross-entropy")
    page.locator(f'#search-results a[href*="{SOFTMAX}.html"]').first.wait_for(timeout=30_000)
    assert not outside and set(errors) <= {"Failed to fetch"}
    errors.clear()


def test_a_solution_is_folded_until_the_toggle_is_clicked(browser):
    page, base, outside, _ = browser
    nb = nbformat.read(ROOT / "notebooks" / f"{SOFTMAX}.ipynb", as_version=4)
    solution = next(c for c in nb.cells if "solution" in c.metadata.get("tags", []))
    answer = solution_lines(solution.source)[0]
    page.goto(base + f"{SOFTMAX}.html")
    folded = page.locator("details.hide", has=page.locator("summary", has_text="Show a solution")).first
    code = folded.locator(".cell_input pre")
    assert not code.is_visible()
    folded.locator("summary").click()
    code.wait_for(state="visible")
    assert answer in code.inner_text()
    assert folded.locator("summary").inner_text().strip() == "Hide the solution"
    assert not outside


def test_dark_mode_and_a_phone_layout(browser):
    page, base, outside, _ = browser
    page.goto(base + f"{SOFTMAX}.html")
    page.locator(".theme-switch-button").first.click()
    page.locator('.theme-change-button[data-mode="dark"]').first.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert sum(map(int, re.findall(r"\d+", background)[:3])) < 3 * 80, f"dark mode, but the background is {background}"
    page.locator('.theme-change-button[data-mode="light"]').first.dispatch_event("click")
    try:
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(base + f"{SOFTMAX}.html")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page is wider than a phone"
        assert not page.locator(".bd-sidebar-primary").first.is_visible()  # the navigation folds into a button
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_screenshot_of_a_notebook_page(browser):
    """The README's picture (copied to docs/site.png): a notebook page with a figure and the navigation."""
    page, base, outside, _ = browser
    page.goto(base + f"{SOFTMAX}.html")
    page.locator("img[src*='_images/']").first.evaluate("img => img.closest('.cell').scrollIntoView({block: 'center'})")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{SOFTMAX}.png"))
    assert (ARTIFACTS / f"{SOFTMAX}.png").stat().st_size > 10_000
    assert not outside
