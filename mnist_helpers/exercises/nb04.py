"""Exercises of notebook 4: predictions; softmax and cross-entropy by hand, numerically stable."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Exercise, Wrong, as_float64_tensor, as_number, call, close, explain

# Outputs of a model, each a batch. Large values are the edge of this notebook: exp(1000) overflows to inf,
# exp(-1000) underflows to 0. What an answer that does not shift each row by its own maximum gives is in
# the messages of _NOT_FINITE.
_RANDOM = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
_HUGE = torch.tensor([[1000.0, 0.0, -1000.0]])
_FAR_APART = torch.tensor([[1000.0, 0.0, -1000.0], [-5.0, 5.0, 0.0]])
_TINY = torch.tensor([[-1000.0, -1001.0, -1002.0]])
_SMALL = torch.tensor([[2.5, -4.0, 7.0]])
_EQUAL = torch.tensor([[2.0, 2.0, 2.0, 2.0]])

_NOT_FINITE = {  # edge: (mistake, message)
    "huge": ("no-shift", "with outputs as large as 1000, exp() overflows to inf and you get nan: subtract each "
                         "row's maximum before exponentiating (it does not change the result)"),
    "far apart": ("one-shift-per-batch", "with rows far apart ([[1000, 0, -1000], [-5, 5, 0]]) you get nan: one "
                                         "shift for the whole batch leaves the second row's exp() all 0; subtract "
                                         "each row's own maximum"),
    "tiny": ("underflow", "with outputs as small as -1000, exp() underflows to 0 and you divide 0 by 0: subtract "
                          "each row's maximum before exponentiating"),
}


def _describe(outputs: torch.Tensor) -> str:
    return f"outputs {outputs.tolist()}" if outputs.numel() <= 6 else f"outputs of shape {list(outputs.shape)}"


def _predict(answer) -> str:
    cases = [_RANDOM, _FAR_APART, torch.tensor([[-1001.0, -1000.0, -1002.0]]), _SMALL]
    for outputs in cases:
        result = call(answer, outputs, given=_describe(outputs))
        if isinstance(result, torch.Tensor) and result.is_floating_point() and close(result, outputs.max(dim=1).values):
            raise Wrong("these are the largest values themselves: return their positions, the digits",
                        "values-not-positions")
        got = as_float64_tensor(result, "the predictions")
        truth = outputs.argmax(dim=1)
        if got.shape == (len(outputs), 1):
            raise Wrong(f"shape {list(got.shape)}: give one prediction per row as a vector, [{len(outputs)}] "
                        "(no keepdim)", "keepdim")
        if got.ndim == 0:
            raise Wrong("one number for the whole batch: give one prediction per row, the largest along dim=1",
                        "whole-batch")
        if got.shape == (outputs.shape[1],) and len(outputs) != outputs.shape[1]:
            raise Wrong("one prediction per column: take the largest output of each row (dim=1), one per image",
                        "wrong-dimension")
        if got.shape != truth.shape:
            raise Wrong(f"give one prediction per row, shape [{len(outputs)}]; got {list(got.shape)}", "wrong-shape")
        if torch.equal(got, truth.double()):
            continue
        naive = torch.exp(outputs) / torch.exp(outputs).sum(dim=1, keepdim=True)
        raise explain(got, [
            (outputs.argmin(dim=1), "smallest",
                                    "these are the positions of the smallest outputs: the prediction is the largest"),
            (naive.argmax(dim=1), "unstable-softmax",
                                  f"for {_describe(outputs)} your softmax gives nan (exp underflows): the prediction "
                                  "needs no softmax, since it never changes which output is largest"),
        ], f"for {_describe(outputs)} these are not the positions of the largest output of each row")
    return "no softmax needed: it never changes which output is largest."


def _softmax(answer) -> str:
    cases = [(_RANDOM, None), (_HUGE, "huge"), (_FAR_APART, "far apart"), (_TINY, "tiny"), (_SMALL, None),
             (_EQUAL, None)]
    for outputs, edge in cases:
        got = call(answer, outputs, given=_describe(outputs))
        if not isinstance(got, torch.Tensor):
            raise Wrong(f"return a tensor of probabilities, got a {type(got).__name__}", "not-a-tensor")
        if got.shape != outputs.shape:
            raise Wrong(f"softmax should return a tensor of the same shape as its input, {list(outputs.shape)}; "
                        f"got {list(got.shape)}", "wrong-shape")
        got = got.detach().cpu().double()
        if not torch.isfinite(got).all():
            kind, message = _NOT_FINITE.get(edge, ("not-finite", f"for {_describe(outputs)} you get nan or inf"))
            raise Wrong(message, kind)
        if (got < 0).any():
            raise Wrong("some probabilities are negative: exponentiate the outputs before dividing", "negative")
        row_sums, column_sums = got.sum(dim=1), got.sum(dim=0)
        if len(outputs) > 1 and close(column_sums, torch.ones(outputs.shape[1]), 1e-4) \
                and not close(row_sums, torch.ones(len(outputs)), 1e-4):
            raise Wrong("your columns sum to 1, not your rows: divide by the sum along dim=1 (keepdim=True)",
                        "columns-sum-to-one")
        if not close(row_sums, torch.ones(len(outputs)), 1e-4):
            raise Wrong("the rows do not sum to 1: divide each exponentiated row by its own sum", "rows-not-normalised")
        if not close(got, F.softmax(outputs.double(), dim=1), 1e-5):
            raise Wrong(f"for {_describe(outputs)} the rows sum to 1 but are not the softmax of the outputs",
                        "not-softmax")
    return "your softmax stays finite for outputs as large as 1000, because it subtracts each row's maximum first."


def _loss(got, outputs: torch.Tensor) -> float:
    """The learner's loss as a float (nan and inf kept, to be explained), or Wrong if it is not one number.

    A tensor of one loss per image gets this exercise's own message (``not-one-loss``) before ``as_number``.
    """
    if isinstance(got, torch.Tensor) and got.numel() != 1:
        raise Wrong(f"return one number for the whole batch (the mean over the images); got a tensor of shape "
                    f"{list(got.shape)} for {_describe(outputs)}", "not-one-loss")
    return as_number(got, "the loss", finite=False)


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
                            "the log-probability from the shifted outputs, (x - m) - log(sum(exp(x - m)))",
                            "log-of-zero")
            kind, message = _NOT_FINITE.get(edge, ("not-finite", f"for {given} you get {got}"))
            raise Wrong(message, kind)
        if close(got, truth, 1e-5):
            continue
        log_probs, picked = F.log_softmax(x, dim=1), range(len(labels))
        raise explain(got, [
            (F.cross_entropy(F.softmax(x, dim=1), labels), "softmax-twice",
                                                           "you applied softmax twice: your function gets raw "
             "outputs, and cross-entropy applies softmax itself (F.cross_entropy also expects raw outputs, never "
             "probabilities)"),
            (-truth, "no-minus",
                     "your loss is negative: cross-entropy is MINUS the log of the probability of the right label"),
            (truth * len(labels), "sum-not-mean",
                                  "you summed over the batch: take the mean, so the loss does not grow with the "
                                  "batch size"),
            (-log_probs[:, labels].mean(), "wrong-indexing",
                                           "you took every row's values at every label: take each row's value at its "
                                           "own label, one per image"),
            (-log_probs.mean(), "mean-over-digits",
                                "you averaged over all the digits: take only the probability of each image's own "
                                "label"),
            (-log_probs.exp()[picked, labels].mean(), "no-log",
                                                      "you forgot the log: the loss is -log of the probability of "
                                                      "the right label"),
        ], f"for {given} your loss is {got:.4f}, F.cross_entropy gives {truth:.4f}")
    return "the same as F.cross_entropy, also for outputs as large as 1000."


q1 = Exercise(judge=_predict, hint="the predicted digit is the position of the largest output in each row; notebook 4 "
              "got it from torch.max, and softmax does not change which output is largest.",
              answer="predict", mistakes={
    "values-not-positions": "max gives values and positions: the digit is the position (indices, or argmax).",
    "keepdim": "keepdim=True keeps a column: one prediction per image is a vector.",
    "whole-batch": "argmax without dim looks at the whole batch: use dim=1.",
    "wrong-dimension": "dim=0 goes down the columns: each image is a row, so dim=1.",
    "wrong-shape": "Ask them to print the shape: one prediction per image.",
    "smallest": "argmin instead of argmax: the prediction is the largest output.",
    "unstable-softmax": "Softmax keeps the order, so argmax of the raw outputs is the prediction; no exp needed.",
})
q2 = Exercise(judge=_softmax,
              hint="softmax(x) is the same as softmax(x - m) for any number m subtracted from a whole row; "
              "choose m so that the largest exponent is 0, so nothing overflows. Mind the shapes: one m per row, "
              "kept as a column so that it lines up with its row (keepdim=True).", answer="softmax", mistakes={
    "not-finite": "nan or inf on ordinary outputs: look for a division by a sum that can be 0, or a log of 0.",
    "no-shift": "exp(1000) is inf: subtracting each row's maximum changes nothing and keeps exp finite.",
    "one-shift-per-batch": "They subtracted one maximum for the whole batch: each row needs its own (max along "
                           "dim=1).",
    "underflow": "exp(-1000) is 0, and 0/0 is nan: the same shift by the row's maximum fixes it.",
    "not-a-tensor": "The function should return the probabilities, a tensor the shape of its input.",
    "wrong-shape": "Often a sum without keepdim: the row sums must stay a column to divide each row.",
    "negative": "Dividing raw outputs by their sum is not softmax: exponentiate first.",
    "columns-sum-to-one": "The sum went along dim=0: each image is a row, so dim=1, keepdim=True.",
    "rows-not-normalised": "Divide each row by its own sum: that is what makes probabilities.",
    "not-softmax": "Some normalisation that is not softmax: exponentiate, then divide by the row's sum.",
})
q3 = Exercise(judge=_cross_entropy,
              hint="do not compute probabilities and then their log: the log of a probability that "
              "rounded to 0 is -inf. Use the formula in the task for the log-probabilities of every digit, then "
              "take each image's value at its label, as notebook 4 picked probabilities with two index lists.",
              answer="stable_cross_entropy", mistakes={
    "not-finite": "nan or inf on ordinary outputs: look for a division by a sum that can be 0, or a log of 0.",
    "no-shift": "exp(1000) is inf: subtracting each row's maximum changes nothing and keeps exp finite.",
    "one-shift-per-batch": "They subtracted one maximum for the whole batch: each row needs its own (max along "
                           "dim=1).",
    "underflow": "exp(-1000) is 0, and 0/0 is nan: the same shift by the row's maximum fixes it.",
    "not-one-loss": "The loss is one number for the batch: the mean over the images.",
    "log-of-zero": "log(softmax) gives -inf when a probability rounds to 0: compute log-probabilities from the shifted"
                   " outputs.",
    "softmax-twice": "Cross-entropy takes raw outputs: a softmax before it is applied twice (also with "
                     "F.cross_entropy).",
    "no-minus": "The loss is MINUS the log-probability: a log of a probability is negative.",
    "sum-not-mean": "A sum grows with the batch size: the mean does not.",
    "wrong-indexing": "x[:, labels] takes every row at every label: x[range(n), labels] takes one per row.",
    "mean-over-digits": "Only the right label's log-probability counts, one per image.",
    "no-log": "Without the log, it is a probability, not a loss.",
})
