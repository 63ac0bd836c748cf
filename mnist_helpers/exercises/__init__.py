"""Exercises that check themselves: one module per notebook (``nb01`` ... ``nb07``).

In a notebook::

    from mnist_helpers.exercises import nb04 as exercises
    ...
    exercises.q1.check(softmax)   # prints "Correct: ..." or what is wrong, never the solution
    exercises.q1.hint()           # a hint, on demand

A check runs the learner's answer on cases of its own, and turns every problem into one line in
a learner's words: never a bare "wrong", never a traceback. An exercise left as its stub (``...``)
is reported as not answered yet.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from typing import Callable


class Wrong(Exception):
    """What is wrong with an answer, in a learner's words (raised by a check)."""


class NotAnswered(Exception):
    """The answer is still the stub of the student edition."""


class Exercise:
    """One exercise: a check of the answer and a hint.

    ``judge(answer)`` raises ``Wrong`` with what is wrong, or returns a sentence for a right answer.
    """

    def __init__(self, name: str, judge: Callable, hint: str):
        self.name, self.judge, self._hint = name, judge, hint

    def verdict(self, answer) -> str:
        """The one line ``check`` prints."""
        try:
            if answer is ... or answer is None:
                raise NotAnswered
            praise = self.judge(answer)
        except NotAnswered:
            return "Not answered yet: write your answer in the cell above (replace the ...), run it, then this check."
        except Wrong as why:
            return f"Not yet: {why} (For a hint, run exercises.{self.name}.hint())"
        except Exception as err:  # the learner's code failed in a way no check foresaw
            return f"Not yet: checking your answer raised {type(err).__name__}: {err}"
        return f"Correct: {praise}" if praise else "Correct!"

    def check(self, answer) -> None:
        """Print whether ``answer`` is right and, if not, what is wrong."""
        print(self.verdict(answer))

    def hint(self) -> None:
        """Print a hint (never the solution)."""
        print(f"Hint: {self._hint}")


def mnist(train: bool = True):
    """MNIST's training (or test) images and labels, from the data folder the notebook uses, loaded once."""
    from ..download import data_root_in_use

    return _load_mnist(train, data_root_in_use("mnist"))


@functools.lru_cache(maxsize=2)
def _load_mnist(train: bool, data_root):
    from ..data import load_mnist

    return load_mnist(train=train, data_root=data_root)


def is_stub(function: Callable) -> bool:
    """Whether ``function``'s body is only a docstring and ``...`` (the student edition's stub)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else []
    return bool(body) and all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                              and (s.value.value is ... or isinstance(s.value.value, str)) for s in body)


def call(function: Callable, *args, given: str):
    """Call the learner's ``function``; any exception becomes a ``Wrong`` that says with what input."""
    if not callable(function):
        raise Wrong(f"the answer should be a function (def ...), got a {type(function).__name__}")
    if is_stub(function):
        raise NotAnswered
    name = getattr(function, "__name__", "your function")
    try:
        result = function(*args)
    except Exception as err:
        raise Wrong(f"{name} raised {type(err).__name__} ({err}) when given {given}") from None
    if result is None:
        raise Wrong(f"{name} returned nothing when given {given}: did you forget `return`?")
    return result
