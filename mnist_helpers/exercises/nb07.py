"""Exercises of notebook 7: a checkpoint with metadata, refusing a file that is not one, exact comparison."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch

from ..model import MnistModel
from . import Exercise, Wrong, as_number, call, close, what_went_wrong, yes_or_no


def _model(seed: int) -> MnistModel:
    torch.manual_seed(seed)  # a check runs with a random state of its own
    return MnistModel()


def _state(model) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def _same_state(a: Mapping, b: Mapping) -> bool:
    return set(a) == set(b) and all(isinstance(a[k], torch.Tensor) and a[k].shape == b[k].shape
                                    and torch.equal(a[k], b[k]) for k in a)


def _judge_checkpoint(saved, weights: dict, epochs: int, lr: float) -> None:
    if isinstance(saved, Mapping) and _same_state(saved, weights):
        raise Wrong("you saved the state dict alone: save a dictionary that holds it under 'state_dict', with "
                    "'epochs' and 'lr' next to it", "state-dict-alone")
    if not isinstance(saved, Mapping) or "state_dict" not in saved:
        raise Wrong("save a dictionary with the key 'state_dict' (and the metadata next to it)", "no-state-dict-key")
    if "epochs" not in saved or "lr" not in saved:
        raise Wrong("the dictionary should also hold 'epochs' and 'lr' with the values you were given",
                    "metadata-missing")
    saved_epochs, saved_lr = as_number(saved["epochs"], "the saved 'epochs'"), as_number(saved["lr"], "the saved 'lr'")
    if close(saved_epochs, lr, 1e-6) and close(saved_lr, epochs, 1e-6):
        raise Wrong("'epochs' and 'lr' are swapped: each key should hold its own setting", "metadata-swapped")
    if saved_epochs != epochs or not close(saved_lr, lr, 1e-6):
        raise Wrong(f"'epochs' and 'lr' should be the values your function was given ({epochs} and {lr}); the file "
                    f"holds {saved_epochs:g} and {saved_lr:g}", "metadata-wrong")
    state = saved["state_dict"]
    if not isinstance(state, Mapping) or set(state) != set(weights):
        raise Wrong("'state_dict' should be the model's state dict: the name and tensor of each of its parameters",
                    "not-a-state-dict")
    if not _same_state(state, weights):
        raise Wrong("'state_dict' holds other weights than those of the model your function was given", "other-weights")


def _save_with_metadata(answer) -> str:
    with tempfile.TemporaryDirectory() as folder:
        cases = [(0, Path(folder) / "checkpoint.pt", 3, 0.3), (1, str(Path(folder) / "other.pt"), 7, 0.05)]
        for seed, path, epochs, lr in cases:
            model = _model(seed)
            weights = _state(model)
            call(answer, model, path, epochs, lr, given=f"a model, a path, epochs={epochs} and lr={lr}", returns=False)
            if not _same_state(model.state_dict(), weights):
                raise Wrong("save_with_metadata changed the model's weights: saving should leave the model as it is",
                            "changed-weights")
            if not Path(path).is_file():
                raise Wrong("no file was written at the path you were given", "no-file")
            try:
                saved = torch.load(path, weights_only=True)
            except Exception:
                raise Wrong("torch.load(path, weights_only=True) refuses your file: it holds a Python object, not "
                            "only tensors, numbers and dictionaries (save the model's state dict, not the model "
                            "itself)", "pickled-model") from None
            _judge_checkpoint(saved, weights, epochs, lr)
    return "weights and how they were trained, in one file that weights_only=True accepts."


class _Payload:
    """Pickled, it asks to call ``_run`` when loaded: what a malicious checkpoint does."""

    ran = False

    def __reduce__(self):
        return (_Payload._run, ())

    @staticmethod
    def _run():
        _Payload.ran = True


def _refuses(answer, path: Path, what: str) -> None:
    """Wrong unless ``answer(path)`` raises ValueError with a message, without running the file's code."""
    ran_message = "the trap file's code ran while loading: load with weights_only=True"
    _Payload.ran = False
    try:
        answer(path)
    except KeyboardInterrupt:
        raise  # the stop button, or the learner's own: Exercise.verdict tells which
    except ValueError as err:
        if _Payload.ran:
            raise Wrong(ran_message, "code-ran") from None
        if not str(err).strip():
            raise Wrong(f"for {what} you raised ValueError without a message: say what is wrong with the "
                        "file", "no-message") from None
        return
    except BaseException as err:
        if _Payload.ran:
            raise Wrong(ran_message, "code-ran") from None
        raise Wrong(f"for {what} your function {what_went_wrong(err)}: catch it and raise ValueError with a message "
                    "that says the file is not a checkpoint", "not-value-error") from None
    if _Payload.ran:
        raise Wrong(ran_message, "code-ran")
    raise Wrong(f"for {what} your function returned instead of refusing it: raise ValueError", "returned-instead")


