"""Exercises of notebook 8: counting an MLP's parameters, ReLU by hand, a model with a hidden layer."""

from __future__ import annotations

import copy
import operator

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import Exercise, Wrong, as_whole_number, call, close, explain, what_went_wrong


def _mlp_parameters(answer) -> str:
    for inputs, hidden, outputs in [(784, 256, 10), (3, 4, 2), (10, 1, 5), (2, 7, 3)]:
        size = f"{inputs}-{hidden}-{outputs}"
        got = as_whole_number(call(answer, inputs, hidden, outputs, given=f"inputs={inputs}, hidden={hidden}, "
                                                                       f"outputs={outputs}"), f"for {size}, the count")
        truth = inputs * hidden + hidden + hidden * outputs + outputs
        if got == truth:
            continue
        raise explain(got, [
            (inputs * hidden + hidden * outputs, "weights-only",
                                                 f"for {size} you counted the weights only: each layer also has one "
                                                 "bias per unit"),
            (inputs * hidden + hidden, "hidden-layer-only",
                                       f"for {size} you counted only the hidden layer: add the output layer, its "
                                       "weights and its biases"),
            (inputs * hidden + hidden + hidden * outputs, "output-biases-missing",
                                                          f"for {size} you left out the output layer's biases"),
            (inputs * hidden + hidden * outputs + outputs, "hidden-biases-missing",
                                                           f"for {size} you left out the hidden layer's biases"),
            (inputs * outputs + outputs, "no-hidden-layer",
                                         f"for {size} you counted a model without the hidden layer: the inputs go to "
                                         "the hidden units, and the hidden units to the outputs"),
            (inputs + hidden + outputs, "added-sizes",
                                        f"for {size} you added the sizes: every unit has one weight per unit of the "
                                        "layer before it"),
            (203_530, "constant-answer",
                      "your function gives 203,530 whatever the sizes: compute the count from inputs, hidden and "
                      "outputs"),
        ], f"a {size} network does not have {got:,} parameters", same=operator.eq)
    return "two layers, each with its weights and its biases: 203,530 for 784-256-10."


def _relu(answer) -> str:
    cases = [torch.tensor([[-2.0, -0.5, 0.0, 0.5, 3.0]]), torch.randn(7, generator=torch.Generator().manual_seed(8)),
             torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(9)), torch.tensor(-1.5)]
    for x in cases:
        given = f"the tensor {x.tolist()}" if x.numel() <= 5 else f"a tensor of shape {list(x.shape)}"
        got = call(answer, x, given=given)
        if not isinstance(got, torch.Tensor):
            raise Wrong(f"relu should return a tensor, got a {type(got).__name__} for {given}", "not-a-tensor")
        if got.shape != x.shape:
            raise Wrong(f"relu should return a tensor of the same shape as its input: for {given} you return shape "
                        f"{list(got.shape)}", "wrong-shape")
        if got.dtype == torch.bool:
            raise Wrong("these are True/False: return the values themselves where they are positive, and 0 elsewhere",
                        "mask-not-values")
        if close(got, x.clamp(min=0), 0):
            continue
        raise explain(got, [
            (x.abs(), "absolute-value",
                      "negative values came out positive: relu turns them into 0, it does not flip their sign"),
            (torch.sigmoid(x), "sigmoid", "that is the sigmoid: relu is max(0, x), straight lines on either side of 0"),
            ((x > 0).float(), "step-function", "you return 1 where x is positive: keep x's own value there"),
            (x.clamp(max=0), "min-not-max",
                             "you kept the negative values and zeroed the positive ones: it is the other way round"),
            (torch.where(x > 0, x, 0.01 * x), "leaky",
                                              "negative values should become exactly 0, not a small fraction of "
                                               "themselves"),
        ], "relu(x) is x where x is positive and 0 elsewhere", same=lambda a, b: close(a, b, 1e-6))
    return "max(0, x): the simplest non-linearity, and the one most networks use."


