"""What ``python -m mnist_helpers review`` writes: ``verdicts.csv``, ``index.html`` and ``feedback/NAME.md``.

The page works offline: its CSS is inline and its charts are SVG written here, nothing is loaded from
anywhere. Every string that comes from a submission (names, file names, the lines of its answers' errors) is
escaped with ``html.escape``; the CSV's cells cannot start a spreadsheet formula. The mistakes are counted
as the live class view counts them (``classroom.summary.summarise``), and their messages and notes come from
the verdict catalog (``exercises.registry``). A feedback file holds each exercise's verdict line and its
hint, never a solution.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from html import escape

from ..classroom.storage import spreadsheet_safe
from ..classroom.summary import summarise

COLUMNS = ["learner", "notebook", "file", "exercise", "verdict", "line", "attempt", "seconds", "note"]
HINT_ADVICE = re.compile(r" \(For a hint, run exercises\.q\d+\.hint\(\)\)$")  # the hint follows in feedback
COLOURS = {"correct": "#2e7d32", "not yet": "#ef6c00", "not answered": "#cfd8dc", "not run": "#455a64"}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;
vertical-align:top}th{background:#f3f3f3}.legend span{display:inline-block;width:1em;height:1em;margin:0 .3em 0 1em;
vertical-align:middle}.note{color:#555}section.exercise{margin:1.5rem 0;border-top:1px solid #ddd}
"""


def category(verdict: str) -> str:
    """A row's colour on the heat map: correct, not yet, not answered, or not run (no verdict)."""
    kind = verdict.partition("/")[2]
    return "not run" if not kind else kind.replace("-", " ") if kind in ("correct", "not-answered") else "not yet"


def verdicts_csv(results) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for result in results:
        common = [spreadsheet_safe(result.learner), result.notebook, spreadsheet_safe(result.file)]
        if not result.status:
            writer.writerow(common + ["", "", spreadsheet_safe(f"not reviewed: {result.reason}"), "", "", ""])
        for row in result.rows:
            writer.writerow(common + [row["exercise"], row["verdict"], spreadsheet_safe(row["line"]),
                                      1 if row["verdict"] else "", row["seconds"], spreadsheet_safe(row["note"])])
    return out.getvalue()


