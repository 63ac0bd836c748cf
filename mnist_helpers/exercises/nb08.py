"""Exercises of notebook 8: counting an MLP's parameters, ReLU by hand, a model with a hidden layer."""

from __future__ import annotations

import torch
import torch.nn as nn

from . import Exercise, Wrong, call


def _mlp_parameters(answer) -> str:
    for inputs, hidden, outputs in [(784, 256, 10), (3, 4, 2), (10, 1, 5)]:
        got = call(answer, inputs, hidden, outputs, given=f"inputs={inputs}, hidden={hidden}, outputs={outputs}")
        truth = inputs * hidden + hidden + hidden * outputs + outputs
        if got == inputs * hidden + hidden * outputs:
            raise Wrong(f"for {inputs}-{hidden}-{outputs} you counted the weights only: each layer also has one bias per unit")
        if got == inputs * hidden + hidden:
            raise Wrong(f"for {inputs}-{hidden}-{outputs} you counted only the hidden layer: add the output layer, "
                        "hidden x outputs weights and its biases")
        if got != truth:
            raise Wrong(f"a {inputs}-{hidden}-{outputs} network does not have {got} parameters")
    return "two layers, each with its weights and its biases: 203,530 for 784-256-10."


def _relu(answer) -> str:
    x = torch.tensor([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    got = call(answer, x.clone(), given="the tensor [[-2, -0.5, 0, 0.5, 3]]")
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        raise Wrong("relu should return a tensor of the same shape as its input")
    if got.dtype == torch.bool:
        raise Wrong("these are True/False: return the values themselves where they are positive, and 0 elsewhere")
    if torch.equal(got, x.abs()):
        raise Wrong("negative values came out positive: relu turns them into 0, it does not flip their sign")
    if torch.allclose(got, torch.sigmoid(x)):
        raise Wrong("that is the sigmoid: relu is max(0, x), straight lines on either side of 0")
    if not torch.equal(got, x.clamp(min=0)):
        raise Wrong("relu(x) is x where x is positive and 0 elsewhere")
    return "max(0, x): the simplest non-linearity, and the one most networks use."


def _model(answer) -> str:
    got = call(answer, 64, given="hidden=64")
    if not isinstance(got, nn.Module):
        raise Wrong(f"return a model (an nn.Module, for example nn.Sequential), got a {type(got).__name__}")
    images = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    try:
        outputs = got(images)
    except RuntimeError as err:
        if "shapes cannot be multiplied" in str(err):
            raise Wrong("a batch of [5, 1, 28, 28] images does not go in: flatten each image first (nn.Flatten())") from None
        raise Wrong(f"a batch of 5 images raised RuntimeError ({err})") from None
    if not isinstance(outputs, torch.Tensor) or outputs.shape != (5, 10):
        shape = list(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs).__name__
        raise Wrong(f"a batch of 5 images should give [5, 10] outputs, one score per class; got {shape}")
    count = sum(p.numel() for p in got.parameters())
    if count != 784 * 64 + 64 + 64 * 10 + 10:
        raise Wrong(f"with hidden=64 the model should have 784 x 64 + 64 + 64 x 10 + 10 = 50,890 parameters, not {count:,}")
    with torch.no_grad():  # a linear map f (plus a constant) has f(a) + f(b) = f(a + b) + f(0)
        a, b = images[:1], images[1:2]
        gap = (got(a) + got(b) - got(a + b) - got(torch.zeros_like(a))).abs().max().item()
    if gap < 1e-4:
        raise Wrong("your model is still linear: two nn.Linear layers with nothing between them make one linear map; "
                    "put nn.ReLU() between them")
    return "flatten, a hidden layer, ReLU, an output layer: the same shape as MnistMLP."


q1 = Exercise("q1", _mlp_parameters, "the hidden layer has inputs x hidden weights and hidden biases; the output layer "
              "hidden x outputs weights and outputs biases.")
q2 = Exercise("q2", _relu, "x.clamp(min=0), or torch.where(x > 0, x, 0).")
q3 = Exercise("q3", _model, "nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))")
