"""Exercises of notebook 4: softmax and cross-entropy by hand, numerically stable; predictions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Exercise, Wrong, call


def _cases() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(4, 10, generator=generator), torch.randn(1, 3, generator=generator) * 5,
            torch.tensor([[1000.0, 0.0, -1000.0], [-5.0, 5.0, 0.0]])]  # large outputs: exp overflows unless shifted


def _softmax(answer) -> str:
    for outputs in _cases():
        given = f"outputs of shape {list(outputs.shape)}" + (" with values up to 1000" if outputs.abs().max() > 100 else "")
        got = call(answer, outputs.clone(), given=given)
        if not isinstance(got, torch.Tensor) or got.shape != outputs.shape:
            raise Wrong(f"softmax should return a tensor of the same shape as its input, {list(outputs.shape)}")
        if torch.isnan(got).any() or torch.isinf(got).any():
            raise Wrong("with outputs as large as 1000, exp() overflows to inf and you get nan: subtract each row's "
                        "maximum before exponentiating (it does not change the result)")
        if (got < 0).any():
            raise Wrong("some probabilities are negative: exponentiate the outputs before dividing")
        if len(outputs) > 1 and torch.allclose(got.sum(dim=0), torch.ones(outputs.shape[1]), atol=1e-4) \
                and not torch.allclose(got.sum(dim=1), torch.ones(len(outputs)), atol=1e-4):
            raise Wrong("your columns sum to 1, not your rows: divide by the sum along dim=1 (keepdim=True)")
        if not torch.allclose(got.sum(dim=1), torch.ones(len(outputs)), atol=1e-4):
            raise Wrong("the rows do not sum to 1: divide each exponentiated row by its own sum")
        if not torch.allclose(got, F.softmax(outputs, dim=1), atol=1e-5):
            raise Wrong("the rows sum to 1 but are not the softmax of the outputs")
    return "your softmax stays finite for outputs as large as 1000, because it subtracts each row's maximum first."


def _cross_entropy(answer) -> str:
    for outputs in _cases():
        labels = torch.arange(len(outputs)) % outputs.shape[1]
        given = f"outputs of shape {list(outputs.shape)}" + (" with values up to 1000" if outputs.abs().max() > 100 else "")
        got = call(answer, outputs.clone(), labels, given=given)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise Wrong("return one number for the whole batch (a tensor with one value): the mean over the images")
        truth = F.cross_entropy(outputs, labels)
        if torch.isnan(got) or torch.isinf(got):
            raise Wrong("with outputs as large as 1000 you get inf or nan: subtract each row's maximum before exp, "
                        "and take the log of the shifted softmax (log p = shifted - log(sum(exp(shifted))))")
        if torch.allclose(got, F.cross_entropy(F.softmax(outputs, dim=1), labels), atol=1e-5) and not torch.allclose(got, truth, atol=1e-5):
            raise Wrong("you applied softmax twice: your function gets raw outputs, and cross-entropy applies softmax itself "
                        "(F.cross_entropy also expects raw outputs, never probabilities)")
        if torch.allclose(got, -truth, atol=1e-5) and truth.abs() > 1e-6:
            raise Wrong("your loss is negative: cross-entropy is MINUS the log of the probability of the right label")
        if len(outputs) > 1 and torch.allclose(got, truth * len(outputs), atol=1e-4):
            raise Wrong("you summed over the batch: take the mean, so the loss does not grow with the batch size")
        if not torch.allclose(got, truth, atol=1e-5):
            raise Wrong(f"for outputs of shape {list(outputs.shape)} your loss is {got.item():.4f}, F.cross_entropy gives {truth.item():.4f}")
    return "the same as F.cross_entropy, also for outputs as large as 1000."


def _predict(answer) -> str:
    for outputs in _cases():
        got = call(answer, outputs.clone(), given=f"outputs of shape {list(outputs.shape)}")
        if not isinstance(got, torch.Tensor):
            raise Wrong(f"return a tensor of predicted digits, got a {type(got).__name__}")
        if got.shape == (outputs.shape[1],) and len(outputs) != outputs.shape[1]:
            raise Wrong("one prediction per column: take the largest output of each row (dim=1), one per image")
        if got.is_floating_point():
            raise Wrong("these look like the largest values themselves: return their positions, the digits (argmax)")
        if not torch.equal(got, outputs.argmax(dim=1)):
            raise Wrong("these are not the positions of the largest output of each row")
    return "no softmax needed: it never changes which output is largest."


q1 = Exercise("q1", _softmax, "softmax(x) = exp(x - m) / sum(exp(x - m)) for any number m; with m the row maximum, "
              "the largest exp is exp(0) = 1, which cannot overflow. outputs.max(dim=1, keepdim=True).values gives m.")
q2 = Exercise("q2", _cross_entropy, "log(softmax(x)) = (x - m) - log(sum(exp(x - m))). Pick each row's value at its "
              "label with [range(len(labels)), labels], then take minus the mean.")
q3 = Exercise("q3", _predict, "outputs.argmax(dim=1), or torch.max(outputs, dim=1) and keep the indices.")
