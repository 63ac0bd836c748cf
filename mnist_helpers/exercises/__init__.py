"""Exercises that check themselves: one module per notebook (``nb01`` ... ``nb08``).

In a notebook::

    from mnist_helpers.exercises import nb04 as exercises
    ...
    exercises.q1.check(softmax)   # prints "Correct: ..." or what is wrong, never the solution
    exercises.q1.hint()           # a hint, on demand

A check judges what an answer does, never how it is written: it runs the learner's code on cases
of its own (among them the edge the exercise is about), and any idiom that does what the task
asks passes. The code gets copies of the check's tensors, so an answer that changes its input is
caught, not judged against the changed input. Every problem becomes one line in a learner's words,
never a traceback; an exercise left as its stub (``...``) is reported as not answered yet.

The kernel's stop button still stops an answer that runs too long: the check then shows one line,
``Stopped: ...``, and the run stops as after any interrupt; the next check starts afresh.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import numbers
import signal
import textwrap
import warnings
from collections.abc import Callable

import numpy as np
import torch


class Wrong(Exception):
    """What is wrong with an answer, in a learner's words (raised by a check)."""


class NotAnswered(Exception):
    """The answer is still the stub of the student edition."""


class Stopped(KeyboardInterrupt):
    """The stop button was pressed while a check ran. Still an interrupt, so the run stops; one line in Jupyter."""

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [str(self)]


class _StopButton:
    """Tells the kernel's stop button from a KeyboardInterrupt that the learner's code raises itself.

    Jupyter's stop button sends the kernel a SIGINT signal; while a check runs, this handler notes it.
    """

    def __init__(self):
        self.pressed = self.listening = False

    def _on_sigint(self, signum, frame):
        self.pressed = True
        raise KeyboardInterrupt

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, self._on_sigint)
            self.listening = True
        except ValueError:  # not the main thread: no way to tell, so every interrupt counts as the button
            pass
        return self

    def __exit__(self, *exc):
        if self.listening:
            signal.signal(signal.SIGINT, self.previous)

    def was_pressed(self, err: BaseException) -> bool:
        return isinstance(err, KeyboardInterrupt) and (self.pressed or not self.listening)


class Exercise:
    """One exercise: a check of the answer and a hint.

    ``judge(answer)`` raises ``Wrong`` with what is wrong, or returns a sentence for a right answer.
    ``answer_name`` is the name the notebook gives the answer, used to say how to call ``check``.
    """

    def __init__(self, name: str, judge: Callable, hint: str, answer_name: str = "your_answer"):
        self.name, self.judge, self._hint, self.answer_name = name, judge, hint, answer_name

    def verdict(self, answer) -> str:
        """The one line ``check`` prints.

        The check runs with gradients on, its own random seed (the notebook's random state is left
        as it was) and warnings silenced; whatever the answer raises, even ``SystemExit``, becomes
        a line. Only the stop button gets through, as ``Stopped``.
        """
        button = _StopButton()
        with button, warnings.catch_warnings(), torch.random.fork_rng(devices=[]), torch.enable_grad():
            warnings.simplefilter("ignore")
            torch.manual_seed(0)
            try:
                if answer is ... or answer is None:
                    raise NotAnswered
                praise = self.judge(answer)
            except NotAnswered:
                return ("Not answered yet: write your answer in the cell above (replace the ...), run it, then this "
                        "check.")
            except Wrong as why:
                return one_line(f"Not yet: {why} (For a hint, run exercises.{self.name}.hint())")
            except BaseException as err:  # anything no check foresaw, raised by the learner's code
                if button.was_pressed(err):
                    raise Stopped("Stopped: you interrupted the check before it could judge your answer; run it "
                                  "again when your code is ready (if it never ends, look for a loop that never "
                                  "stops).") from None
                return one_line(f"Not yet: checking your answer, your code {what_went_wrong(err)} "
                                f"(For a hint, run exercises.{self.name}.hint())")
        return f"Correct: {praise}" if praise else "Correct!"

    def check(self, *answers, **named) -> None:
        """Print whether the answer is right and, if not, what is wrong, in one line."""
        given = list(answers) + list(named.values())
        if len(given) != 1:
            how = f"exercises.{self.name}.check({self.answer_name})"
            print(f"Give the check your answer, one value: {how}" if not given else
                  f"The check takes one answer, not {len(given)}: {how}")
            return
        print(self.verdict(given[0]))

    def hint(self, *_) -> None:
        """Print a hint: the idea or the function to think about, never the solution."""
        print(f"Hint: {self._hint}")


def one_line(text: str) -> str:
    """``text`` on one line, however many lines the learner's error messages had."""
    return " ".join(text.split())


def what_went_wrong(err: BaseException) -> str:
    """What the learner's code did, for a message: "raised ValueError (the message)" or "called sys.exit()"."""
    if isinstance(err, SystemExit):
        return "called sys.exit() (or exit()), which ends the program"
    try:
        message = one_line(str(err))
    except Exception:
        message = ""
    if len(message) > 160:
        message = message[:157] + "..."
    return f"raised {type(err).__name__}" + (f" ({message})" if message else "")


def mnist(train: bool = True):
    """MNIST's training (or test) images and labels, from the data folder the notebook uses, loaded once.

    The checks only read them: a learner's answer never gets these tensors.
    """
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
    except (OSError, TypeError, SyntaxError):  # no source (code run with exec): compare the bytecode
        code = getattr(function, "__code__", None)
        return (code is not None and code.co_code == _empty.__code__.co_code
                and all(c is None or isinstance(c, str) for c in code.co_consts))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else []
    return bool(body) and all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                              and (s.value.value is ... or isinstance(s.value.value, str)) for s in body)


