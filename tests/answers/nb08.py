"""Notebook 8's exercises: right answers in several idioms, typical wrong ones with their own messages."""

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_helpers import MnistMLP


class HiddenLayer(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.hidden, self.output = nn.Linear(784, hidden), nn.Linear(hidden, 10)

    def forward(self, images):
        return self.output(F.relu(self.hidden(images.flatten(1))))


def zeroes_in_place(x):
    x[x < 0] = 0
    return x


def relu_net(hidden, *after):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10), *after)


RIGHT = {
    "q1": [lambda i, h, o: i * h + h + h * o + o,
           lambda i, h, o: (i + 1) * h + (h + 1) * o,
           lambda i, h, o: np.int64(i) * h + h + h * o + o,
           lambda i, h, o: sum(p.numel() for layer in (nn.Linear(i, h), nn.Linear(h, o)) for p in layer.parameters()),
           lambda i, h, o: float((i + 1) * h + (h + 1) * o)],
    "q2": [lambda x: x.clamp(min=0),
           lambda x: torch.where(x > 0, x, 0.0),
           lambda x: x * (x > 0),
           lambda x: torch.maximum(x, torch.zeros_like(x)),
           lambda x: (x + x.abs()) / 2,
           lambda x: x.masked_fill(x < 0, 0)],
    "q3": [relu_net,
           HiddenLayer,
           MnistMLP,
           lambda h: nn.Sequential(OrderedDict(flatten=nn.Flatten(), hidden=nn.Linear(784, h),
                                               relu=nn.ReLU(inplace=True), output=nn.Linear(h, 10))),
           lambda h: relu_net(h, nn.LogSoftmax(dim=1)),
           lambda h: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.ReLU(), nn.Dropout(0.2), nn.Linear(h, 10))],
}

WRONG = {
    "q1": [(lambda i, h, o: i * h + h * o, "the weights only"),
           (lambda i, h, o: i * h + h, "only the hidden layer"),
           (lambda i, h, o: i * h + h + h * o, "the output layer's biases"),
           (lambda i, h, o: i * h + h * o + o, "the hidden layer's biases"),
           (lambda i, h, o: i * o + o, "without the hidden layer"),
           (lambda i, h, o: i + h + o, "added the sizes"),
           (lambda i, h, o: 203_530, "whatever the sizes"),
           (lambda i, h, o: i * h + h + h * o + o + 1, "network does not have")],
    "q2": [(F.relu, "without `F.relu`"),
           (lambda x: x.abs(), "does not flip their sign"),
           (torch.sigmoid, "that is the sigmoid"),
           (lambda x: x > 0, "True/False"),
           (lambda x: (x > 0).float(), "keep x's own value there"),
           (lambda x: x.clamp(max=0), "the other way round"),
           (lambda x: torch.where(x > 0, x, 0.01 * x), "exactly 0"),
           (zeroes_in_place, "changed the tensor it was given"),
           (lambda x: x.clamp(min=0).reshape(-1), "same shape as its input"),
           (lambda x: max(x, 0), "raised RuntimeError"),
           (lambda x: x.clamp(min=0).tolist(), "got a list"),
           (lambda x: x.clamp(min=0.1), "x where x is positive and 0 elsewhere")],
    "q3": [(lambda h: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.Linear(h, 10)), "still linear"),
           (lambda h: nn.Sequential(nn.Linear(784, h), nn.ReLU(), nn.Linear(h, 10)), "flatten each image first"),
           (lambda h: relu_net(h, nn.Softmax(dim=1)), "outputs are probabilities"),
           (lambda h: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.Linear(h, 10), nn.ReLU()),
            "never gives a negative"),
           (lambda h: relu_net(256), "use the hidden size"),
           (lambda h: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.Sigmoid(), nn.Linear(h, 10)), "smooth"),
           (lambda h: relu_net(h, nn.Sigmoid()), "squashed between 0 and 1"),
           (lambda h: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                                    nn.Linear(h, 10)), "one hidden layer (784 -> 64 -> 10, with biases)"),
           (lambda h: nn.Sequential, "return a model"),
           (lambda h: nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.ReLU(), nn.Linear(h, 5)),
            "should give [16, 10]")],
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["network does not have"],
    "q2": ["x where x is positive and 0 elsewhere"],
}
