"""Verdicts with stable ids: what a check decided, in a form a class view or a reviewer can count.

A verdict id is the exercise ("05.2": notebook 5, exercise q2) and a kind, the verdict's name for that exercise:
``05.2/zero-grad-missing``. Kinds are lowercase words joined by "-" and stay the same while a message's wording
changes, so counts from different days (or versions of the course) add up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KIND = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@dataclass(frozen=True)
class Verdict:
    """One check's outcome: the exercise, the verdict's id and the one line the check printed."""

    exercise: str  # "05.2" (notebook 5, exercise q2)
    id: str  # "05.2/zero-grad-missing"
    line: str  # the one line check prints

    @property
    def kind(self) -> str:
        """The part of the id after "/": "zero-grad-missing", "correct", "not-yet"..."""
        return self.id.partition("/")[2]

    def __str__(self) -> str:
        return self.line

    def _ipython_display_(self) -> None:
        """Shows nothing: a cell ending in ``exercises.q2.check(x)`` shows only the line check printed."""


@dataclass(frozen=True)
class VerdictInfo:
    """What the catalog says about one verdict id: the check's message and what a teacher says to the class."""

    exercise: str
    id: str
    kind: str
    message: str
    note: str


# Verdicts every exercise can give, whatever its mistakes: kind -> (description, note for the teacher).
GENERIC = {
    "correct": ("Correct: the answer does what the task asks.",
                "Nothing to explain; ask a learner who has it to show an idiom the others did not use."),
    "not-answered": ("Not answered yet: the answer is still the stub (...).",
                     "The learner has not started; many of these late in a lesson mean the task or its hint is "
                     "unclear."),
    "not-yet": ("Not yet: a wrong answer that matches none of the typical mistakes.",
                "Ask to see one: a mistake the check does not name yet may be worth a message of its own."),
    "raised": ("Not yet: the learner's code raised an error that no check foresaw.",
               "Usually a typo or a wrong name; suggest running the function on a small input before the check."),
    "stopped": ("Stopped: the learner pressed the stop button while the check ran.",
                "Often an endless loop; look for a loop whose condition never changes."),
    "timed-out": ("The answer ran past a reviewer's time limit (never given by a check itself).",
                  "Look for a loop that never ends, or one over every pixel in pure Python."),
}

# Verdicts of the helpers that judge an answer's form (call, number, ...): kind -> (description, note).
STRUCTURAL = {
    "not-a-function": ("Not yet: the answer should be a function (def ...).",
                       "Show that the check takes the function's name, without calling it (no parentheses)."),
    "changed-input": ("Not yet: the function changed the tensor it was given, in place.",
                      "Explain in-place operations (-=, x[...] =, methods ending in _) and why a function should "
                      "leave its input alone."),
    "returned-nothing": ("Not yet: the function returned nothing: did you forget `return`?",
                         "Show print versus return: a value printed is not a value given back."),
    "not-a-number": ("Not yet: the answer should be one finite number (a tensor of one number counts).",
                     "Show .item(), and the difference between a number, a text and a tensor of many numbers."),
    "too-large": ("Not yet: the answer holds far more numbers than it should (its shape is named).",
                  "Often the whole dataset where a few images were asked for: print the answer's shape."),
    "not-whole": ("Not yet: the answer should be a whole number.",
                  "Show // against /, and where a count can never be a fraction."),
    "not-a-tensor": ("Not yet: the answer should be a tensor (or an array or a list of numbers).",
                     "Show what the function returns with type(...) before checking it."),
    "not-numbers": ("Not yet: the answer should be a given count of numbers, like (a, b).",
                    "Show how to return two values at once, as a tuple."),
    "not-yes-or-no": ("Not yet: the answer should be True or False.",
                      "Show that a comparison of tensors gives a tensor: .all() or torch.equal gives one answer."),
}


def verdict_id(exercise: str, kind: str) -> str:
    """ "05.2" and "zero-grad-missing" make "05.2/zero-grad-missing"; a kind that is not lowercase words is refused."""
    if not KIND.fullmatch(kind):
        raise ValueError(f"a verdict kind is lowercase words joined by '-', not {kind!r}")
    return f"{exercise}/{kind}"