def _parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _outputs(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The outputs of a copy of ``model`` in evaluation mode for ``images`` (sent to its device), on the CPU."""
    model = copy.deepcopy(model).eval()
    device = next(model.parameters(), images).device
    with torch.no_grad():
        return model(images.to(device)).cpu()


def _is_piecewise_linear(model: nn.Module, images: torch.Tensor) -> bool:
    """Whether ``model`` is made of straight pieces, as with ReLU: three close points in a line stay in a line.

    In float64 a kink between the points is rare, while a smooth non-linearity (sigmoid, tanh) bends them all.
    Each row is centred first, so that a LogSoftmax at the end (a shift per row) does not count.
    """
    try:
        model = copy.deepcopy(model).double()
        direction = torch.randn(images.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        points = [_outputs(model, images.double() + step * direction) for step in (0, 1e-3, 2e-3)]
    except Exception:  # a model that cannot run in float64: this is not judged
        return True
    a, b, c = (p - p.mean(dim=1, keepdim=True) for p in points)
    return bool(((a - 2 * b + c).abs().amax(dim=1) < 1e-9).float().mean() > 0.5)


def _model(answer) -> str:
    images = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    models = {hidden: call(answer, hidden, given=f"hidden={hidden}") for hidden in (64, 37)}
    outputs = {}
    for hidden, model in models.items():
        if not isinstance(model, nn.Module):
            raise Wrong(f"return a model (an nn.Module, for example nn.Sequential), got a {type(model).__name__}",
                        "not-a-model")
        try:
            outputs[hidden] = _outputs(model, images)
        except KeyboardInterrupt:
            raise
        except Exception as err:
            if "shapes cannot be multiplied" in str(err):
                raise Wrong("a batch of [16, 1, 28, 28] images does not go in: flatten each image first",
                            "no-flatten") from None
            raise Wrong(f"a batch of 16 images {what_went_wrong(err)}", "model-raised") from None
        if not isinstance(outputs[hidden], torch.Tensor) or outputs[hidden].shape != (16, 10):
            got = outputs[hidden]
            shape = list(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise Wrong(f"a batch of 16 images should give [16, 10] outputs, one score per class; got {shape}",
                        "wrong-outputs")
    if _parameters(models[64]) == _parameters(models[37]):
        raise Wrong(f"with hidden=64 and hidden=37 your model has the same {_parameters(models[64]):,} parameters: "
                    "use the hidden size your function is given", "ignores-hidden")
    for hidden, model in models.items():
        expected, scores = 784 * hidden + hidden + hidden * 10 + 10, outputs[hidden]
        if _parameters(model) != expected:
            raise Wrong(f"with hidden={hidden}, one hidden layer (784 -> {hidden} -> 10, with biases) makes "
                        f"{expected:,} parameters, not {_parameters(model):,}", "wrong-parameter-count")
        if close(scores.sum(dim=1), torch.ones(16), 1e-4) and (scores >= 0).all():
            raise Wrong("your outputs are probabilities, each row summing to 1: leave out the final Softmax; "
                        "F.cross_entropy takes raw scores and applies softmax itself", "softmax-at-end")
        if ((scores > 0) & (scores < 1)).all():
            raise Wrong("your scores are all squashed between 0 and 1 (a Sigmoid at the end?): the output layer "
                        "should give raw scores", "sigmoid-at-end")
        if (scores >= 0).all():
            raise Wrong("your model never gives a negative score: its output layer is followed by a ReLU; ReLU goes "
                        "between the layers, and the output layer gives raw scores", "relu-at-end")
        a, b = images[:1], images[1:2]  # a linear map f (plus a constant) has f(a) + f(b) = f(a + b) + f(0)
        gap = _outputs(model, a) + _outputs(model, b) - _outputs(model, a + b) - _outputs(model, torch.zeros_like(a))
        if gap.abs().max().item() < 1e-4:
            raise Wrong("your model is still linear: two nn.Linear layers with nothing between them make one linear "
                        "map; put the non-linearity between them", "no-nonlinearity")
        if not _is_piecewise_linear(model, images):
            raise Wrong("your non-linearity is smooth (a sigmoid or tanh?): the task asks for ReLU, max(0, x)",
                        "smooth-nonlinearity")
    return "flatten, a hidden layer, ReLU, an output layer: the same shape as MnistMLP."


q1 = Exercise(judge=_mlp_parameters,
              hint="count layer by layer, as for nn.Linear in notebook 3: the hidden layer takes "
              "the inputs, the output layer takes the hidden units, and each layer has one bias per unit it "
              "produces.", answer="mlp_parameters", mistakes={
    "weights-only": "Each layer has a bias per unit it produces: two layers, two sets of biases.",
    "hidden-layer-only": "The output layer has weights and biases too: count layer by layer.",
    "output-biases-missing": "The output layer has one bias per output.",
    "hidden-biases-missing": "The hidden layer has one bias per hidden unit.",
    "no-hidden-layer": "They counted notebook 3's model: the inputs now go to the hidden units first.",
    "added-sizes": "Every unit is joined to every unit of the layer before: the weights multiply.",
    "constant-answer": "The function returns a fixed number: use its arguments.",
})
q2 = Exercise(judge=_relu,
              hint="where x is negative the answer is 0, elsewhere x itself: torch.where picks between two "
              "values element by element, and clamp cuts values at a bound. Leave x itself unchanged.", answer="relu",
              without={"F.relu": [(F, "relu"), (torch, "relu"), (torch, "relu_"), (torch.Tensor, "relu"),
                                (torch.Tensor, "relu_")]},
              mistakes={
    "uses-f-relu": "F.relu, torch.relu, nn.ReLU and x.relu() are the function itself: the task is to build it "
                   "from clamp, where or a comparison.",
    "not-a-tensor": "relu returns a tensor the shape of its input.",
    "wrong-shape": "Often a reduction (max over a dimension): relu is element by element, max(0, x) for each value.",
    "mask-not-values": "x > 0 is a mask: use it to pick values (torch.where), or multiply x by it.",
    "absolute-value": "abs flips the sign of negatives: relu turns them into 0.",
    "sigmoid": "Sigmoid squashes, relu cuts: draw both.",
    "step-function": "The mask alone is a step function: relu keeps x where x is positive.",
    "min-not-max": "min(0, x) instead of max(0, x): it is the other way round.",
    "leaky": "That is leaky ReLU, a real variant, but the task asks for ReLU.",
})
q3 = Exercise(judge=_model, hint="nn.Sequential runs its layers in order: the images must be flattened first, then a "
              "layer from 784 to hidden, the non-linearity, and a layer from hidden to 10 scores. MnistMLP in "
              "mnist_helpers/model.py does the same in a class.", answer="make_model", mistakes={
    "not-a-model": "The function returns the model, an nn.Module: not its class, nor its outputs.",
    "no-flatten": "nn.Linear takes rows of 784 numbers: nn.Flatten() first.",
    "model-raised": "Run the model on one batch before the check: the error names the layer.",
    "wrong-outputs": "The last layer must give 10 scores, one per class.",
    "ignores-hidden": "The function uses a fixed size instead of its hidden argument.",
    "wrong-parameter-count": "Count the layers: 784 -> hidden -> 10, each with its biases (8.1's count).",
    "softmax-at-end": "F.cross_entropy applies softmax itself: a Softmax layer at the end applies it twice.",
    "sigmoid-at-end": "The output layer gives raw scores: no Sigmoid at the end.",
    "relu-at-end": "ReLU goes between the layers: after the output layer it cuts every negative score.",
    "no-nonlinearity": "Two linear layers make one linear map: the non-linearity between them is what the hidden layer"
                       " adds.",
    "smooth-nonlinearity": "Sigmoid and tanh work too, but the task asks for ReLU: say why ReLU is the usual choice.",
})
