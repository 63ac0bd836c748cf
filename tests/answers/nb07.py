"""Notebook 7's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from mnist_helpers import MnistModel


def save_with_metadata(model, path, epochs, lr):
    torch.save({"state_dict": model.state_dict(), "epochs": epochs, "lr": lr}, path)


def through_a_file_object(model, path, epochs, lr):
    with open(path, "wb") as f:
        torch.save(dict(state_dict=model.state_dict(), epochs=epochs, lr=lr), f)


def with_more_metadata(model, path, epochs, lr):
    checkpoint = {"architecture": "MnistModel", "epochs": torch.tensor(epochs),
                  "lr": torch.tensor(lr, dtype=torch.float64)}
    checkpoint["state_dict"] = model.state_dict()
    torch.save(checkpoint, path)


def atomically(model, path, epochs, lr):
    temporary = Path(str(path) + ".tmp")
    save_with_metadata(model, temporary, epochs, lr)
    os.replace(temporary, path)


def changes_the_model(model, path, epochs, lr):
    with torch.no_grad():
        model.linear.bias.zero_()
    save_with_metadata(model, path, epochs, lr)


def load_or_refuse(path):
    try:
        return torch.load(path, weights_only=True)
    except Exception as err:
        raise ValueError(f"{path} is not a checkpoint this course can load: {err}") from None


def zip_first(path):
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a checkpoint: not a zip archive")
    try:
        with open(path, "rb") as f:
            return torch.load(f, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise ValueError(f"{path} is not a safe checkpoint") from err


def through_bytes(path):
    try:
        return torch.load(io.BytesIO(Path(path).read_bytes()), weights_only=True)
    except Exception as err:
        raise ValueError(f"not a checkpoint: {err}") from err


def unsafe(path):
    try:
        return torch.load(path, weights_only=False)
    except Exception as err:
        raise ValueError(f"{path} is not a checkpoint: {err}") from None


def returns_none(path):
    try:
        return torch.load(path, weights_only=True)
    except Exception:
        return None


def empty_message(path):
    try:
        return torch.load(path, weights_only=True)
    except Exception:
        raise ValueError from None


def runtime_error(path):
    try:
        return torch.load(path, weights_only=True)
    except Exception:
        raise RuntimeError("not a checkpoint") from None


def extension_only(path):
    if not str(path).endswith(".pt"):
        raise ValueError("not a .pt file")
    return torch.load(path, weights_only=True)


def narrow(path):
    try:
        return torch.load(path, weights_only=True)
    except (IndexError, pickle.UnpicklingError) as err:
        raise ValueError(f"not a checkpoint: {err}") from None


def copies_first(a, b):
    a.load_state_dict(b.state_dict())
    return True


def pairs(a, b):
    """The two models' parameters, side by side."""
    return zip(a.parameters(), b.parameters(), strict=True)


RIGHT = {
    "q1": [save_with_metadata, through_a_file_object, with_more_metadata, atomically],
    "q2": [load_or_refuse, zip_first, through_bytes,
           lambda path: {**load_or_refuse(path)}],
    "q3": [lambda a, b: a.state_dict().keys() == b.state_dict().keys()
           and all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict()),
           lambda a, b: all(torch.equal(p, q) for p, q in pairs(a, b)),
           lambda a, b: torch.stack([(p == q).all() for p, q in pairs(a, b)]).all(),
           lambda a, b: np.all([np.array_equal(p.detach().numpy(), q.detach().numpy()) for p, q in pairs(a, b)]),
           lambda a, b: all(torch.allclose(p, q, rtol=0, atol=0) for p, q in pairs(a, b))],
}

WRONG = {
    "q1": [(lambda model, path, epochs, lr: torch.save(model, path), "refuses your file"),
           (lambda model, path, epochs, lr: torch.save({"state_dict": model.state_dict()}, path),
            "also hold 'epochs' and 'lr'"),
           (lambda model, path, epochs, lr: torch.save(model.state_dict(), path), "the state dict alone"),
           (lambda model, path, epochs, lr: torch.save({"model": model.state_dict(), "epochs": epochs, "lr": lr}, path),
            "with the key 'state_dict'"),
           (lambda model, path, epochs, lr: save_with_metadata(model, path, lr, epochs), "are swapped"),
           (lambda model, path, epochs, lr: save_with_metadata(model, path, 3, 0.3),
            "the values your function was given"),
           (lambda model, path, epochs, lr: save_with_metadata(model, str(path) + ".bak", epochs, lr),
            "no file was written"),
           (lambda model, path, epochs, lr: save_with_metadata(MnistModel(), path, epochs, lr), "holds other weights"),
           (lambda model, path, epochs, lr: torch.save({"state_dict": {"w": model.linear.weight}, "epochs": epochs,
                                                        "lr": lr}, path), "should be the model's state dict"),
           (changes_the_model, "changed the model's weights")],
    "q2": [(unsafe, "code ran while loading"),
           (lambda path: torch.load(path, weights_only=True), "raised IndexError"),
           (returns_none, "returned instead of refusing"),
           (empty_message, "without a message"),
           (runtime_error, "raised RuntimeError (not a checkpoint)"),
           (lambda path: MnistModel(), "for a good checkpoint, return"),
           (extension_only, "for a file whose pickle would run code"),
           (narrow, "for a checkpoint cut in half")],
    "q3": [(lambda a, b: all(torch.allclose(p, q) for p, q in pairs(a, b)), "'close' is not 'exactly'"),
           (lambda a, b: torch.equal(a.linear.weight, b.linear.weight), "biases too"),
           (lambda a, b: a is b, "should give True"),
           (lambda a, b: int(all(torch.equal(p, q) for p, q in pairs(a, b))), "True or False"),
           (copies_first, "changed a model's weights"),
           (lambda a, b: all(bool(p.sum() == q.sum()) for p, q in pairs(a, b)), "the same sum but differ")],
}

# Every wrong answer above is a typical mistake with a name of its own.
NOT_YET = {}
