"""Every verdict any check can give, by id, with the check's message and the note a teacher says to the class.

The notes are declared once, beside their mistakes (each exercise's ``mistakes``); the messages are read from the
checks' own source, where each ``Wrong(message, "kind")`` (or a ``(value, "kind", message)`` row of a mistake
table) is written, so the catalog cannot drift from what a learner reads. Values that depend on the case are shown
as "…".
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from types import ModuleType

from . import Exercise, forbidden_kind, forbidden_message
from .verdicts import GENERIC, STRUCTURAL, VerdictInfo, verdict_id

BLANK = "…"
WIDTH = 100  # TEACHING.md's line length


def modules() -> list[ModuleType]:
    """The exercise modules, one per notebook, in course order (nb01, nb02, ...)."""
    from .. import exercises

    names = sorted(m.name for m in pkgutil.iter_modules(exercises.__path__)
                   if m.name.startswith("nb") and m.name[2:].isdigit())
    return [importlib.import_module(f"{exercises.__name__}.{name}") for name in names]


def exercises_of(module: ModuleType) -> list[Exercise]:
    """A module's exercises, in order (q1, q2, ...)."""
    found = [value for value in vars(module).values() if isinstance(value, Exercise)]
    return sorted(found, key=lambda exercise: int(exercise.name.removeprefix("q")))


def all_exercises() -> list[Exercise]:
    return [exercise for module in modules() for exercise in exercises_of(module)]


def exercise_ids() -> list[str]:
    """Every exercise's id, in course order: "01.1", "01.2", ..."""
    return [exercise.exercise for exercise in all_exercises()]


def _text(node: ast.AST, strings: dict[str, str]) -> str:
    """A message expression as text: literal parts kept, computed parts shown as "…"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(part, strings) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left, strings) + _text(node.right, strings)
    if isinstance(node, ast.IfExp):
        return _text(node.body, strings)
    if isinstance(node, ast.Name) and node.id in strings:
        return strings[node.id]
    return BLANK


def messages_in(module: ModuleType, kinds: set[str]) -> dict[tuple[str, str], str]:
    """The messages written in ``module``'s source for ``kinds``: {(function name, kind): message}.

    Found: ``Wrong(message, "kind")`` and any tuple holding a kind followed by its message.
    """
    tree = ast.parse(inspect.getsource(module))
    strings = {target.id: node.value.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
               and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
               for target in node.targets if isinstance(target, ast.Name)}
    found: dict[tuple[str, str], str] = {}
    for function in [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.Assign))]:
        name = function.name if isinstance(function, ast.FunctionDef) else ""
        for node in ast.walk(function):
            pairs = []
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Wrong" and len(node.args) == 2:
                pairs = [(node.args[1], node.args[0])]
            elif isinstance(node, ast.Tuple):
                pairs = list(zip(node.elts[:-1], node.elts[1:], strict=True))
            for kind, message in pairs:
                if isinstance(kind, ast.Constant) and kind.value in kinds:
                    found.setdefault((name, kind.value), " ".join(_text(message, strings).split()))
    return found


def catalog() -> dict[str, VerdictInfo]:
    """Every verdict id any check can give, in course order, with its message and the teacher's note.

    Each exercise has the generic verdicts, those of the helpers that judge an answer's form (``call``,
    ``as_number``...), and its own mistakes.
    """
    from .. import exercises as package

    shared = messages_in(package, set(STRUCTURAL))
    result: dict[str, VerdictInfo] = {}
    for module in modules():
        found = messages_in(module, {kind for e in exercises_of(module) for kind in e.mistakes})
        for exercise in exercises_of(module):
            entries = [(kind, description, note) for kind, (description, note) in GENERIC.items()]
            entries += [(kind, next((m for (_, k), m in shared.items() if k == kind), description), note)
                        for kind, (description, note) in STRUCTURAL.items()]
            forbidden = {forbidden_kind(shown): forbidden_message(shown) for shown in exercise.without}
            entries += [(kind, forbidden.get(kind) or found.get((exercise.judge.__name__, kind))
                         or next((m for (_, k), m in found.items() if k == kind), ""), note)
                        for kind, note in exercise.mistakes.items()]
            for kind, message, note in entries:
                full = verdict_id(exercise.exercise, kind)
                result[full] = VerdictInfo(exercise.exercise, full, kind, message, note)
    return result


def teaching_notes() -> str:
    """TEACHING.md's section "Mistakes, by id", written from the catalog."""
    lines = ["## Mistakes, by id", "",
             "Every verdict a check gives has an id, the exercise and a kind (`05.2/zero-grad-missing`), kept while "
             "the wording changes. Below, for each id, what to say to the class when many learners get it. The "
             "notes are declared beside their mistakes in `mnist_helpers/exercises/`; this section is written from "
             "them by `python -m mnist_helpers.exercises.registry`.", "",
             "Every exercise (write its id in place of `NN.N`):", ""]
    lines += [f"- `NN.N/{kind}`: {note}" for kind, (_, note) in {**GENERIC, **STRUCTURAL}.items()]
    for module in modules():
        for exercise in exercises_of(module):
            if exercise.mistakes:
                lines += ["", f"Exercise {exercise.exercise}:", ""]
                lines += [f"- `{verdict_id(exercise.exercise, kind)}`: {note}"
                          for kind, note in exercise.mistakes.items()]
    wrapped = [textwrap.fill(line, WIDTH, subsequent_indent="  " if line.startswith("- ") else "",
                             break_on_hyphens=False, break_long_words=False) if line else line for line in lines]
    return "\n".join(wrapped) + "\n"


if __name__ == "__main__":
    print(teaching_notes(), end="")