def _empty(*args):
    """What a stub compiles to."""
    ...


def name_of(function: Callable) -> str:
    name = getattr(function, "__name__", "")
    return name if isinstance(name, str) and name.isidentifier() else "your function"


def call(function: Callable, *args, given: str, returns: bool = True):
    """Call the learner's ``function`` on ``args`` and return its result.

    Tensors in ``args`` are passed as copies, and the check's own stay as they were. Raises
    ``Wrong`` if ``function`` is not a function, fails, changes a tensor it was given, or returns
    nothing (unless ``returns=False``); ``given`` says with what, as in "when given {given}".
    """
    if not callable(function):
        raise Wrong(f"the answer should be a function (def ...), got a {type(function).__name__}")
    if is_stub(function):
        raise NotAnswered
    name = name_of(function)
    copies = [arg.clone() if isinstance(arg, torch.Tensor) else arg for arg in args]
    try:
        result = function(*copies)
    except KeyboardInterrupt:
        raise  # the stop button, or the learner's own: Exercise.verdict tells which
    except BaseException as err:
        advice = ": a function should return its result instead" if isinstance(err, SystemExit) else ""
        raise Wrong(f"{name} {what_went_wrong(err)} when given {given}{advice}") from None
    for original, copy in zip(args, copies, strict=True):
        if isinstance(original, torch.Tensor) and not same_tensor(original, copy):
            raise Wrong(f"{name} changed the tensor it was given ({given}) in place, with an operation like -=, "
                        "x[...] = or a method ending in _: compute a new tensor and leave the input as it was")
    if returns and result is None:
        raise Wrong(f"{name} returned nothing when given {given}: did you forget `return`?")
    return result


def same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape, dtype and values (NaN counts as equal to NaN)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if torch.equal(a, b):
        return True
    return a.is_floating_point() and bool(torch.isclose(a, b, rtol=0, atol=0, equal_nan=True).all())


def number(value, what: str):
    """``value`` as a Python int or float, if it is one finite number of any kind; else ``Wrong``.

    Accepted: int, float, NumPy scalars, and tensors or arrays holding one number (``.sum()``, ``.item()``...).
    """
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        if size != 1:
            raise Wrong(f"{what} should be one number; got a {type(value).__name__} of shape {list(value.shape)}")
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        raise Wrong(f"{what} should be a number; got {value}, a yes/no value")
    if isinstance(value, str):
        raise Wrong(f"{what} should be a number; got text (a str): give the number itself, without quotes")
    if isinstance(value, numbers.Integral):
        if abs(value) > 2**53:
            raise Wrong(f"{what} is a number with {len(str(abs(int(value))))} digits, far too large")
        return int(value)
    if not isinstance(value, numbers.Real):
        raise Wrong(f"{what} should be a number; got a {type(value).__name__}")
    if not math.isfinite(value):
        raise Wrong(f"{what} is {value}: it should be a finite number")
    return float(value)


def is_one_number(value) -> bool:
    """Whether ``number`` accepts ``value``."""
    try:
        number(value, "")
    except Wrong:
        return False
    return True


def whole_number(value, what: str) -> int:
    """``number(value)``, which must also be a whole number (3.0 counts as 3)."""
    value = number(value, what)
    if value != int(value):
        raise Wrong(f"{what} is {value:g}, not a whole number")
    return int(value)


def numbers_in(value, what: str) -> torch.Tensor:
    """``value`` as a float64 tensor on the CPU, if it is a tensor, a NumPy array, a list or a tuple of numbers."""
    if isinstance(value, (list, tuple)):
        value = np.array([number(x, f"each entry of {what}") for x in value], dtype=np.float64)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        value = torch.from_numpy(value.astype(np.float64))
    if not isinstance(value, torch.Tensor):
        raise Wrong(f"{what} should be a tensor; got a {type(value).__name__}")
    if value.is_complex():
        raise Wrong(f"{what} should hold real numbers; got complex ones")
    return value.detach().cpu().to(torch.float64)


def close(a: torch.Tensor, b: torch.Tensor, tolerance: float = 1e-5) -> bool:
    """Same shape and values within ``tolerance`` (relative for large values); NaN or inf is never close."""
    try:
        a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    except (OverflowError, RuntimeError):  # an integer too large for a float
        return False
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and bool(
        ((a - b).abs() <= tolerance * b.abs().clamp(min=1)).all())


def explain(got, mistakes, otherwise: str, same: Callable = close) -> Wrong:
    """The ``Wrong`` for an answer that gave ``got``: the message of the first typical mistake that gives the
    same, else ``otherwise``. ``mistakes`` are (what that mistake gives on this case, message) pairs."""
    for value, message in mistakes:
        if same(got, value):
            return Wrong(message)
    return Wrong(otherwise)


def whole_numbers(value, what: str, count: int) -> tuple[int, ...]:
    """``value`` as ``count`` whole numbers: a tuple or a list of them, or a tensor or an array of ``count`` numbers."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 1 and len(value) == count:
        value = value.tolist()
    if not isinstance(value, (tuple, list)) or len(value) != count:
        got = f"{len(value)} values" if isinstance(value, (tuple, list)) else f"one {type(value).__name__}"
        raise Wrong(f"{what} should be {count} numbers, like (a, b); got {got}")
    return tuple(whole_number(x, f"each number of {what}") for x in value)


def yes_or_no(value, what: str) -> bool:
    """``value`` as True or False: a bool, a NumPy bool, or a tensor holding one True/False."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype == torch.bool:
        value = value.item()
    if isinstance(value, np.bool_):
        value = bool(value)
    if not isinstance(value, bool):
        raise Wrong(f"{what} should be True or False; got a {type(value).__name__}")
    return value
