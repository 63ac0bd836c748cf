"""Exercises of notebook 3: counting parameters, flattening a batch, a model for colour images."""

from __future__ import annotations

import torch
import torch.nn as nn

from . import Exercise, Wrong, call


def _count_parameters(answer) -> str:
    for inputs, outputs in [(784, 10), (3, 2), (100, 3), (1, 7)]:
        got = call(answer, inputs, outputs, given=f"inputs={inputs}, outputs={outputs}")
        truth = sum(p.numel() for p in nn.Linear(inputs, outputs).parameters())
        if got == inputs * outputs:
            raise Wrong(f"for nn.Linear({inputs}, {outputs}) you count only the weights: there is also one bias per output")
        if got == inputs + outputs:
            raise Wrong(f"for nn.Linear({inputs}, {outputs}) you added the sizes: every output has one weight per input")
        if got != truth:
            raise Wrong(f"nn.Linear({inputs}, {outputs}) does not have {got} parameters")
    return "weights (inputs x outputs) plus one bias per output."


def _flatten(answer) -> str:
    for batch in (128, 5, 1):
        images = torch.rand(batch, 1, 28, 28)
        got = call(answer, images, given=f"a batch of shape {list(images.shape)}")
        if not isinstance(got, torch.Tensor):
            raise Wrong(f"return a tensor, got a {type(got).__name__}")
        if got.shape == (batch * 28, 28):
            raise Wrong(f"shape {list(got.shape)}: each row holds one row of pixels; each row should hold a whole image, 784 numbers")
        if got.shape == (784, batch) and batch > 1:
            raise Wrong(f"shape {list(got.shape)}: images are in columns; put one image per row, [{batch}, 784]")
        if got.shape != (batch, 784):
            raise Wrong(f"a batch of {batch} images should become [{batch}, 784], got {list(got.shape)}")
        if not torch.equal(got, images.reshape(batch, 784)):
            raise Wrong("the shape is right but the pixels are in another order: flatten each image row by row, as reshape does")
    return "reshape(-1, 784) works for any batch size, the short last batch included."


def _colour_parameters(answer) -> str:
    truth = 3 * 32 * 32 * 10 + 10
    if not isinstance(answer, (int, float)) and not (isinstance(answer, torch.Tensor) and answer.numel() == 1):
        raise Wrong(f"give one number, got a {type(answer).__name__}")
    answer = int(answer)
    if answer == 32 * 32 * 10 + 10:
        raise Wrong("you counted one channel: a colour image has 3 values per pixel (red, green, blue)")
    if answer == 3 * 32 * 32 * 10:
        raise Wrong("you counted the weights only: add one bias per digit")
    if answer != truth:
        raise Wrong(f"{answer:,} is not the number of parameters of that model")
    return f"{truth:,} parameters: 3 x 32 x 32 = 3,072 inputs, times 10 outputs, plus 10 biases."


q1 = Exercise("q1", _count_parameters, "nn.Linear(inputs, outputs) holds a weight for every (output, input) pair and one "
              "bias per output.")
q2 = Exercise("q2", _flatten, "images.reshape(-1, 784): -1 lets PyTorch work out the batch size.")
q3 = Exercise("q3", _colour_parameters, "a 32x32 colour image has 3 x 32 x 32 numbers: that many inputs for each of the "
              "10 outputs, plus the biases.")
