"""Where the model computes: a CUDA GPU, Apple's MPS, or the CPU. Chosen in one place.

``fit``, ``evaluate``, ``predictions`` and ``predict_image`` follow the model: each batch is
moved to the device the model's parameters are on, inside the loop (as pytorch/examples does).
"""

from __future__ import annotations

import torch

from .errors import MnistHelpersError
from .model import MODELS

CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(MnistHelpersError, RuntimeError):
    """A device that is not there, or a model whose parameters are not on one usable device."""

    exit_status = 2


def available_devices() -> list[str]:
    """The devices this machine has, the fastest first: ``cuda``, ``mps``, then ``cpu``."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if torch.backends.mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def pick_device(name: str = "auto", model: str | torch.nn.Module | type | None = None) -> torch.device:
    """``cuda`` if there is a CUDA GPU, else ``mps`` (Apple silicon), else ``cpu``; or the device named.

    ``model`` (an architecture's name such as ``"linear"``, a model or its class): ``auto`` keeps a
    model whose class says ``accelerated = False`` on the CPU, as the linear model does: its one matrix
    product per batch is too little work to repay moving each batch to a GPU. A device named
    explicitly is always used.
    """
    if name not in CHOICES:
        raise DeviceError(f"unknown device {name!r}: choose one of {', '.join(CHOICES)}")
    available = available_devices()
    if name == "auto":
        return torch.device(available[0] if _accelerated(model) else "cpu")
    if name not in available:
        raise DeviceError(f"device {name!r} is not available on this machine; available: {', '.join(available)}")
    return torch.device(name)


def _accelerated(model: str | torch.nn.Module | type | None) -> bool:
    """Whether ``auto`` may put this model on an accelerator: its class's ``accelerated`` (True if unset)."""
    if isinstance(model, str):
        model = MODELS.get(model)
    elif model is not None and not isinstance(model, type):
        model = type(model)
    return getattr(model, "accelerated", True)


def model_device(model: torch.nn.Module) -> torch.device:
    """The one device all of ``model``'s parameters are on, or a clear error."""
    devices = {p.device for p in model.parameters()}
    if len(devices) != 1:
        where = ", ".join(sorted(str(d) for d in devices)) or "nowhere (the model has no parameters)"
        raise DeviceError(f"the model's parameters are on {where}: move the whole model with model.to(device)")
    (device,) = devices
    if device.type == "meta":
        raise DeviceError("the model's parameters are on the meta device, which holds no numbers: create the model "
                          "on a real device, or load its weights (model.to_empty(device=...) then load_state_dict)")
    return device


def to_device(batch, device: torch.device):
    """A batch ``(images, labels)`` on ``device`` (no copy if it is already there)."""
    images, labels = batch
    return images.to(device), labels.to(device)
