"""Saving a trained model to disk and loading it back, safely.

A checkpoint is a plain dictionary saved with ``torch.save``: the model's
``state_dict`` plus metadata (settings, metrics, library versions). Loading
uses ``torch.load(weights_only=True)``, which refuses to run arbitrary pickled
code, so a checkpoint from a stranger cannot execute anything on your machine.
"""

from __future__ import annotations

import os
import pickle
import platform
import zipfile
from pathlib import Path

import torch

from .files import atomic_write
from .model import MnistMLP, MnistModel

FORMAT = "mnist_helpers.checkpoint"
VERSION = 1
_PLAIN = (str, int, float, bool, type(None))


class CheckpointError(ValueError):
    """The file is not a checkpoint of an ``MnistModel``."""


def check_metadata(value, name: str = "metadata") -> None:
    """Refuse metadata that ``weights_only`` loading would reject: only plain values, lists and dicts."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"metadata {name}: keys must be strings, got {key!r}")
            check_metadata(item, f"{name}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_metadata(item, f"{name}[{i}]")
    elif not isinstance(value, _PLAIN):
        raise TypeError(
            f"metadata {name} is a {type(value).__name__}; use plain values "
            "(str, int, float, bool, None, lists and dicts of them)"
        )


def save_checkpoint(model: torch.nn.Module, path: str | os.PathLike, **metadata) -> Path:
    """Save ``model``'s weights and ``metadata`` to ``path`` atomically; return the path.

    The file is written under a temporary name in the same folder, then renamed:
    if anything fails, a checkpoint already at ``path`` is left untouched.
    """
    check_metadata(metadata)
    metadata = dict(metadata, versions={"torch": str(torch.__version__), "python": platform.python_version()})
    checkpoint = {"format": FORMAT, "version": VERSION, "state_dict": model.state_dict(), "metadata": metadata}
    with atomic_write(path) as f:
        torch.save(checkpoint, f)
    return Path(path)


def model_for(state_dict) -> MnistModel:
    """An empty model of the architecture whose weights ``state_dict`` holds (a hidden layer or not)."""
    hidden = state_dict.get("hidden.weight") if isinstance(state_dict, dict) else None
    if isinstance(hidden, torch.Tensor) and hidden.ndim == 2:
        return MnistMLP(hidden=hidden.shape[0])
    return MnistModel()


def load_checkpoint(path: str | os.PathLike) -> MnistModel:
    """A new model with the weights saved at ``path``; its ``.metadata`` holds the rest.

    The model is an ``MnistModel``, or an ``MnistMLP`` if the weights are those of a hidden
    layer (its size read from them). Also accepts a bare ``state_dict`` saved with
    ``torch.save(model.state_dict(), path)``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: save one first with save_checkpoint(model, path)")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        raise CheckpointError(f"{path} is not a PyTorch checkpoint (torch.save writes zip archives), or it is damaged")
    try:
        loaded = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path} holds Python objects that are not safe to load (weights_only=True refused them). "
            "Only load checkpoints made by save_checkpoint or torch.save(model.state_dict(), ...)."
        ) from err
    except Exception as err:  # zip, EOF and format errors from a damaged or foreign file
        raise CheckpointError(f"{path} is not a PyTorch checkpoint, or it is damaged: {err}") from err

    if isinstance(loaded, dict) and loaded.get("format") == FORMAT:
        state_dict, metadata = loaded.get("state_dict"), loaded.get("metadata", {})
    elif isinstance(loaded, dict) and all(isinstance(v, torch.Tensor) for v in loaded.values()):
        state_dict, metadata = loaded, {}
    else:
        raise CheckpointError(f"{path} is not an MnistModel checkpoint (found a {type(loaded).__name__})")

    model = model_for(state_dict)
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    found = {}
    if isinstance(state_dict, dict):
        found = {name: tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__ for name, t in state_dict.items()}
    if found != expected:
        raise CheckpointError(f"{path} holds weights shaped {found}, but {type(model).__name__} needs {expected}")
    model.load_state_dict(state_dict)
    model.metadata = metadata
    return model
