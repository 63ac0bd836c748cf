"""Exercises of notebook 7: a checkpoint with metadata, refusing a file that is not one, exact comparison."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from . import Exercise, NotAnswered, Wrong, call, is_stub


def _model(seed: int):
    from ..model import MnistModel

    torch.manual_seed(seed)
    return MnistModel()


def _save_with_metadata(answer) -> str:
    model = _model(0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.pt"
        if is_stub(answer):
            raise NotAnswered
        try:
            answer(model, path, 3, 0.3)
        except Exception as err:
            raise Wrong(f"save_with_metadata raised {type(err).__name__} ({err}) when given a model, a path, epochs=3 "
                        "and lr=0.3") from None
        if not path.is_file():
            raise Wrong("no file was written at the path you were given")
        try:
            saved = torch.load(path, weights_only=True)
        except Exception:
            raise Wrong("torch.load(path, weights_only=True) refuses your file: save model.state_dict() in a dict of "
                        "plain values, not the model object itself") from None
    if not isinstance(saved, dict) or "state_dict" not in saved:
        raise Wrong("save a dictionary with the key 'state_dict' (and the metadata next to it)")
    if saved.get("epochs") != 3 or saved.get("lr") != 0.3:
        raise Wrong("the dictionary should also hold 'epochs' and 'lr' with the values you were given")
    state = saved["state_dict"]
    if set(state) != set(model.state_dict()) or not all(torch.equal(state[k], v) for k, v in model.state_dict().items()):
        raise Wrong("'state_dict' should be model.state_dict(): the names and tensors of the model's parameters")
    return "weights and how they were trained, in one file that weights_only=True accepts."


class _Payload:
    ran = False

    def __reduce__(self):
        return (_Payload._run, ())

    @staticmethod
    def _run():
        _Payload.ran = True


def _load_or_refuse(answer) -> str:
    from ..model import MnistModel

    with tempfile.TemporaryDirectory() as folder:
        good, text, trap = Path(folder) / "good.pt", Path(folder) / "notes.txt", Path(folder) / "trap.pt"
        torch.save(MnistModel().state_dict(), good)
        text.write_text("this is not a checkpoint\n")
        torch.save({"linear.weight": _Payload()}, trap)
        got = call(answer, good, given="a file saved with torch.save(model.state_dict(), path)")
        if not isinstance(got, dict) or "linear.weight" not in got:
            raise Wrong("for a good checkpoint, return what torch.load gives: the state dict")
        for bad, what in ((text, "a text file"), (trap, "a file whose pickle would run code")):
            _Payload.ran = False
            try:
                answer(bad)
            except ValueError as err:
                if not str(err):
                    raise Wrong(f"for {what} you raised ValueError without a message: say what is wrong with the file") from None
            except Exception as err:
                raise Wrong(f"for {what} your function let {type(err).__name__} through: catch it and raise ValueError "
                            "with a message that says the file is not a checkpoint") from None
            else:
                if _Payload.ran:
                    raise Wrong("the trap file's code ran while loading: load with weights_only=True") from None
                raise Wrong(f"for {what} your function returned instead of refusing it: raise ValueError")
            if _Payload.ran:
                raise Wrong("the trap file's code ran while loading: load with weights_only=True")
    return "a learner's checkpoint loads, anything else is refused with a clear message, and nothing runs."


def _same_weights(answer) -> str:
    a, b = _model(0), _model(0)
    if call(answer, a, b, given="two models with the same weights") is not True:
        raise Wrong("two models with exactly the same weights should give True")
    with torch.no_grad():
        b.linear.bias[0] += 1.0
    if call(answer, a, b, given="two models whose biases differ") is not False:
        raise Wrong("the models differ in one bias and you said they are the same: compare every parameter, biases too")
    b = _model(0)
    with torch.no_grad():
        a.linear.weight[0, 0] = 1.0
        b.linear.weight[0, 0] = 1.0 + 1e-6
    if call(answer, a, b, given="two models whose weights differ by one millionth") is not False:
        raise Wrong("one weight differs by one millionth and you said they are the same: 'close' is not 'exactly'; "
                    "use torch.equal")
    if call(answer, a, _model(1), given="two models with different weights") is not False:
        raise Wrong("two models with different random weights should give False")
    return "torch.equal on every tensor of the state dict: the same model, to the last bit."


q1 = Exercise("q1", _save_with_metadata, "torch.save({'state_dict': model.state_dict(), 'epochs': epochs, 'lr': lr}, path)")
q2 = Exercise("q2", _load_or_refuse, "try: return torch.load(path, weights_only=True) except Exception as err: raise "
              "ValueError(f'{path} is not a checkpoint: {err}')")
q3 = Exercise("q3", _same_weights, "compare a.state_dict() and b.state_dict(): the same names, and torch.equal for each tensor.")
