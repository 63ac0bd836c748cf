"""Exercises of notebook 3: counting parameters, flattening a batch, a model class for colour images."""

from __future__ import annotations

import operator

import torch
import torch.nn as nn

from . import Exercise, NotAnswered, Wrong, as_whole_number, call, explain, what_went_wrong


def _count_parameters(answer) -> str:
    for inputs, outputs in [(784, 10), (3, 2), (100, 3), (1, 7), (10, 1)]:
        about = f"for nn.Linear({inputs}, {outputs})"
        got = as_whole_number(call(answer, inputs, outputs, given=f"inputs={inputs}, outputs={outputs}"),
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


COLOUR_INPUTS = 3 * 32 * 32  # the values of one 32x32 colour image


def _colour_model(answer) -> str:
    model = _build(answer)
    count = sum(p.numel() for p in model.parameters())
    counts = {784 * 10 + 10: ("mnist-size", "the layer takes 784 inputs, MNIST's 28x28 gray images: a 32x32 colour "
                                            f"image has 3 x 32 x 32 = {COLOUR_INPUTS:,} values"),
              32 * 32 * 10 + 10: ("one-channel", "the layer takes 32 x 32 = 1,024 inputs, one channel: a colour "
                                                 f"image has 3 values per pixel, {COLOUR_INPUTS:,} in all"),
              0: ("no-layer", "the model has no parameters: create the nn.Linear in __init__ and keep it as an "
                              "attribute (self.linear = ...), so that model.parameters() finds it")}
    if count in counts:
        raise Wrong(counts[count][1], counts[count][0])
    if count != COLOUR_INPUTS * 10 + 10:
        raise Wrong(f"the model has {count:,} parameters; one nn.Linear from {COLOUR_INPUTS:,} inputs to 10 scores "
                    f"has {COLOUR_INPUTS * 10 + 10:,}", "wrong-parameter-count")
    if type(model).forward is nn.Module.forward:
        raise Wrong("the class has no forward: write forward(self, xb), which flattens the batch and returns the "
                    "layer's scores", "no-forward")
    generator = torch.Generator().manual_seed(0)
    for batch in (128, 5, 1):
        images = torch.rand(batch, 3, 32, 32, generator=generator)
        scores = _scores(model, images, first=batch == 128)
        if not isinstance(scores, torch.Tensor):
            raise Wrong(f"forward should return a tensor of scores, got a {type(scores).__name__}", "not-a-tensor")
        if scores.shape != (batch, 10):
            raise Wrong(f"a batch of {batch} images should give [{batch}, 10] scores, got {list(scores.shape)}",
                        "wrong-shape")
        if not torch.isfinite(scores).all():
            raise Wrong(f"for a batch of {batch} images some scores are nan or inf: return the layer's scores as they "
                        "come, with nothing divided or multiplied after it", "not-finite")
        if batch > 1 and (scores >= 0).all() and torch.allclose(scores.sum(dim=1), torch.ones(batch), atol=1e-4):
            raise Wrong("each row of scores adds up to 1: return the layer's raw scores (the logits), without "
                        "softmax; notebook 4 turns them into probabilities", "softmax-at-end")
    return (f"{COLOUR_INPUTS * 10 + 10:,} parameters ({COLOUR_INPUTS:,} inputs times 10 outputs, plus 10 biases) "
            "and [B, 10] scores for a batch of any size: MnistModel's recipe for other images.")


def _build(answer) -> nn.Module:
    """The learner's model: built from the class with no arguments (or the model itself, if given one)."""
    if isinstance(answer, nn.Module):
        return answer
    if not (isinstance(answer, type) and issubclass(answer, nn.Module)):
        raise Wrong(f"the answer should be a class built on nn.Module (class ColourModel(nn.Module): ...), got a "
                    f"{type(answer).__name__}", "not-a-module-class")
    if "__init__" not in vars(answer) and "forward" not in vars(answer):
        raise NotAnswered  # the student edition's class, with only its docstring
    try:
        return answer()
    except AttributeError as err:
        if "Module.__init__() call" in str(err):
            raise Wrong("ColourModel() failed: __init__ must call super().__init__() before it creates a layer",
                        "no-super-init") from None
        raise Wrong(f"ColourModel() {what_went_wrong(err)}", "raised") from None


def _scores(model: nn.Module, images: torch.Tensor, first: bool):
    """``model(images)``; a flatten that is missing, or fixed to one batch size, gets its own message."""
    try:
        return call(model, images, given=f"a batch of shape {list(images.shape)}")
    except Wrong as why:
        if why.mistake == "raised" and not first:  # it took the batch of 128, so it does flatten
            raise Wrong(f"the model works on a batch of 128 but not on {list(images.shape)}: let the batch size "
                        f"follow the images, reshape(-1, {COLOUR_INPUTS:,}) or flatten(1)", "fixed-batch") from None
        if why.mistake == "raised" and "cannot be multiplied" in str(why):
            raise Wrong(f"the model raised an error on a batch {list(images.shape)}: the layer got 32 numbers per row."
                        f" Flatten each image to {COLOUR_INPUTS:,} values first, [B, {COLOUR_INPUTS:,}]",
                        "no-flatten") from None
        raise


q1 = Exercise(judge=_count_parameters,
              hint="nn.Linear(inputs, outputs) holds one weight for every (output, input) pair, "
              "and one bias for each output. Check yours with 784 and 10: 7,850.", answer="count_parameters",
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
q2 = Exercise(judge=_flatten, hint="reshape changes the shape and keeps the pixels in order; keep the first dimension "
              "(the batch) and put everything else in one row. A -1 in a shape lets PyTorch work out that size.",
              answer="flatten", mistakes={
    "rows-of-pixels": "reshape(-1, 28) keeps rows of pixels: a whole image is 784 numbers in one row.",
    "images-in-columns": "reshape(784, -1) puts pixels first: the batch stays the first dimension.",
    "flattened-batch": "flatten() with no argument flattens the batch too: flatten(1) or reshape(len(x), -1).",
    "wrong-shape": "Often a fixed batch size (128): the last batch is shorter, so use -1 or len(x).",
    "changed-dtype": "The model's weights are float32: a float64 batch would not multiply with them.",
    "pixel-order": "A transpose before reshape reorders the pixels: reshape alone keeps them row by row.",
})
q3 = Exercise(judge=_colour_model, hint="MnistModel in mnist_helpers/model.py has the same two parts: __init__ sets up "
              "nn.Module first and keeps one layer as an attribute, forward flattens the batch and returns the layer's "
              "output. Only the number of inputs changes: three numbers per pixel.", answer="ColourModel", mistakes={
    "mnist-size": "They copied MnistModel's 784: a 32x32 colour image has 3 x 32 x 32 values.",
    "one-channel": "A colour pixel holds three numbers: the inputs are 3 x 32 x 32.",
    "no-layer": "A layer created inside forward is new at every call and never trained: create it in __init__.",
    "wrong-parameter-count": "One nn.Linear from 3,072 inputs to 10 outputs: count it as in exercise 3.1.",
    "no-forward": "nn.Module calls forward: the name must be exactly forward.",
    "no-flatten": "nn.Linear works on the last dimension only: the images must be rows of 3,072 numbers first.",
    "fixed-batch": "A fixed 128 in reshape breaks on the short last batch: -1 lets PyTorch work it out.",
    "wrong-shape": "One row of 10 scores per image, a batch of one included: no squeeze() at the end.",
    "not-finite": "Scores of nan or inf come from arithmetic after the layer: forward returns self.linear(...) as is.",
    "softmax-at-end": "The model returns logits; softmax comes in notebook 4, inside cross-entropy.",
    "no-super-init": "nn.Module must set itself up (super().__init__()) before it can keep layers.",
    "not-a-module-class": "The answer is the class itself: class ColourModel(nn.Module), without parentheses.",
})
