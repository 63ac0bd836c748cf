"""Notebook 3's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import numpy as np
import torch
from torch import nn


def forgets_return(inputs, outputs):
    inputs * outputs + outputs


def resizes(images):
    return images.resize_(len(images), 784)


RIGHT = {
    "q1": [lambda i, o: i * o + o,
           lambda i, o: (i + 1) * o,
           lambda i, o: np.int64(i) * o + o,
           lambda i, o: float(i * o + o),
           lambda i, o: torch.tensor(i * o + o)],
    "q2": [lambda x: x.reshape(-1, 784),
           lambda x: x.view(len(x), -1),
           lambda x: x.flatten(1),
           nn.Flatten(),
           lambda x: torch.flatten(x, start_dim=1),
           lambda x: x.squeeze(1).reshape(x.shape[0], 28 * 28)],
    "q3": [3 * 32 * 32 * 10 + 10, np.int64(30_730), torch.tensor(30_730), 30_730.0, (3 * 32 * 32 + 1) * 10,
           torch.tensor([30_730])],
}

WRONG = {
    "q1": [(lambda i, o: sum(p.numel() for p in nn.Linear(i, o).parameters()), "without `nn.Linear`"),
           (lambda i, o: i * o, "only the weights"),
           (lambda i, o: i + o, "added the sizes"),
           (lambda i, o: i * o + i, "one bias per input"),
           (lambda i, o: i * o + 1, "one bias in all"),
           (lambda i, o: 7850, "whatever the sizes"),
           (lambda i, o: i * o + o + 1, "does not have"),
           (lambda i, o: str(i * o + o), "got text"),
           (forgets_return, "did you forget `return`")],
    "q2": [(lambda x: x.reshape(-1, 28), "each row holds one row of pixels"),
           (lambda x: x.reshape(784, -1), "images are in columns"),
           (lambda x: x.flatten(), "became one long row"),
           (lambda x: x.reshape(128, 784), "when given a batch of shape [5, 1, 28, 28]"),
           (lambda x: x.transpose(2, 3).reshape(-1, 784), "pixels are in another order"),
           (lambda x: x.reshape(-1, 784).double(), "keep their type"),
           (resizes, "changed the tensor it was given"),
           (lambda x: x.numpy().reshape(-1, 784), "return a tensor"),
           (lambda x: x.squeeze(), "should become [128, 784]")],
    "q3": [(32 * 32 * 10 + 10, "one channel"),
           (3 * 32 * 32 * 10, "weights only"),
           (3 * 32 * 32, "number of inputs"),
           (3 * 32 * 32 + 10, "added inputs and outputs"),
           (784 * 10 + 10, "MNIST model's count"),
           (30_740, "is not the number of parameters"),
           ("30730", "got text")],
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["does not have"],
    "q3": ["is not the number of parameters"],
}
