"""Exercises of notebook 1: counting and looking at the images of one digit, the average image."""

from __future__ import annotations

import torch

from . import Exercise, Wrong, mnist


def _count_of_sevens(answer) -> str:
    (_, labels), (_, test_labels) = mnist(), mnist(train=False)
    truth = int((labels == 7).sum())
    if isinstance(answer, torch.Tensor):
        if answer.numel() == 10:
            raise Wrong("that is ten numbers, one count per digit: give only the count of 7s (index 7)")
        if answer.numel() != 1:
            raise Wrong(f"give one number, the count of 7s; got a tensor of shape {list(answer.shape)}")
        answer = answer.item()
    if not isinstance(answer, (int, float)):
        raise Wrong(f"give one number, the count of 7s; got a {type(answer).__name__}")
    if answer == int((test_labels == 7).sum()):
        raise Wrong(f"{answer:,} is the number of 7s in the test set: count them in the training set (dataset.targets)")
    if answer == len(labels):
        raise Wrong(f"{answer:,} is the number of all training images: count only those labelled 7")
    if answer != truth:
        raise Wrong(f"{answer:,} is not the number of training images labelled 7")
    return f"{truth:,} of the 60,000 training images are 7s."


def _first_sevens(answer) -> str:
    images, labels = mnist()
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"give a tensor of images, got a {type(answer).__name__}")
    if answer.ndim == 3 and answer.shape[1:] == (28, 28):
        raise Wrong(f"shape {list(answer.shape)} has lost the channel dimension: keep it, [8, 1, 28, 28]")
    if answer.shape != (8, 1, 28, 28):
        raise Wrong(f"the answer should have shape [8, 1, 28, 28] (8 images as ToTensor gives them), got {list(answer.shape)}")
    if answer.dtype != torch.float32 or answer.max() > 1:
        raise Wrong("the images should be float tensors with values from 0 to 1, as ToTensor() gives them")
    sevens = (labels == 7).nonzero().flatten()
    if not torch.equal(answer, images[sevens[:8]]):
        if torch.equal(answer, images[:8]):
            raise Wrong("these are the first eight training images, of every digit: pick the ones labelled 7")
        raise Wrong("these are not the first eight 7s of the training set, in order")
    return f"the first eight 7s are training images {sevens[:8].tolist()}."


def _average_image(answer) -> str:
    images, _ = mnist()
    truth = images.mean(dim=0)[0]
    if not isinstance(answer, torch.Tensor):
        raise Wrong(f"give a tensor, got a {type(answer).__name__}")
    answer = answer.float()
    if answer.shape == (1, 28, 28):
        answer = answer[0]
    if answer.shape != (28, 28):
        raise Wrong(f"the average image is one 28x28 image; got shape {list(answer.shape)}: average over the images (dim=0)")
    if answer.max() > 1.5:
        raise Wrong("its values go up to 255: divide by 255 (or average the ToTensor images) to get values from 0 to 1")
    if not torch.allclose(answer, truth, atol=1e-4):
        raise Wrong("this is not the average of all 60,000 training images")
    return "a blurry blob where most digits have ink, brightest in the middle."


q1 = Exercise("q1", _count_of_sevens, "dataset.targets holds the 60,000 training labels; (dataset.targets == 7) is True "
              "where the label is 7, and .sum() counts the Trues. .item() makes the result a plain number.")
q2 = Exercise("q2", _first_sevens, "(dataset.targets == 7).nonzero() gives the indices of the 7s; take the first 8 and "
              "stack the images: torch.stack([dataset[i][0] for i in indices]).")
q3 = Exercise("q3", _average_image, "dataset.data is a uint8 tensor [60000, 28, 28] of values 0-255: make it float, "
              "take .mean(dim=0), and divide by 255.")
