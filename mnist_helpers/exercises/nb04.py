"""Exercises of notebook 4: predictions; softmax and cross-entropy by hand, numerically stable."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Exercise, Wrong, call, close, explain, number, numbers_in

# Outputs of a model, each a batch. Large values are the edge of this notebook: exp(1000) overflows to inf,
# exp(-1000) underflows to 0. What an answer that does not shift each row by its own maximum gives is in
# the messages of _NOT_FINITE.
_RANDOM = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
_HUGE = torch.tensor([[1000.0, 0.0, -1000.0]])
_FAR_APART = torch.tensor([[1000.0, 0.0, -1000.0], [-5.0, 5.0, 0.0]])
_TINY = torch.tensor([[-1000.0, -1001.0, -1002.0]])
_SMALL = torch.tensor([[2.5, -4.0, 7.0]])
_EQUAL = torch.tensor([[2.0, 2.0, 2.0, 2.0]])

_NOT_FINITE = {
    "huge": "with outputs as large as 1000, exp() overflows to inf and you get nan: subtract each row's maximum "
            "before exponentiating (it does not change the result)",
    "far apart": "with rows far apart ([[1000, 0, -1000], [-5, 5, 0]]) you get nan: one shift for the whole batch "
                 "leaves the second row's exp() all 0; subtract each row's own maximum",
    "tiny": "with outputs as small as -1000, exp() underflows to 0 and you divide 0 by 0: subtract each row's "
            "maximum before exponentiating",
}


def _describe(outputs: torch.Tensor) -> str:
    return f"outputs {outputs.tolist()}" if outputs.numel() <= 6 else f"outputs of shape {list(outputs.shape)}"


def _predict(answer) -> str:
    cases = [_RANDOM, _FAR_APART, torch.tensor([[-1001.0, -1000.0, -1002.0]]), _SMALL]
    for outputs in cases:
        result = call(answer, outputs, given=_describe(outputs))
        if isinstance(result, torch.Tensor) and result.is_floating_point() and close(result, outputs.max(dim=1).values):
            raise Wrong("these are the largest values themselves: return their positions, the digits")
        got = numbers_in(result, "the predictions")
        truth = outputs.argmax(dim=1)
        if got.shape == (len(outputs), 1):
            raise Wrong(f"shape {list(got.shape)}: give one prediction per row as a vector, [{len(outputs)}] "
                        "(no keepdim)")
        if got.ndim == 0:
            raise Wrong("one number for the whole batch: give one prediction per row, the largest along dim=1")
        if got.shape == (outputs.shape[1],) and len(outputs) != outputs.shape[1]:
            raise Wrong("one prediction per column: take the largest output of each row (dim=1), one per image")
        if got.shape != truth.shape:
            raise Wrong(f"give one prediction per row, shape [{len(outputs)}]; got {list(got.shape)}")
        if torch.equal(got, truth.double()):
            continue
        naive = torch.exp(outputs) / torch.exp(outputs).sum(dim=1, keepdim=True)
        raise explain(got, [
            (outputs.argmin(dim=1), "these are the positions of the smallest outputs: the prediction is the largest"),
            (naive.argmax(dim=1), f"for {_describe(outputs)} your softmax gives nan (exp underflows): the prediction "
                                  "needs no softmax, since it never changes which output is largest"),
        ], f"for {_describe(outputs)} these are not the positions of the largest output of each row")
    return "no softmax needed: it never changes which output is largest."


def _softmax(answer) -> str:
    cases = [(_RANDOM, None), (_HUGE, "huge"), (_FAR_APART, "far apart"), (_TINY, "tiny"), (_SMALL, None),
             (_EQUAL, None)]
    for outputs, edge in cases:
        got = call(answer, outputs, given=_describe(outputs))
        if not isinstance(got, torch.Tensor):
            raise Wrong(f"return a tensor of probabilities, got a {type(got).__name__}")
        if got.shape != outputs.shape:
            raise Wrong(f"softmax should return a tensor of the same shape as its input, {list(outputs.shape)}; "
                        f"got {list(got.shape)}")
        got = got.detach().cpu().double()
        if not torch.isfinite(got).all():
            raise Wrong(_NOT_FINITE.get(edge, f"for {_describe(outputs)} you get nan or inf"))
        if (got < 0).any():
            raise Wrong("some probabilities are negative: exponentiate the outputs before dividing")
        row_sums, column_sums = got.sum(dim=1), got.sum(dim=0)
        if len(outputs) > 1 and close(column_sums, torch.ones(outputs.shape[1]), 1e-4) \
                and not close(row_sums, torch.ones(len(outputs)), 1e-4):
            raise Wrong("your columns sum to 1, not your rows: divide by the sum along dim=1 (keepdim=True)")
        if not close(row_sums, torch.ones(len(outputs)), 1e-4):
            raise Wrong("the rows do not sum to 1: divide each exponentiated row by its own sum")
        if not close(got, F.softmax(outputs.double(), dim=1), 1e-5):
            raise Wrong(f"for {_describe(outputs)} the rows sum to 1 but are not the softmax of the outputs")
    return "your softmax stays finite for outputs as large as 1000, because it subtracts each row's maximum first."


def _loss(got, outputs: torch.Tensor) -> float:
    """The learner's loss as a float (nan and inf kept, to be explained), or Wrong if it is not one number."""
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        return got.item()
    if isinstance(got, torch.Tensor):
        raise Wrong(f"return one number for the whole batch (the mean over the images); got a tensor of shape "
                    f"{list(got.shape)} for {_describe(outputs)}")
    if isinstance(got, float):
        return got
    return number(got, "the loss")


