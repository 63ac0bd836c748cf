"""Exercises of notebook 3: counting parameters, flattening a batch, a model for colour images."""

from __future__ import annotations

import operator

import torch
import torch.nn as nn

from . import Exercise, Wrong, call, explain, number, whole_number


def _count_parameters(answer) -> str:
    for inputs, outputs in [(784, 10), (3, 2), (100, 3), (1, 7), (10, 1)]:
        about = f"for nn.Linear({inputs}, {outputs})"
        got = whole_number(call(answer, inputs, outputs, given=f"inputs={inputs}, outputs={outputs}"),
                           f"{about}, the count")
        if got == inputs * outputs + outputs:
            continue
        raise explain(got, [
            (inputs * outputs, "weights-only",
                               f"{about} you count only the weights: there is also one bias per output"),
            (inputs + outputs, "added-sizes", f"{about} you added the sizes: every output has one weight per input"),
            (inputs * outputs + inputs, "bias-per-input",
                                        f"{about} you count one bias per input: there is one bias per output"),
            (inputs * outputs + 1, "one-bias", f"{about} you count one bias in all: each output has a bias of its own"),
            (784 * 10 + 10, "constant-answer",
                            "your function gives 7,850 whatever the sizes: compute the count from inputs and outputs"),
        ], f"nn.Linear({inputs}, {outputs}) does not have {got:,} parameters", same=operator.eq)
    return "weights (inputs x outputs) plus one bias per output."


def _flatten(answer) -> str:
    generator = torch.Generator().manual_seed(0)
    for batch in (128, 5, 1):
        images = torch.rand(batch, 1, 28, 28, generator=generator)
        got = call(answer, images, given=f"a batch of shape {list(images.shape)}")
        if not isinstance(got, torch.Tensor):
            raise Wrong(f"return a tensor, got a {type(got).__name__}", "not-a-tensor")
        if got.shape == (batch * 28, 28):
            raise Wrong(f"shape {list(got.shape)}: each row holds one row of pixels; each row should hold a whole "
                        "image, 784 numbers", "rows-of-pixels")
        if got.shape == (784, batch) and batch > 1:
            raise Wrong(f"shape {list(got.shape)}: images are in columns; put one image per row, [{batch}, 784]",
                        "images-in-columns")
        if got.shape == (batch * 784,):
            raise Wrong(f"shape {list(got.shape)}: the whole batch became one long row; keep one row per image, "
                        f"[{batch}, 784]", "flattened-batch")
        if got.shape != (batch, 784):
            raise Wrong(f"a batch of {batch} images should become [{batch}, 784], got {list(got.shape)}", "wrong-shape")
        if got.dtype != images.dtype:
            raise Wrong(f"the images are {images.dtype} and you return {got.dtype}: keep their type, the model "
                        "expects float32", "changed-dtype")
        if not torch.equal(got, images.reshape(batch, 784)):
            raise Wrong("the shape is right but the pixels are in another order: flatten each image row by row, "
                        "as reshape does", "pixel-order")
    return "reshape(-1, 784) works for any batch size, the short last batch included."


def _colour_parameters(answer) -> str:
    truth = 3 * 32 * 32 * 10 + 10
    got = number(answer, "colour_parameters")
    if got == truth:
        return f"{truth:,} parameters: 3 x 32 x 32 = 3,072 inputs, times 10 outputs, plus 10 biases."
    raise explain(got, [
        (32 * 32 * 10 + 10, "one-channel",
                            "you counted one channel: a colour image has 3 values per pixel (red, green, blue)"),
        (3 * 32 * 32 * 10, "weights-only", "you counted the weights only: add one bias per class"),
        (3 * 32 * 32, "inputs-only",
                      "3,072 is the number of inputs, the values of one image: each of the 10 outputs has a weight "
                      "for every one of them"),
        (3 * 32 * 32 + 10, "added-sizes",
                           "you added inputs and outputs: each of the 10 outputs has a weight for every input"),
        (784 * 10 + 10, "mnist-count",
                        "7,850 is the MNIST model's count (28x28 gray images): count for 32x32 colour images"),
    ], f"{got:,} is not the number of parameters of that model", same=operator.eq)


q1 = Exercise("q1", _count_parameters, "nn.Linear(inputs, outputs) holds one weight for every (output, input) pair, "
              "and one bias for each output. Check yours with 784 and 10: 7,850.", "count_parameters",
              without={"nn.Linear": [(nn.Linear, "__init__")]},
              mistakes={
    "uses-nn-linear": "Building the layer to count its parameters skips the point: the count follows from the "
                      "layer's shape, weights plus biases.",
    "weights-only": "Show a layer's two parameter tensors, weight and bias: list(layer.parameters()).",
    "added-sizes": "Draw the layer: every output is joined to every input, so the weights multiply.",
    "bias-per-input": "The bias is added to each output: there are as many biases as outputs.",
    "one-bias": "Print layer.bias.shape: one bias per output.",
    "constant-answer": "The function returns a fixed number: use its arguments.",
})
q2 = Exercise("q2", _flatten, "reshape changes the shape and keeps the pixels in order; keep the first dimension "
              "(the batch) and put everything else in one row. A -1 in a shape lets PyTorch work out that size.",
              "flatten", mistakes={
    "rows-of-pixels": "reshape(-1, 28) keeps rows of pixels: a whole image is 784 numbers in one row.",
    "images-in-columns": "reshape(784, -1) puts pixels first: the batch stays the first dimension.",
    "flattened-batch": "flatten() with no argument flattens the batch too: flatten(1) or reshape(len(x), -1).",
    "wrong-shape": "Often a fixed batch size (128): the last batch is shorter, so use -1 or len(x).",
    "changed-dtype": "The model's weights are float32: a float64 batch would not multiply with them.",
    "pixel-order": "A transpose before reshape reorders the pixels: reshape alone keeps them row by row.",
})
q3 = Exercise("q3", _colour_parameters, "count the inputs first: a 32x32 colour image has three numbers per pixel. "
              "Then the same rule as nn.Linear(784, 10): weights for every (output, input) pair, plus the biases.",
              "colour_parameters", mistakes={
    "one-channel": "A colour pixel holds three numbers: the inputs are 3 x 32 x 32.",
    "weights-only": "Every output has its bias, as in nn.Linear.",
    "inputs-only": "3,072 values go in; each of the 10 outputs has a weight for each of them.",
    "added-sizes": "Every output is joined to every input: the weights multiply.",
    "mnist-count": "They gave MNIST's count: redo it for 32x32 colour images.",
})
