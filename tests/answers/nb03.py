"""Notebook 3's exercises: right answers in several idioms, typical wrong ones with their own messages."""

import numpy as np
import torch
from torch import nn


def forgets_return(inputs, outputs):
    inputs * outputs + outputs


def resizes(images):
    return images.resize_(len(images), 784)


class Reshaped(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3 * 32 * 32, 10)

    def forward(self, xb):
        return self.linear(xb.reshape(-1, 3 * 32 * 32))


class Sequential(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(3072, 10))

    def forward(self, xb):
        return self.net(xb)


class Flattened(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.fc = nn.Linear(3 * 32 * 32, classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


class Viewed(nn.Module):
    def __init__(self):
        super(Viewed, self).__init__()  # noqa: UP008 (the older spelling, still right)
        self.layer = nn.Linear(in_features=3072, out_features=10, bias=True)

    def forward(self, images):
        batch = images.size(0)
        return self.layer(images.view(batch, -1))


def colour_model(forward, inputs=3 * 32 * 32, init=True, layer=True):
    """A wrong ColourModel: ``forward(self, xb)``, a layer of ``inputs`` (or none), with or without super()."""

    class Wrong(nn.Module):
        def __init__(self):
            if init:
                super().__init__()
            if layer:
                self.linear = nn.Linear(inputs, 10)

    Wrong.forward = forward
    return Wrong


class NoForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3072, 10)


class Stub(nn.Module):
    """Softmax regression for 32x32 colour images: one linear layer, 10 scores per image."""

    ...


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
    "q3": [Reshaped, Sequential, Flattened, Viewed, Reshaped()],
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
    "q3": [(colour_model(lambda self, xb: self.linear(xb.reshape(-1, 784)), inputs=784), "784 inputs"),
           (colour_model(lambda self, xb: self.linear(xb.reshape(-1, 1024)), inputs=1024), "one channel"),
           (colour_model(lambda self, xb: nn.Linear(3072, 10)(xb.reshape(-1, 3072)), layer=False),
            "has no parameters"),
           (colour_model(lambda self, xb: self.linear(xb)), "Flatten each image"),
           (colour_model(lambda self, xb: self.linear(xb.reshape(128, -1))), "works on a batch of 128"),
           (colour_model(lambda self, xb: self.linear(xb.reshape(-1, 3072)).softmax(dim=1)), "without softmax"),
           (colour_model(lambda self, xb: self.linear(xb.reshape(-1, 3072)) * float("nan")), "are nan or inf"),
           (colour_model(lambda self, xb: self.linear(xb.reshape(-1, 3072)).squeeze()), "should give [1, 10]"),
           (colour_model(lambda self, xb: self.linear(xb.reshape(-1, 3072)), init=False), "super().__init__()"),
           (colour_model(lambda self, xb: None), "returned nothing"),
           (colour_model(lambda self, xb: self.linear(xb.reshape(-1, 3072)).tolist()), "return a tensor of scores"),
           (NoForward, "has no forward"),
           (colour_model(lambda self, xb: self.linear(xb.reshape(-1, 3072)), inputs=3073), "has 30,740 parameters"),
           (30_730, "a class built on nn.Module")],
}

# The words of the wrong answers above that no typical mistake names: their verdict is "not-yet".
NOT_YET = {
    "q1": ["does not have"],
}