def _load_or_refuse(answer) -> str:
    with tempfile.TemporaryDirectory() as folder:
        good, text, trap, damaged = (Path(folder) / name for name in ("good.pt", "notes.txt", "trap.pt", "damaged.pt"))
        weights = _state(_model(0))
        torch.save(weights, good)
        got = call(answer, good, given="a checkpoint saved with torch.save(model.state_dict(), path)")
        if not isinstance(got, Mapping) or not _same_state(got, weights):
            raise Wrong("for a good checkpoint, return what torch.load reads from it: the state dict",
                        "good-file-refused")
        text.write_text("this is not a checkpoint\n", encoding="utf-8")
        torch.save({"linear.weight": _Payload()}, trap)
        damaged.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        for path, what in ((text, "a text file"), (trap, "a file whose pickle would run code"),
                           (damaged, "a checkpoint cut in half")):
            _refuses(answer, path, what)
    return "a learner's checkpoint loads, anything else is refused with a clear message, and nothing runs."


def _same_weights(answer) -> str:
    def ask(a, b, given: str) -> bool:
        before = _state(a), _state(b)
        result = call(answer, a, b, given=given)
        if not (_same_state(a.state_dict(), before[0]) and _same_state(b.state_dict(), before[1])):
            raise Wrong("same_weights changed a model's weights: comparing should leave both models as they are",
                        "changed-weights")
        return yes_or_no(result, "the answer")

    if not ask(_model(0), _model(0), "two models with the same weights"):
        raise Wrong("two models with exactly the same weights should give True", "same-is-false")
    a, b = _model(0), _model(0)
    with torch.no_grad():
        b.linear.bias[0] += 1.0
    if ask(a, b, "two models whose biases differ"):
        raise Wrong("the models differ in one bias and you said they are the same: compare every parameter, biases too",
                    "biases-skipped")
    a, b = _model(0), _model(0)
    with torch.no_grad():
        a.linear.weight[0, 0] = 1.0
        b.linear.weight[0, 0] = 1.0 + 1e-6
    if ask(a, b, "two models whose weights differ by one millionth"):
        raise Wrong("one weight differs by one millionth and you said they are the same: 'close' is not 'exactly'",
                    "approximate")
    a, b = _model(0), _model(0)
    with torch.no_grad():  # the same sum, exactly, in every tensor: only the values tell them apart
        a.linear.weight.zero_()
        b.linear.weight.zero_()
        b.linear.weight[0, :2] = torch.tensor([1.0, -1.0])
    if ask(a, b, "two models whose weights differ but add up to the same sum"):
        raise Wrong("the weights add up to the same sum but differ, and you said they are the same: compare the "
                    "tensors value by value, not a summary of them", "compared-sums")
    if ask(_model(0), _model(1), "two models with different weights"):
        raise Wrong("two models with different random weights should give False", "always-true")
    return "torch.equal on every tensor of the state dict: the same model, to the last bit."


q1 = Exercise(judge=_save_with_metadata,
              hint="torch.save stores any dictionary of tensors and plain values, not only a "
              "state dict: build one with the three keys the task names, and save it at path. weights_only=True "
              "reads such a dictionary back.", answer="save_with_metadata", mistakes={
    "state-dict-alone": "The metadata has to go in the same file: a dictionary holding the state dict and the "
                        "settings.",
    "no-state-dict-key": "The reader of the file looks for 'state_dict': the keys are part of the format.",
    "metadata-missing": "Without the settings nobody can tell how the weights were trained.",
    "metadata-swapped": "Each key holds its own setting: check the order of the function's arguments.",
    "metadata-wrong": "The function uses the notebook's settings instead of its arguments.",
    "not-a-state-dict": "model.state_dict() maps names to tensors: store that, not the model or its parameters() list.",
    "other-weights": "They saved another model (the notebook's): use the model the function is given.",
    "changed-weights": "Saving must leave the model as it is: no training step, no in-place change.",
    "no-file": "The function must write to its path argument: torch.save(..., path).",
    "pickled-model": "torch.save(model) pickles the class: weights_only=True refuses it; save the state dict.",
})
q2 = Exercise(judge=_load_or_refuse,
              hint="try/except turns any error into yours: load in the try, and in the except raise "
              "a ValueError with a message of your own. Loading with weights_only=True is what stops a file from "
              "running code.", answer="load_or_refuse", mistakes={
    "code-ran": "weights_only=False runs a file's pickle: only weights_only=True is safe for a file from elsewhere.",
    "returned-instead": "Returning None for a bad file hides the problem: raise instead.",
    "no-message": "An error without a message leaves the user guessing: say what is wrong with the file.",
    "not-value-error": "Catch what torch.load raises and raise ValueError: callers then catch one kind of error.",
    "good-file-refused": "A good checkpoint must load: look at what the function returns for it.",
})
q3 = Exercise(judge=_same_weights,
              hint="a state dict maps each parameter's name to its tensor: compare the names, then "
              "each pair of tensors with an exact comparison (this notebook used one), not an approximate one.",
              answer="same_weights", mistakes={
    "changed-weights": "Comparing must leave both models as they are.",
    "same-is-false": "Two equal models gave False: often comparing the models themselves (is, ==) instead of their "
                     "tensors.",
    "biases-skipped": "Every tensor of the state dict counts, the biases too.",
    "approximate": "allclose is for floating-point noise: the task asks whether the weights are exactly the same "
                   "(torch.equal).",
    "compared-sums": "Equal sums (or means, or norms) do not make equal tensors: compare value by value, "
                     "torch.equal.",
    "always-true": "The function says True for different models: it compares something that is always equal.",
})
