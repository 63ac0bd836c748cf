"""Notebook 4's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import torch
import torch.nn.functional as F


def softmax(outputs):
    shifted = outputs - outputs.max(dim=1, keepdim=True).values
    exps = torch.exp(shifted)
    return exps / exps.sum(dim=1, keepdim=True)


def softmax_by_rows(outputs):
    rows = []
    for row in outputs:
        exps = (row - row.max()).exp()
        rows.append(exps / exps.sum())
    return torch.stack(rows)


def shifts_in_place(outputs):
    outputs -= outputs.max(dim=1, keepdim=True).values
    return outputs.exp() / outputs.exp().sum(dim=1, keepdim=True)


def cross_entropy(outputs, labels):
    shifted = outputs - outputs.max(dim=1, keepdim=True).values
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    return -log_probs[range(len(labels)), labels].mean()


def log_probs(outputs):
    shifted = outputs - outputs.max(dim=1, keepdim=True).values
    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()


def naive_softmax(outputs):
    return torch.exp(outputs) / torch.exp(outputs).sum(dim=1, keepdim=True)


RIGHT = {
    "q1": [lambda o: o.argmax(dim=1),
           lambda o: torch.max(o, 1)[1],
           lambda o: o.max(dim=1).indices,
           lambda o: F.softmax(o, dim=1).argmax(dim=1),
           lambda o: [row.argmax().item() for row in o],
           lambda o: o.argmax(dim=-1),
           lambda o: o.numpy().argmax(axis=1)],
    "q2": [softmax,
           lambda x: (x - x.amax(dim=1, keepdim=True)).exp() / (x - x.amax(dim=1, keepdim=True)).exp().sum(1, True),
           lambda x: torch.exp(x - torch.logsumexp(x, dim=1, keepdim=True)),
           lambda x: F.softmax(x, dim=1),
           softmax_by_rows,
           lambda x: softmax(x.double()),
           lambda x: (x - torch.max(x, 1)[0][:, None]).exp() / (x - torch.max(x, 1)[0][:, None]).exp().sum(1)[:, None]],
    "q3": [cross_entropy,
           F.cross_entropy,
           lambda o, y: F.nll_loss(F.log_softmax(o, dim=1), y),
           lambda o, y: (torch.logsumexp(o, dim=1) - o[range(len(y)), y]).mean(),
           lambda o, y: -log_probs(o).gather(1, y[:, None]).mean(),
           lambda o, y: cross_entropy(o, y).item(),
           lambda o, y: -log_probs(o)[torch.arange(len(y)), y].sum() / len(y)],
}

WRONG = {
    "q1": [(lambda o: o.argmax(dim=0), "one prediction per column"),
           (lambda o: o.max(dim=1).values, "largest values themselves"),
           (lambda o: o.argmax(dim=1, keepdim=True), "no keepdim"),
           (lambda o: o.argmax(), "one number for the whole batch"),
           (lambda o: o.argmin(dim=1), "smallest outputs"),
           (lambda o: naive_softmax(o).argmax(dim=1), "your softmax gives nan"),
           (lambda o: o.argmax(dim=1) + 1, "not the positions of the largest output")],
    "q2": [(naive_softmax, "exp() overflows to inf"),
           (lambda x: torch.exp(x - x.max()) / torch.exp(x - x.max()).sum(dim=1, keepdim=True),
            "one shift for the whole batch"),
           (lambda x: naive_softmax(x.clamp(max=80)), "divide 0 by 0"),
           (lambda x: F.softmax(x, dim=0), "columns sum to 1"),
           (lambda x: x / x.sum(dim=1, keepdim=True), "negative"),
           (lambda x: torch.exp(x - x.max(dim=1, keepdim=True).values), "rows do not sum to 1"),
           (lambda x: x.abs() / x.abs().sum(dim=1, keepdim=True), "are not the softmax"),
           (shifts_in_place, "changed the tensor it was given"),
           (lambda x: softmax(x).tolist(), "return a tensor of probabilities"),
           (lambda x: softmax(x).t(), "same shape as its input")],
    "q3": [(lambda o, y: F.cross_entropy(F.softmax(o, dim=1), y), "applied softmax twice"),
           (lambda o, y: -cross_entropy(o, y), "MINUS the log"),
           (lambda o, y: cross_entropy(o, y) * len(y), "summed over the batch"),
           (lambda o, y: -torch.log(naive_softmax(o)[range(len(y)), y]).mean(), "exp() overflows to inf"),
           (lambda o, y: -torch.log(softmax(o)[range(len(y)), y]).mean(), "log(0) is -inf"),
           (lambda o, y: -(o - o.max() - (o - o.max()).exp().sum(dim=1, keepdim=True).log())[range(len(y)), y].mean(),
            "one shift for the whole batch"),
           (lambda o, y: -log_probs(o)[:, y].mean(), "every row's values at every label"),
           (lambda o, y: -log_probs(o).mean(), "averaged over all the digits"),
           (lambda o, y: -softmax(o)[range(len(y)), y].mean(), "forgot the log"),
           (lambda o, y: -log_probs(o)[range(len(y)), y], "return one number for the whole batch"),
           (lambda o, y: cross_entropy(o, y) + 0.1, ", F.cross_entropy gives"),
           (lambda o, y: cross_entropy(o, y) * float("nan"), "and labels [3, 0, 9, 5] you get nan")],
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["not the positions of the largest output"],
    "q3": [", F.cross_entropy gives"],
}