def heat_map(learners: list[str], exercises: list[str], cells: dict[tuple[str, str], dict]) -> str:
    """An SVG grid, a row per learner and a column per exercise, each square coloured by its verdict."""
    size, left, top = 26, 160, 40
    width, height = left + size * len(exercises) + 10, top + size * len(learners) + 10
    parts = [f'<svg id="heat-map" role="img" aria-label="verdicts, learners by exercises" width="{width}" '
             f'height="{height}" font-size="11">']
    for column, exercise in enumerate(exercises):
        parts.append(f'<text x="{left + column * size + size / 2}" y="{top - 8}" text-anchor="middle" '
                     f'transform="rotate(-45 {left + column * size + size / 2} {top - 8})">{escape(exercise)}</text>')
    for line, learner in enumerate(learners):
        y = top + line * size
        parts.append(f'<text x="{left - 6}" y="{y + size * 0.65}" text-anchor="end">{escape(learner[:24])}</text>')
        for column, exercise in enumerate(exercises):
            row = cells.get((learner, exercise))
            if row is None:
                continue
            shown = category(row["verdict"])
            parts.append(f'<rect class="cell" data-category="{shown}" x="{left + column * size}" y="{y}" '
                         f'width="{size - 2}" height="{size - 2}" fill="{COLOURS[shown]}"><title>'
                         f'{escape(learner)}, {exercise}: {escape(row["line"])}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(exercise: str, mistakes: list[dict]) -> str:
    """An SVG bar per mistake: how many learners made it."""
    most = max(bar["learners"] for bar in mistakes)
    height, left, width = 22, 260, 300
    parts = [f'<svg class="mistakes" data-exercise="{exercise}" role="img" aria-label="mistakes of {exercise}" '
             f'width="{left + width + 40}" height="{height * len(mistakes) + 4}" '
             'font-size="12">']
    for index, bar in enumerate(mistakes):
        y, length = index * height, max(2, width * bar["learners"] / most)
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(bar["verdict"])}</text>'
                     f'<rect x="{left}" y="{y + 3}" width="{length:.0f}" height="{height - 6}" fill="#ef6c00">'
                     f'<title>{escape(bar["message"])}</title></rect>'
                     f'<text x="{left + length + 5:.0f}" y="{y + 15}">{bar["learners"]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def index_html(results, catalog: dict) -> str:
    reviewed = [r for r in results if r.status]
    learners = sorted({r.learner for r in reviewed}, key=str.lower)
    exercises = sorted({row["exercise"] for r in reviewed for row in r.rows})
    cells = {(r.learner, row["exercise"]): row for r in reviewed for row in r.rows}
    number = {name: index for index, name in enumerate(learners)}
    reports = [(number[r.learner], row["exercise"], row["verdict"], 1, 0.0) for r in reviewed for row in r.rows
               if row["verdict"] in catalog]
    summary = summarise(catalog, exercises, [(i, n) for n, i in number.items()], reports, now=0.0)
    counts = {shown: sum(category(row["verdict"]) == shown for row in cells.values()) for shown in COLOURS}
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Review of the returned notebooks"
             f"</title><style>{STYLE}</style></head><body><h1>Review of the returned notebooks</h1>",
             f"<p id='summary'>{len(reviewed)} notebooks of {len(learners)} learners reviewed, "
             f"{len(results) - len(reviewed)} files not reviewed. Every verdict comes from running the learner's "
             "answer cells inside the teacher's notebook, with the course's own checks.</p>",
             "<h2>Verdicts, learners by exercises</h2><p class='legend'>"
             + "".join(f"<span style='background:{colour}'></span>{name} ({counts[name]})"
                       for name, colour in COLOURS.items()) + "</p>", heat_map(learners, exercises, cells),
             "<h2>Mistakes, exercise by exercise</h2>"]
    for entry in summary["exercises"]:
        parts.append(f"<section class='exercise' id='exercise-{entry['exercise']}'><h3>Exercise "
                     f"{entry['exercise']}</h3>")
        if not entry["mistakes"]:
            parts.append("<p>No mistakes.</p></section>")
            continue
        parts.append(bar_chart(entry["exercise"], entry["mistakes"]) + "<table class='mistakes-table'><tr>"
                     "<th>verdict</th><th>learners</th><th>message</th><th>what to say to the class</th></tr>")
        parts += [f"<tr><td><code>{escape(bar['verdict'])}</code></td><td>{bar['learners']}</td>"
                  f"<td>{escape(bar['message'])}</td><td class='note'>{escape(bar['note'])}</td></tr>"
                  for bar in entry["mistakes"]]
        parts.append("</table></section>")
    parts.append("<h2>Not reviewed, or stopped early</h2><table id='not-reviewed'><tr><th>learner</th><th>file</th>"
                 "<th>why</th></tr>")
    parts += [f"<tr><td>{escape(r.learner)}</td><td>{escape(r.file)}</td><td>{escape(r.reason or r.status)}</td></tr>"
              for r in results if r.status != "reviewed"]
    parts.append("</table><h2>Every verdict</h2><table id='verdicts'><tr><th>learner</th><th>notebook</th>"
                 "<th>exercise</th><th>verdict</th><th>line</th><th>note</th></tr>")
    parts += [f"<tr><td>{escape(r.learner)}</td><td>{escape(r.notebook)}</td><td>{row['exercise']}</td>"
              f"<td><code>{escape(row['verdict'])}</code></td><td>{escape(row['line'])}</td>"
              f"<td class='note'>{escape(row['note'])}</td></tr>" for r in reviewed for row in r.rows]
    parts.append("</table></body></html>\n")
    return "".join(parts)


def file_name(learner: str, taken: set[str]) -> str:
    """A safe file name for a learner's feedback, unique among ``taken``."""
    base = re.sub(r"[^\w-]+", "_", learner).strip("_")[:60] or "learner"
    name, number = base, 2
    while name.lower() in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name.lower())
    return f"feedback/{name}.md"


def feedback(learner: str, results, hints: dict[str, str]) -> str:
    """One learner's feedback: per notebook, each exercise's verdict line and its hint."""
    lines = [f"# Feedback for {learner}", ""]
    for result in sorted(results, key=lambda r: (r.notebook, r.file)):
        lines += [f"## {result.notebook} ({result.file})", ""]
        if result.status != "reviewed":
            lines += [f"The review stopped early: {result.status}.", ""]
        for row in result.rows:
            lines.append(f"- **Exercise {row['exercise']}**: {HINT_ADVICE.sub('', row['line'])}")
            if not row["verdict"].endswith("/correct") and row["exercise"] in hints:
                lines.append(f"  - Hint: {hints[row['exercise']]}")
        lines.append("")
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def catalog_and_hints() -> tuple[dict, dict[str, str]]:
    """The verdict catalog and each exercise's hint, read once (the report is written after every notebook)."""
    from ..exercises import registry

    return registry.catalog(), {exercise.exercise: exercise._hint for exercise in registry.all_exercises()}


def report_files(results) -> dict[str, bytes]:
    """Every file of the report, by its name in the output folder."""
    catalog, hints = catalog_and_hints()
    files = {"verdicts.csv": verdicts_csv(results), "index.html": index_html(results, catalog)}
    taken: set[str] = set()
    for learner in sorted({r.learner for r in results if r.status}, key=str.lower):
        files[file_name(learner, taken)] = feedback(learner, [r for r in results if r.learner == learner
                                                              and r.status], hints)
    return {name: text.encode("utf-8") for name, text in files.items()}
