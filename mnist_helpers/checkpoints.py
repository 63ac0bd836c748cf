"""Saving a trained model to disk and loading it back, safely.

A checkpoint is a plain dictionary saved with ``torch.save``: which model it holds (its
architecture and settings, such as the hidden size), the model's ``state_dict``, and metadata
(settings, metrics, library versions). Loading uses ``torch.load(weights_only=True)``, which
refuses to run arbitrary pickled code, so a checkpoint from a stranger cannot execute anything
on your machine.
"""

from __future__ import annotations

import os
import pickle
import platform
import zipfile
from pathlib import Path

import torch

from .errors import MnistHelpersError
from .files import atomic_write
from .model import MODELS, ImageClassificationBase, MnistCNN, MnistMLP, MnistModel

FORMAT = "mnist_helpers.checkpoint"
VERSION = 2  # 2: the checkpoint names its architecture; 1 (still loaded): recognised from the weights' names
_PLAIN = (str, int, float, bool, type(None))
# The first bytes of a file torch.save wrote in its legacy (before PyTorch 1.6, non-zip) format: a pickled magic number
LEGACY_START = pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=2)


class CheckpointError(MnistHelpersError, ValueError):
    """The file is not a checkpoint of one of the series' models, or its weights do not fit the model it names."""


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


def architecture(model: torch.nn.Module) -> dict:
    """Which model this is, with its settings: what ``load_checkpoint`` rebuilds it from.

    For example ``{"architecture": "mlp", "hidden": 256}``.
    """
    name = getattr(type(model), "name", None)
    if MODELS.get(name) is not type(model):
        raise TypeError(f"save_checkpoint saves the series' models ({', '.join(m.__name__ for m in MODELS.values())}), "
                        f"not a {type(model).__name__}: save its weights with torch.save(model.state_dict(), path)")
    return {"architecture": name, **model.settings()}


def save_checkpoint(model: torch.nn.Module, path: str | os.PathLike, **metadata) -> Path:
    """Save which model ``model`` is, its weights and ``metadata`` to ``path`` atomically; return the path.

    The file is written under a temporary name in the same folder, then renamed:
    if anything fails, a checkpoint already at ``path`` is left untouched.
    """
    check_metadata(metadata)
    metadata = dict(metadata, versions={"torch": str(torch.__version__), "python": platform.python_version()})
    checkpoint = {"format": FORMAT, "version": VERSION, "model": architecture(model),
                  "state_dict": model.state_dict(), "metadata": metadata}
    with atomic_write(path) as f:
        torch.save(checkpoint, f)
    return Path(path)


def empty_model_named(spec, path: Path) -> ImageClassificationBase:
    """An empty model of the architecture and settings a checkpoint names, or a clear error."""
    name = spec.get("architecture") if isinstance(spec, dict) else None
    if not isinstance(name, str) or name not in MODELS:
        raise CheckpointError(f"{path} names a model this version of mnist_helpers does not know ({spec!r}); "
                              f"it knows {', '.join(MODELS)}")
    settings = {key: value for key, value in spec.items() if key != "architecture"}
    try:
        return MODELS[name](**settings)
    except (TypeError, ValueError, RuntimeError, IndexError, KeyError) as err:  # channels=[16], say
        raise CheckpointError(f"{path} names the {name} model with settings that cannot build one: {err}") from None


def empty_model_from_weight_names(state_dict) -> ImageClassificationBase:
    """For a checkpoint that does not name its model (version 1, or a bare ``state_dict``): an empty
    model of the architecture whose weights' names it holds, its settings read from their shapes."""
    def shape(name):
        tensor = state_dict.get(name) if isinstance(state_dict, dict) else None
        return tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else ()

    if len(shape("conv1.weight")) == 4 and len(shape("conv2.weight")) == 4:
        return MnistCNN(channels=(shape("conv1.weight")[0], shape("conv2.weight")[0]))
    if len(shape("hidden.weight")) == 2:
        return MnistMLP(hidden=shape("hidden.weight")[0])
    return MnistModel()


def describe(model: torch.nn.Module) -> str:
    """``MnistMLP(hidden=256)``: the model's class and settings, for messages."""
    settings = {key: value for key, value in architecture(model).items() if key != "architecture"}
    return f"{type(model).__name__}({', '.join(f'{key}={value}' for key, value in settings.items())})"


def check_weights_fit(state_dict, model: torch.nn.Module, path: Path) -> None:
    """Refuse weights whose names or shapes are not those of ``model``, naming the first differences."""
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    found = {}
    if isinstance(state_dict, dict):
        found = {name: tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                 for name, t in state_dict.items()}
    if found == expected:
        return
    differences = [f"{name} is missing" for name in expected if name not in found]
    differences += [f"{name} is not one of its weights" for name in found if name not in expected]
    differences += [f"{name} is {found[name]}, not {shape}" for name, shape in expected.items()
                    if name in found and found[name] != shape]
    raise CheckpointError(f"{path} holds weights that do not fit {describe(model)}: {'; '.join(differences[:3])}")


def check_weights_finite(state_dict: dict, path: Path) -> None:
    """Refuse weights that are not all numbers (NaN or infinite), as a diverged training leaves them."""
    broken = [name for name, t in state_dict.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if broken:
        raise CheckpointError(f"{path} holds weights that are not numbers (NaN or infinite) in {', '.join(broken[:3])}"
                              f"{' and more' if len(broken) > 3 else ''}: the training that saved it diverged; train "
                              "again with a smaller learning rate")


def _legacy(path: Path) -> bool:
    """Whether ``path`` starts as a file that torch.save wrote in its legacy format (it is loaded as well)."""
    with path.open("rb") as f:
        return f.read(len(LEGACY_START)) == LEGACY_START


def load_checkpoint(path: str | os.PathLike) -> ImageClassificationBase:
    """A new model with the weights saved at ``path``; its ``.metadata`` holds the rest.

    The model is the one the checkpoint names (``MnistModel``, ``MnistMLP`` or ``MnistCNN``, with
    its settings). Older checkpoints, and a bare ``state_dict`` saved with
    ``torch.save(model.state_dict(), path)``, are recognised from the names and shapes of their weights.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: save one first with save_checkpoint(model, path)")
    if not zipfile.is_zipfile(path) and not _legacy(path):  # torch.save writes a zip archive (or, long ago, not)
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
        state_dict, metadata, spec = loaded.get("state_dict"), loaded.get("metadata", {}), loaded.get("model")
    elif isinstance(loaded, dict) and all(isinstance(v, torch.Tensor) for v in loaded.values()):
        state_dict, metadata, spec = loaded, {}, None
    else:
        raise CheckpointError(f"{path} is not a checkpoint of the series' models (found a {type(loaded).__name__})")
    with torch.device("meta"):  # shapes only, no memory: the settings are checked against the weights first
        model = empty_model_named(spec, path) if spec is not None else empty_model_from_weight_names(state_dict)
    check_weights_fit(state_dict, model, path)
    check_weights_finite(state_dict, path)
    model = model.to_empty(device="cpu")
    model.load_state_dict(state_dict)
    model.metadata = metadata
    return model
