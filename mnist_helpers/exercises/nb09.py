"""Exercises of notebook 9: the size of a convolution's output, a convolution by hand, max pooling by hand."""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F

from . import Exercise, Wrong, as_float64_tensor, as_number, call, close, explain, is_one_number

# Typical mistakes in counting a convolution's positions, each with what it gives, its kind and its message.
SIZE_MISTAKES = [
    (lambda n, k, p, s: (n + 2 * p - k) // s, "one-too-few",
     "you get one position too few: count the first position too, where the filter sits at the top-left corner"),
    (lambda n, k, p, s: (n + 2 * p - k) // s + 2, "one-too-many", "you get one position too many"),
    (lambda n, k, p, s: (n - k) // s + 1, "padding-missing",
     "you left out the padding: it adds rows and columns of zeros around the image, where the filter can sit too"),
    (lambda n, k, p, s: (n + p - k) // s + 1, "padding-once",
     "you added the padding once: it goes on both sides of the image"),
    (lambda n, k, p, s: n + 2 * p - k + 1, "stride-missing",
     "you left out the stride: the filter moves `stride` pixels at a time, so it sits in fewer places"),
    (lambda n, k, p, s: -(-(n + 2 * p - k) // s) + 1, "rounded-up",
     "you rounded up: a last position where the filter would stick out of the padded image does not count"),
    (lambda n, k, p, s: (n + 2 * p) // s, "kernel-missing",
     "you left out the filter's size: a filter cannot sit where it would stick out past the last column"),
    (lambda n, k, p, s: n, "input-size",
     "you return the input's size: that is right only when the padding makes up for the filter and the stride is 1"),
]


# The cases 9.1 is checked on: (size, kernel_size, padding, stride). On them, each mistake above gives its own numbers.
SIZE_CASES = [(28, 3, 0, 1), (28, 3, 1, 1), (28, 5, 2, 1), (28, 3, 1, 2), (28, 3, 0, 2), (14, 5, 0, 1), (7, 3, 1, 3),
              (28, 2, 0, 2), (5, 5, 0, 1), (10, 4, 3, 3), (27, 5, 1, 2)]


def _output_size(answer) -> str:
    cases = SIZE_CASES
    truth = [(size + 2 * padding - kernel) // stride + 1 for size, kernel, padding, stride in cases]
    got = []
    for size, kernel, padding, stride in cases:
        given = f"size={size}, kernel_size={kernel}, padding={padding}, stride={stride}"
        value = as_number(call(answer, size, kernel, padding, stride, given=given), f"for {given}, the size")
        if value != int(value):
            raise Wrong(f"for {given} you get {value:g}, not a whole number: a position where the filter does not "
                        "fit entirely is not a position; round down", "not-rounded")
        got.append(value)
    if got == truth:
        return "the padded size, minus the filter, in strides, plus the first position: as F.conv2d counts."
    first = next(i for i, (a, b) in enumerate(zip(got, truth, strict=True)) if a != b)
    size, kernel, padding, stride = cases[first]
    given = f"size={size}, kernel_size={kernel}, padding={padding}, stride={stride}"
    # A mistake is recognised by what it gives on every case, not on one only.
    raise explain(got, [([mistake(*case) for case in cases], kind, f"for {given} {message}")
                        for mistake, kind, message in SIZE_MISTAKES],
                  f"a {kernel}x{kernel} filter with padding {padding} and stride {stride} on {size}x{size} pixels "
                  f"has {'more' if truth[first] > got[first] else 'fewer'} positions in each direction than "
                  f"{got[first]:g}", same=operator.eq)


def _feature_map(got, rows: int, cols: int, given: str) -> torch.Tensor:
    """``got`` as a [rows, cols] float64 tensor, or ``Wrong`` saying how its shape is off."""
    if isinstance(got, torch.Tensor) and got.dim() == 4 and got.shape[:2] == (1, 1):
        raise Wrong(f"for {given} you return shape {list(got.shape)}: return the feature map itself, [rows, "
                    "columns], without the batch and channel dimensions", "batch-dimensions-kept")
    got = as_float64_tensor(got, "the feature map")
    if tuple(got.shape) == (rows, cols):
        return got
    if got.dim() == 2 and tuple(got.shape) == (cols, rows):
        raise Wrong(f"for {given} your feature map is {got.shape[0]}x{got.shape[1]}: its rows and columns are "
                    "swapped", "rows-columns-swapped")
    if got.dim() == 2 and got.shape[0] > rows:
        raise Wrong(f"for {given} your feature map is {got.shape[0]}x{got.shape[1]}, as large as the image or larger: "
                    "there is no padding here, so the kernel sits only where it fits entirely, and the map is smaller",
                    "too-large")
    if got.dim() == 2 and got.shape[0] < rows:
        raise Wrong(f"for {given} your feature map is {got.shape[0]}x{got.shape[1]}, not {rows}x{cols}: you miss the "
                    "last positions, where the kernel touches the image's last row or column", "last-positions-missing")
    raise Wrong(f"for {given} the feature map should be shaped [{rows}, {cols}], got {list(got.shape)}", "wrong-shape")


def _conv(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """What F.conv2d gives for one 2D image and one 2D kernel, in float64."""
    return F.conv2d(image[None, None].double(), kernel[None, None].double())[0, 0]


def _convolve(answer) -> str:
    gen = torch.Generator().manual_seed(9)
    image = torch.zeros(7, 8)
    image[1:6, 3:5] = 1.0  # a vertical stroke
    cases = [(torch.rand(6, 9, generator=gen), torch.tensor([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [-2.0, 0.5, 1.0]])),
             (image, torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])),
             (torch.randn(5, 5, generator=gen), torch.randn(2, 2, generator=gen)),
             (torch.rand(10, 7, generator=gen), torch.randn(5, 5, generator=gen)),
             (torch.rand(4, 4, generator=gen), torch.randn(4, 4, generator=gen)),
             (torch.rand(3, 5, generator=gen), torch.tensor([[2.0]]))]
    for image, kernel in cases:
        given = f"a {image.shape[0]}x{image.shape[1]} image and a {kernel.shape[0]}x{kernel.shape[1]} kernel"
        got = _feature_map(call(answer, image, kernel, given=given), image.shape[0] - kernel.shape[0] + 1,
                           image.shape[1] - kernel.shape[1] + 1, given)
        truth = _conv(image, kernel)
        if close(got, truth, 1e-4):
            continue
        k = kernel.shape[0]
        raise explain(got, [
            (_conv(image, kernel.flip(0, 1)), "flipped-kernel",
                                              f"for {given} your kernel is flipped (as in the mathematicians' "
                                              "convolution, scipy's convolve2d): F.conv2d lays the kernel on each "
                                              "patch as it is"),
            (_conv(image, kernel.t()), "transposed-kernel",
                                       f"for {given} your kernel's rows and columns are swapped: lay it on each "
                                       "patch as it is"),
            (truth / k**2, "mean-not-sum",
                           f"for {given} you return the mean of the products: F.conv2d gives their sum"),
            (_conv(image, torch.ones_like(kernel)), "unweighted-sum",
                                                    f"for {given} you add up the pixels of each patch: weigh each "
                                                    "one by the kernel's value at the same place"),
            (truth.clamp(min=0), "relu-added",
                                 f"for {given} your map has no negative values: leave out the ReLU, a convolution "
                                 "alone gives negative values too"),
        ], f"for {given} your feature map differs from what F.conv2d gives: each value should be the sum of the "
           "kernel times the patch under it", same=lambda a, b: close(a, b, 1e-4))
    return "the kernel laid on every patch, multiplied and summed: what F.conv2d computes, one filter at a time."


def _max_pool(answer) -> str:
    gen = torch.Generator().manual_seed(11)
    negative = -torch.rand(2, 4, 4, generator=gen) - 0.5
    cases = [torch.randn(3, 4, 6, generator=gen), negative, torch.randn(1, 6, 4, generator=gen),
             torch.randn(4, 5, 7, generator=gen), torch.randn(16, 28, 28, generator=gen)]
    for maps in cases:
        given = f"maps of shape {list(maps.shape)}"
        got = call(answer, maps, given=given)
        channels, rows, cols = maps.shape
        if isinstance(got, torch.Tensor) and is_one_number(got) and channels > 1:
            raise Wrong(f"for {given} you return one number: each 2x2 window of each map gives one value", "one-number")
        got = as_float64_tensor(got, "the pooled maps")
        truth = F.max_pool2d(maps, 2).double()
        if got.shape != truth.shape:
            raise _pool_shape(got, maps, truth, given)
        if close(got, truth, 1e-6):
            continue
        raise explain(got, [
            (F.avg_pool2d(maps, 2), "average-pool",
                                    f"for {given} you take the average of each window: max pooling keeps its "
                                    "largest value"),
            (maps[:, : rows // 2 * 2 : 2, : cols // 2 * 2 : 2], "top-left-only",
                                                                f"for {given} you keep one pixel of each window, its "
                                                                "top-left one: keep the largest of its four"),
            (truth.clamp(min=0), "started-from-zero",
                                 f"for {given}, a window whose four values are all negative gives 0 or more in your "
                                 "answer: start from the window's own values, not from 0"),
            (F.max_pool2d(maps, 2).amax(dim=0, keepdim=True).expand_as(truth), "pooled-channels",
                                                                               f"for {given} you pooled across the "
                                                                                "channels too: pool each map on its "
                                                                                "own"),
        ], f"for {given} your values differ from max pooling's: each value should be the largest of one 2x2 window, "
           "the windows side by side without overlapping", same=lambda a, b: close(a, b, 1e-6))
    return "the largest value of each 2x2 window, an odd last row or column left out: F.max_pool2d(maps, 2)."


def _pool_shape(got: torch.Tensor, maps: torch.Tensor, truth: torch.Tensor, given: str) -> Wrong:
    """The ``Wrong`` for pooled maps of the wrong shape, naming the likely cause."""
    channels, rows, cols = maps.shape
    shape, expected = list(got.shape), list(truth.shape)
    if got.dim() == 3 and got.shape == (channels, rows - 1, cols - 1):
        return Wrong(f"for {given} you return shape {shape}: your windows overlap, moving one pixel at a time; "
                     "they should move 2 pixels, side by side", "overlapping-windows")
    if got.dim() == 3 and got.shape == (channels, (rows + 1) // 2, (cols + 1) // 2):
        return Wrong(f"for {given} you return shape {shape}, not {expected}: an odd last row or column makes no "
                     "full 2x2 window, and F.max_pool2d leaves it out", "odd-edge-kept")
    if got.dim() == 3 and got.shape == (channels, cols // 2, rows // 2):
        return Wrong(f"for {given} you return shape {shape}, not {expected}: rows and columns are swapped",
                     "rows-columns-swapped")
    if got.dim() == 2 and got.shape == (rows // 2, cols // 2):
        return Wrong(f"for {given} you return shape {shape}: keep the channel dimension, one pooled map per map "
                     f"({expected})", "channel-lost")
    if got.dim() == 2 and got.shape == (rows, cols):
        return Wrong(f"for {given} you return shape {shape}: you took the largest value across the channels; pool "
                     "each map on its own, over 2x2 windows of its pixels", "max-across-channels")
    if got.numel() == channels:
        return Wrong(f"for {given} you return one value per map: each 2x2 window gives one value, so each map "
                     "shrinks to half its size", "one-value-per-map")
    if got.dim() == 4 and got.shape[0] == 1 and got.shape[1:] == truth.shape:
        return Wrong(f"for {given} you return shape {shape}: drop the batch dimension you added, return "
                     f"{expected}", "batch-dimension-added")
    return Wrong(f"for {given} the pooled maps should be shaped {expected}, got {shape}", "wrong-shape")


q1 = Exercise(judge=_output_size, hint="count the places where a filter of kernel_size x kernel_size fits on a line of "
              "size pixels with padding zeros on each side, when it starts at the first pixel and jumps stride "
              "pixels at a time. Check your idea against the shapes printed above.", answer="output_size", mistakes={
    "one-too-few": "The first position counts too: the + 1 in the formula.",
    "one-too-many": "One position too many: count on a 5-pixel line with a 3-pixel filter by hand.",
    "padding-missing": "Padding adds zeros around the image, where the filter can sit too.",
    "padding-once": "Padding goes on both sides: 2 * padding.",
    "stride-missing": "The filter jumps stride pixels: divide by the stride.",
    "rounded-up": "A position where the filter would stick out does not count: round down.",
    "kernel-missing": "The filter cannot stick out past the last column: subtract kernel_size.",
    "input-size": "The output has the input's size only for 'same' padding and stride 1.",
    "not-rounded": "A position is a whole number: integer division (//) rounds down.",
})
q2 = Exercise(judge=_convolve, hint="one output value per place where the kernel fits entirely: for each row i and "
              "column j, take the patch of the image that starts there, of the kernel's size, multiply it by the "
              "kernel element by element, and add everything up. Two nested loops over i and j are fine.",
              answer="convolve", without={"F.conv2d": [(F, "conv2d"), (torch, "conv2d")]},
              mistakes={
    "uses-f-conv2d": "F.conv2d and nn.Conv2d are the answer's reference, not its tool: lay the kernel on each "
                     "patch by hand.",
    "batch-dimensions-kept": "F.conv2d's [1, 1, rows, columns] has two extra dimensions: return the map, [0, 0].",
    "rows-columns-swapped": "The loops over rows and columns are swapped: i goes down, j goes across.",
    "too-large": "Without padding the kernel sits only where it fits: the map is smaller than the image.",
    "last-positions-missing": "range(n - k) misses the last position: range(n - k + 1).",
    "wrong-shape": "Ask them to print the shape: rows - k + 1 by columns - k + 1.",
    "flipped-kernel": "PyTorch's convolution is cross-correlation: the kernel is not flipped.",
    "transposed-kernel": "The kernel is laid on the patch as it is: kernel[a, b] on patch[a, b].",
    "mean-not-sum": "A convolution sums the products; a mean is a different filter.",
    "unweighted-sum": "Each pixel is weighed by the kernel's value at the same place: multiply, then sum.",
    "relu-added": "The convolution alone gives negative values: the ReLU comes after it, in the model.",
})
q3 = Exercise(judge=_max_pool, hint="the windows are 2x2 and do not overlap: the pooled map has half the rows and half "
              "the columns (rounded down), and each value is the largest of its window. Slicing with a step of 2 "
              "picks the same corner of every window at once.", answer="max_pool",
              without={"F.max_pool2d": [(F, "max_pool2d"), (torch, "max_pool2d")]},
              mistakes={
    "uses-f-max-pool2d": "F.max_pool2d and nn.MaxPool2d are the reference, not the tool: slicing with a step of "
                         "2 gives each window's corners.",
    "one-number": "One value per window, per map: a max over everything gives one number.",
    "average-pool": "That is average pooling, a real variant: max pooling keeps the largest value.",
    "top-left-only": "Slicing with step 2 picks one corner: take the largest of the four corners.",
    "started-from-zero": "A running maximum started at 0 is wrong for negative windows: start from the window's own "
                         "values.",
    "pooled-channels": "Each map is pooled on its own: a max over dim 0 mixes the channels.",
    "overlapping-windows": "The windows move 2 pixels (stride 2): they sit side by side.",
    "odd-edge-kept": "F.max_pool2d drops an odd last row or column: no full window fits there.",
    "rows-columns-swapped": "The loops over rows and columns are swapped.",
    "channel-lost": "The channels stay: one pooled map per map.",
    "max-across-channels": "A max over dim 0 compares the maps: pool each map over its own windows.",
    "one-value-per-map": "Each window gives one value: a map shrinks to half its size, not to one number.",
    "batch-dimension-added": "F.max_pool2d on an unsqueezed input keeps the batch dimension: remove it.",
    "wrong-shape": "Ask them to print the shape: channels, rows // 2, columns // 2.",
})
