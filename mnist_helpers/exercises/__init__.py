"""Exercises that check themselves: one module per notebook (``nb01``, ``nb02``, ...; see ``registry.modules``).

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
import contextlib
import contextvars
import functools
import inspect
import math
import numbers
import random
import re
import signal
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import torch

from ..classroom.client import join_class  # noqa: F401  (opt-in: see join_class)
from ..classroom.client import report as _report_to_class
from .verdicts import GENERIC, STRUCTURAL, Verdict, VerdictInfo, verdict_id

# Called with every Verdict a check gives (after its line is printed): how a class view or a reviewer hears of it.
# A reporter that raises is ignored: it never changes what the learner sees.
reporters: list[Callable[[Verdict], object]] = []
reporters.append(_report_to_class)  # sends nothing unless this kernel joined a class


class Wrong(Exception):
    """What is wrong with an answer, in a learner's words (raised by a check).

    ``mistake`` names the typical mistake (a verdict kind such as "zero-grad-missing", declared with its note in
    the exercise's ``mistakes``); without one the verdict is "not-yet".
    """

    def __init__(self, message: str, mistake: str | None = None):
        super().__init__(message)
        self.mistake = mistake


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
    """One exercise: a check of the answer and a hint, declared by keyword in its notebook's module::

        q1 = Exercise(judge=_count_parameters, hint="...", answer="count_parameters", mistakes={...})

    ``judge(answer)`` raises ``Wrong`` with what is wrong, or returns a sentence for a right answer.
    ``answer`` is the name the notebook gives the answer, used to say how to call ``check``.
    ``mistakes`` maps each typical mistake's kind (the ``mistake=`` of its ``Wrong``) to what a teacher says to
    the class about it; ``without`` names what the task forbids. The exercise's name (``q1``) is the one the
    module gives it, and its id (``"03.1"``) comes from the module's name and that one.
    """

    def __init__(self, *, judge: Callable, hint: str, answer: str = "your_answer",
                 mistakes: dict[str, str] | None = None, without: dict[str, list[tuple[object, str]]] | None = None):
        self.judge, self._hint, self.answer_name = judge, hint, answer
        self.mistakes = dict(mistakes or {})
        self.without = dict(without or {})  # what the task forbids: {"F.conv2d": [(F, "conv2d"), ...]}
        for kind in self.mistakes:
            verdict_id("00.0", kind)  # refuses a kind that is not lowercase words
        for shown in self.without:
            assert forbidden_kind(shown) in self.mistakes, f"{judge.__name__}: give {forbidden_kind(shown)} a note"

    @functools.cached_property
    def name(self) -> str:
        """The name the exercise's module gives it: ``q1``, ``q2``..."""
        module = sys.modules[self.judge.__module__]
        names = [name for name, value in vars(module).items() if value is self]
        if len(names) != 1:
            raise LookupError(f"an exercise of {module.__name__} must have one name in its module, not {names}")
        return names[0]

    @functools.cached_property
    def exercise(self) -> str:
        """The exercise's id: the notebook's number and the exercise's, ``"05.2"``."""
        notebook = self.judge.__module__.rpartition(".")[2].removeprefix("nb")
        return f"{notebook}.{self.name.removeprefix('q')}"

    def _judged(self, answer):
        """``judge(answer)``; an answer that is right but calls what the task forbids is not yet."""
        with _watching(self.without) as used:
            praise = self.judge(answer)
        used |= {shown for shown, places in self.without.items()  # the forbidden function given as the answer
                 if any(answer is getattr(owner, attribute) for owner, attribute in places)}
        for shown in self.without:
            if shown in used:
                raise Wrong(forbidden_message(shown), forbidden_kind(shown))
        return praise

    def _verdict(self, kind: str, line: str) -> Verdict:
        known = kind in GENERIC or kind in STRUCTURAL or kind in self.mistakes
        return Verdict(self.exercise, verdict_id(self.exercise, kind if known else "not-yet"), line)

    def verdict(self, answer) -> Verdict:
        """The verdict on ``answer``, with the one line ``check`` prints.

        The check runs with gradients on, its own random seeds and default dtype (the notebook's random states,
        default dtype and gradient mode are left as they were) and warnings silenced; whatever the answer raises,
        even ``SystemExit``, becomes a line. Only the stop button gets through, as ``Stopped``.
        """
        button = _StopButton()
        with button, warnings.catch_warnings(), _global_state_kept(), torch.enable_grad():
            warnings.simplefilter("ignore")
            torch.manual_seed(0)
            try:
                if answer is ... or answer is None:
                    raise NotAnswered
                praise = self._judged(answer)
            except NotAnswered:
                return self._verdict("not-answered", "Not answered yet: write your answer in the cell above "
                                                     "(replace the ...), run it, then this check.")
            except Wrong as why:
                return self._verdict(why.mistake or "not-yet", one_line(
                    f"Not yet: {why} (For a hint, run exercises.{self.name}.hint())"))
            except BaseException as err:  # anything no check foresaw, raised by the learner's code
                if button.was_pressed(err):
                    raise Stopped("Stopped: you interrupted the check before it could judge your answer; run it "
                                  "again when your code is ready (if it never ends, look for a loop that never "
                                  "stops).") from None
                return self._verdict("raised", one_line(f"Not yet: checking your answer, your code "
                                                        f"{what_went_wrong(err)} (For a hint, run "
                                                        f"exercises.{self.name}.hint())"))
        return self._verdict("correct", f"Correct: {praise}" if praise else "Correct!")

    def check(self, *answers, **named) -> Verdict | None:
        """Print whether the answer is right and, if not, what is wrong, in one line; return the verdict.

        Every reporter in ``mnist_helpers.exercises.reporters`` is then given the verdict.
        """
        given = list(answers) + list(named.values())
        if len(given) != 1:
            how = f"exercises.{self.name}.check({self.answer_name})"
            print(f"Give the check your answer, one value: {how}" if not given else
                  f"The check takes one answer, not {len(given)}: {how}")
            return None
        try:
            verdict = self.verdict(given[0])
        except Stopped as stopped:
            _report(self._verdict("stopped", str(stopped)))
            raise
        print(verdict.line)
        _report(verdict)
        return verdict

    def hint(self, *_) -> None:
        """Print a hint: the idea or the function to think about, never the solution."""
        print(f"Hint: {self._hint}")


def catalog() -> dict[str, VerdictInfo]:
    """Every verdict id any check can give, with its message and what a teacher says about it."""
    from .registry import catalog as every_verdict

    return every_verdict()


def exercise_ids() -> list[str]:
    """Every exercise's id in course order: "01.1", "01.2", ..."""
    from .registry import exercise_ids as ids

    return ids()


def forbidden_kind(shown: str) -> str:
    """The verdict kind of an answer that uses what the task forbids: "F.conv2d" gives "uses-f-conv2d"."""
    return "uses-" + "-".join(re.findall(r"[a-z0-9]+", shown.lower().replace("_", "-")))


def forbidden_message(shown: str) -> str:
    return f"this exercise is to write it without `{shown}`: the answer is right, but it calls `{shown}`"


_INHERITED = object()
_answer_running = contextvars.ContextVar("answer_running", default=False)


@contextlib.contextmanager
def _watching(forbidden: dict[str, list[tuple[object, str]]]) -> Iterator[set[str]]:
    """For the length of a check, replaces each forbidden function with one that notes when the learner's code
    (run by ``call``) calls it, then calls the original; everything is put back afterwards, however the check ends.
    """
    used: set[str] = set()
    replaced = []
    try:
        for shown, places in forbidden.items():
            for owner, attribute in places:
                own = vars(owner)  # a class's own attribute, or a module's
                original = own.get(attribute, _INHERITED)  # an inherited one (Tensor.relu) is deleted afterwards
                function = getattr(owner, attribute)

                def noted(*args, _function=function, _shown=shown, **kwargs):
                    if _answer_running.get():
                        used.add(_shown)
                    return _function(*args, **kwargs)

                replaced.append((owner, attribute, original))
                setattr(owner, attribute, functools.wraps(function)(noted))
        yield used
    finally:
        for owner, attribute, original in reversed(replaced):
            if original is _INHERITED:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


def _report(verdict: Verdict) -> None:
    for reporter in list(reporters):
        try:
            reporter(verdict)
        except BaseException:  # a reporter never changes what the learner sees (a stop button included)
            pass


@contextlib.contextmanager
def _global_state_kept() -> Iterator[None]:
    """Runs a check with the random states, default dtype and gradient mode restored afterwards, however it ends."""
    dtype, grad = torch.get_default_dtype(), torch.is_grad_enabled()
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        np.random.set_state(numpy_state)
        random.setstate(python_state)


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
    """MNIST's training (or test) pixels (uint8, 0-255) and labels, read from the notebook's data folder.

    Read afresh by each check (about 0.1 s) and dropped after it, as bytes: a check adds nothing
    to the memory a learner's kernel keeps. The checks only read them, and a learner's answer
    never gets these tensors.
    """
    from ..data import load_pixels
    from ..download import data_root_in_use

    return load_pixels(train=train, data_root=data_root_in_use("mnist"))


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
        raise Wrong(f"the answer should be a function (def ...), got a {type(function).__name__}", "not-a-function")
    if is_stub(function):
        raise NotAnswered
    name = name_of(function)
    copies = [arg.clone() if isinstance(arg, torch.Tensor) else arg for arg in args]
    running = _answer_running.set(True)
    try:
        result = function(*copies)
    except KeyboardInterrupt:
        raise  # the stop button, or the learner's own: Exercise.verdict tells which
    except BaseException as err:
        advice = ": a function should return its result instead" if isinstance(err, SystemExit) else ""
        raise Wrong(f"{name} {what_went_wrong(err)} when given {given}{advice}", "raised") from None
    finally:
        _answer_running.reset(running)
    for original, copy in zip(args, copies, strict=True):
        if isinstance(original, torch.Tensor) and not same_tensor(original, copy):
            raise Wrong(f"{name} changed the tensor it was given ({given}) in place, with an operation like -=, "
                        "x[...] = or a method ending in _: compute a new tensor and leave the input as it was",
                        "changed-input")
    if returns and result is None:
        raise Wrong(f"{name} returned nothing when given {given}: did you forget `return`?", "returned-nothing")
    return result


def same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape, dtype and values (NaN counts as equal to NaN)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if torch.equal(a, b):
        return True
    return a.is_floating_point() and bool(torch.isclose(a, b, rtol=0, atol=0, equal_nan=True).all())


def as_number(value, what: str, finite: bool = True, graph: bool = True):
    """``value`` as a Python int or float, if it is one finite number of any kind; else ``Wrong``.

    Accepted: int, float, NumPy scalars, and tensors or arrays holding one number (``.sum()``, ``.item()``...).
    ``finite=False`` lets nan and inf through (for a check that explains them); ``graph=False`` refuses a tensor
    that still tracks gradients (a loss kept as a tensor keeps its whole computation graph alive).
    """
    if not graph and isinstance(value, torch.Tensor) and value.requires_grad:
        raise Wrong(f"return {what} as a plain number (.item() gives it), not the tensor: it keeps the whole "
                    "computation graph alive", "tensor-not-number")
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        if size != 1:
            raise Wrong(f"{what} should be one number; got a {type(value).__name__} of shape {list(value.shape)}",
                        "not-a-number")
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        raise Wrong(f"{what} should be a number; got {value}, a yes/no value", "not-a-number")
    if isinstance(value, str):
        raise Wrong(f"{what} should be a number; got text (a str): give the number itself, without quotes",
                    "not-a-number")
    if isinstance(value, numbers.Integral):
        if abs(value) > 2**53:
            raise Wrong(f"{what} is a number with {len(str(abs(int(value))))} digits, far too large", "not-a-number")
        return int(value)
    if not isinstance(value, numbers.Real):
        raise Wrong(f"{what} should be a number; got a {type(value).__name__}", "not-a-number")
    if finite and not math.isfinite(value):
        raise Wrong(f"{what} is {value}: it should be a finite number", "not-a-number")
    return float(value)


def is_one_number(value) -> bool:
    """Whether ``as_number`` accepts ``value``."""
    try:
        as_number(value, "")
    except Wrong:
        return False
    return True


def as_whole_number(value, what: str) -> int:
    """``as_number(value)``, which must also be a whole number (3.0 counts as 3)."""
    value = as_number(value, what)
    if value != int(value):
        raise Wrong(f"{what} is {value:g}, not a whole number", "not-whole")
    return int(value)


def as_float64_tensor(value, what: str, most: int = 10**7) -> torch.Tensor:
    """``value`` as a float64 tensor on the CPU, if it is a tensor, a NumPy array, a list or a tuple of numbers.

    More than ``most`` numbers (far more than any answer holds) are refused by their shape, before any copy.
    """
    if isinstance(value, (torch.Tensor, np.ndarray)) and (value.numel() if isinstance(value, torch.Tensor)
                                                          else value.size) > most:
        raise Wrong(f"{what} has shape {list(value.shape)}, far more numbers than the answer should hold",
                    "too-large")
    if isinstance(value, (list, tuple)):
        value = np.array([as_number(x, f"each entry of {what}") for x in value], dtype=np.float64)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        value = torch.from_numpy(value.astype(np.float64))
    if not isinstance(value, torch.Tensor):
        raise Wrong(f"{what} should be a tensor; got a {type(value).__name__}", "not-a-tensor")
    if value.is_complex():
        raise Wrong(f"{what} should hold real numbers; got complex ones", "not-a-tensor")
    return _float64_copy(value)


def shape_of(value) -> tuple[int, ...]:
    """The shape ``as_float64_tensor`` would give ``value``, found without copying it (``()`` for one number)."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return tuple(value.shape)
    if isinstance(value, (list, tuple)):
        return (len(value),)
    return ()


def _float64_copy(tensor: torch.Tensor) -> torch.Tensor:
    """A float64 copy on the CPU (the one copy ``as_float64_tensor`` makes)."""
    return tensor.detach().cpu().to(torch.float64)


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
    same, else ``otherwise``. ``mistakes`` are (what that mistake gives on this case, its kind, message) triples."""
    for value, kind, message in mistakes:
        if same(got, value):
            return Wrong(message, kind)
    return Wrong(otherwise)


def as_whole_numbers(value, what: str, count: int) -> tuple[int, ...]:
    """``value`` as ``count`` whole numbers: a tuple or a list of them, or a tensor or an array of ``count`` numbers."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 1 and len(value) == count:
        value = value.tolist()
    if not isinstance(value, (tuple, list)) or len(value) != count:
        got = f"{len(value)} values" if isinstance(value, (tuple, list)) else f"one {type(value).__name__}"
        raise Wrong(f"{what} should be {count} numbers, like (a, b); got {got}", "not-numbers")
    return tuple(as_whole_number(x, f"each number of {what}") for x in value)


def yes_or_no(value, what: str) -> bool:
    """``value`` as True or False: a bool, a NumPy bool, or a tensor holding one True/False."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype == torch.bool:
        value = value.item()
    if isinstance(value, np.bool_):
        value = bool(value)
    if not isinstance(value, bool):
        raise Wrong(f"{what} should be True or False; got a {type(value).__name__}", "not-yes-or-no")
    return value