def _cross_entropy(answer) -> str:
    cases = [(_RANDOM, [3, 0, 9, 5], None), (_HUGE, [0], "huge"), (_HUGE, [2], "label 2"),
             (_FAR_APART, [1, 1], "far apart"), (_SMALL, [1], None)]
    for outputs, labels, edge in cases:
        labels = torch.tensor(labels)
        given = f"{_describe(outputs)} and labels {labels.tolist()}"
        got = _loss(call(answer, outputs, labels, given=given), outputs)
        x = outputs.double()
        truth = F.cross_entropy(x, labels).item()
        if got != got or abs(got) == float("inf"):
            if edge == "label 2":
                raise Wrong(f"for {given} you get {got} where F.cross_entropy gives {truth:g}: the probability of "
                            "label 2 rounds to 0, and log(0) is -inf. Never take the log of a probability: compute "
                            "the log-probability from the shifted outputs, (x - m) - log(sum(exp(x - m)))")
            raise Wrong(_NOT_FINITE.get(edge, f"for {given} you get {got}"))
        if close(got, truth, 1e-5):
            continue
        log_probs, picked = F.log_softmax(x, dim=1), range(len(labels))
        raise explain(got, [
            (F.cross_entropy(F.softmax(x, dim=1), labels), "you applied softmax twice: your function gets raw "
             "outputs, and cross-entropy applies softmax itself (F.cross_entropy also expects raw outputs, never "
             "probabilities)"),
            (-truth, "your loss is negative: cross-entropy is MINUS the log of the probability of the right label"),
            (truth * len(labels), "you summed over the batch: take the mean, so the loss does not grow with the "
                                  "batch size"),
            (-log_probs[:, labels].mean(), "you took every row's values at every label: take each row's value at its "
                                           "own label, one per image"),
            (-log_probs.mean(), "you averaged over all the digits: take only the probability of each image's own "
                                "label"),
            (-log_probs.exp()[picked, labels].mean(), "you forgot the log: the loss is -log of the probability of "
                                                      "the right label"),
        ], f"for {given} your loss is {got:.4f}, F.cross_entropy gives {truth:.4f}")
    return "the same as F.cross_entropy, also for outputs as large as 1000."


q1 = Exercise("q1", _predict, "the predicted digit is the position of the largest output in each row; notebook 4 "
              "got it from torch.max, and softmax does not change which output is largest.", "predict")
q2 = Exercise("q2", _softmax, "softmax(x) is the same as softmax(x - m) for any number m subtracted from a whole row; "
              "choose m so that the largest exponent is 0, so nothing overflows. Mind the shapes: one m per row, "
              "kept as a column so that it lines up with its row (keepdim=True).", "softmax")
q3 = Exercise("q3", _cross_entropy, "do not compute probabilities and then their log: the log of a probability that "
              "rounded to 0 is -inf. Use the formula in the task for the log-probabilities of every digit, then "
              "take each image's value at its label, as notebook 4 picked probabilities with two index lists.",
              "stable_cross_entropy")
