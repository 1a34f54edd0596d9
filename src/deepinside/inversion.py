"""Input inversion: what a layer's embedding still knows about the input.

Given the map ``O`` from the input to a layer's output (the *embedding*) and a target
image ``a``, :func:`invert` looks for an input ``a_g`` with the same embedding by
gradient descent on the input, starting from ``a_0 ~ N(0.7, (1/20)²)`` per pixel:

    a_{n+1} = clamp(B_n(a_n − ε_n g_n)),   g_n = ∇ Σ_i |O(a_n)_i − O(a)_i|   (L1)
                                          or ∇ ½ Σ_i (O(a_n)_i − O(a)_i)²    (L2)

with ``ε_n`` decaying linearly, an optional 3×3 Gaussian blur ``B_n`` whose width
decays linearly too, and clamping to the pixel range. Along the way it records

    m_g = ‖O(a_n) − O(a)‖₂   (embedding distance),   m_i = ‖a_n − a‖₂   (input distance),

and once the reference ``m_s = ‖O(a') − O(a)‖₂`` of a slightly shifted input
``a' = a + N(0, (1/20)²)``: ``m_g < m_s`` means the embedding was matched at least as
well as a barely different image matches it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .runtime import progress

LOSSES = ("l1", "l2")
START_MEAN, START_STD, SHIFT_STD = 0.7, 1 / 20, 1 / 20


@dataclass
class Inversion:
    """Result of :func:`invert`: the generated input ``a_g`` (C, H, W), the steps at which
    the distances were recorded, ``m_g`` and ``m_i`` there (1-D), the reference ``m_s``, and
    with ``keep_images=True`` the input at each recorded step (steps, C, H, W)."""

    image: torch.Tensor
    steps: torch.Tensor
    m_g: torch.Tensor
    m_i: torch.Tensor
    m_s: float
    images: torch.Tensor | None = None

    @property
    def matched(self) -> bool:
        """Whether the final embedding distance is below the shifted-input reference."""
        return bool(self.m_g[-1] < self.m_s)


def linear_schedule(start: float, end: float, steps: int) -> torch.Tensor:
    """``steps`` values going linearly from ``start`` (step 0) toward ``end`` (reached
    one step after the last), as the source's ε "scaled linearly from c to 0"."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    return start + (end - start) * torch.arange(steps, dtype=torch.float64) / steps


def gaussian_kernel(sigma: float, size: int = 3) -> torch.Tensor:
    """A normalized ``size``×``size`` Gaussian kernel of standard deviation ``sigma`` pixels."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be odd and positive, got {size}")
    offsets = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(offsets**2) / (2 * sigma**2))
    k = torch.outer(g, g)
    return k / k.sum()


def blur(x: torch.Tensor, sigma: float, size: int = 3) -> torch.Tensor:
    """Each channel of ``x`` (N, C, H, W) convolved with :func:`gaussian_kernel`
    (reflected borders, same size out)."""
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    c = x.shape[1]
    k = gaussian_kernel(sigma, size).to(x)[None, None].expand(c, 1, size, size)
    pad = size // 2
    return F.conv2d(F.pad(x, (pad, pad, pad, pad), mode="reflect"), k, groups=c)


def invert(
    embed: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    steps: int,
    lr: float,
    *,
    lr_end: float = 0.0,
    loss: str = "l1",
    blur_sigma: tuple[float, float] | None = None,
    clamp: tuple[float, float] | None = (0.0, 1.0),
    normalize: bool = False,
    start: torch.Tensor | None = None,
    record_every: int = 10,
    keep_images: bool = False,
    generator: torch.Generator | None = None,
    desc: str | None = None,
) -> Inversion:
    """Invert ``embed`` at ``image`` (C, H, W) by ``steps`` steps of gradient descent.

    ``embed`` maps a batch (1, C, H, W) to its embedding (any shape). The step size goes
    linearly from ``lr`` to ``lr_end``; ``blur_sigma=(start, end)`` blurs after every step
    with a 3×3 Gaussian whose σ goes linearly from start to end; ``clamp`` keeps pixels in
    range (``None``: no clamping). ``normalize=True`` divides the gradient by its
    root-mean-square, so that ``lr`` is the typical change of a pixel per step whatever
    the layer's scale. ``start`` (C, H, W) replaces the random start. Every ``record_every``
    steps the distances are recorded, and with ``keep_images`` the input too (on the CPU).
    Random draws (the shift, then the start) use ``generator`` on the CPU.
    """
    if image.ndim != 3:
        raise ValueError(f"image must have shape (C, H, W), got {tuple(image.shape)}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}: choose one of {LOSSES}")
    if lr <= 0 or lr_end < 0:
        raise ValueError(f"lr must be positive and lr_end non-negative, got {lr}, {lr_end}")
    if record_every < 1:
        raise ValueError(f"record_every must be at least 1, got {record_every}")
    target = image[None].detach()
    with torch.no_grad():
        wanted = embed(target)
        shift = SHIFT_STD * torch.randn(target.shape, generator=generator).to(target)
        m_s = float(torch.linalg.vector_norm(embed(target + shift) - wanted))
    if start is None:
        start = START_MEAN + START_STD * torch.randn(target.shape, generator=generator)
    elif start.shape != image.shape:
        raise ValueError(
            f"start must have the image's shape {tuple(image.shape)}, got {tuple(start.shape)}"
        )
    a = start.reshape(target.shape).to(target)
    a = a.clamp(*clamp) if clamp else a
    rates = linear_schedule(lr, lr_end, steps).tolist()
    sigmas = linear_schedule(*blur_sigma, steps).tolist() if blur_sigma else None
    recorded: list[tuple[int, float, float]] = []
    images: list[torch.Tensor] = []
    loop = progress(range(steps), desc=desc) if desc else range(steps)
    for n in loop:
        a.requires_grad_(True)
        diff = embed(a) - wanted
        objective = diff.abs().sum() if loss == "l1" else 0.5 * diff.pow(2).sum()
        (grad,) = torch.autograd.grad(objective, a)
        with torch.no_grad():
            if n % record_every == 0:
                recorded.append(
                    (
                        n,
                        float(torch.linalg.vector_norm(diff)),
                        float(torch.linalg.vector_norm(a - target)),
                    )
                )
                if keep_images:
                    images.append(a[0].detach().cpu())
            if normalize:
                grad = grad / grad.pow(2).mean().sqrt().clamp_min(1e-30)
            a = a.detach() - rates[n] * grad
            if sigmas:
                a = blur(a, sigmas[n])
            if clamp:
                a = a.clamp(*clamp)
    with torch.no_grad():
        recorded.append(
            (
                steps,
                float(torch.linalg.vector_norm(embed(a) - wanted)),
                float(torch.linalg.vector_norm(a - target)),
            )
        )
    at, m_g, m_i = zip(*recorded)
    kept = torch.stack([*images, a[0].detach().cpu()]) if keep_images else None
    return Inversion(
        a[0].detach(),
        torch.tensor(at),
        torch.tensor(m_g, dtype=torch.float64),
        torch.tensor(m_i, dtype=torch.float64),
        m_s,
        kept,
    )


def affine_layers(model: nn.Module) -> list[nn.Linear]:
    """The Linear layers of an MLP without non-linearity (Flatten allowed), in order."""
    layers = []
    for module in model.modules():
        if isinstance(module, nn.Linear):
            layers.append(module)
        elif module is not model and not isinstance(module, (nn.Flatten, nn.Sequential)):
            raise ValueError(
                f"only Linear and Flatten modules can be inverted exactly, "
                f"found {type(module).__name__}"
            )
    if not layers:
        raise ValueError("the model has no Linear layer")
    return layers


def invert_exactly(model: nn.Module, output: torch.Tensor) -> torch.Tensor:
    """The input (1-D) that a linear MLP with square layers maps to ``output`` (1-D),
    solving ``o = W x + b`` layer by layer from the last, in float64."""
    x = output.detach().double().flatten()
    for layer in reversed(affine_layers(model)):
        w = layer.weight.detach().double()
        if w.shape[0] != w.shape[1]:
            raise ValueError(f"exact inversion needs square layers, got {tuple(w.shape)}")
        if layer.bias is not None:
            x = x - layer.bias.detach().double()
        x = torch.linalg.solve(w, x)
    return x


def stall_distance(jacobian: torch.Tensor, start: torch.Tensor, target: torch.Tensor) -> float:
    """Where gradient descent on ``½‖J a − J a*‖²`` leaves the input distance:
    ``‖(I − J⁺J)(a_0 − a*)‖``, the part of the start's error in the null space of
    ``J`` (P, D), which no gradient ``Jᵀ(…)`` can reach. Zero when J has full column rank."""
    if jacobian.ndim != 2:
        raise ValueError(f"jacobian must be a matrix (P, D), got {tuple(jacobian.shape)}")
    jacobian = jacobian.detach()
    error = (start - target).flatten().to(jacobian.dtype)
    reachable = torch.linalg.pinv(jacobian) @ (jacobian @ error)
    return float(torch.linalg.vector_norm(error - reachable))


def neighbour_correlation(x: torch.Tensor) -> float:
    """Pearson correlation between horizontally or vertically adjacent pixels of
    ``x`` (C, H, W), over all channels: about 0.9 or more for photographs, 0 for white noise."""
    if x.ndim != 3 or min(x.shape[1:]) < 2:
        raise ValueError(f"x must have shape (C, H, W) with H, W ≥ 2, got {tuple(x.shape)}")
    left = torch.cat([x[:, :, :-1].flatten(), x[:, :-1, :].flatten()]).double()
    right = torch.cat([x[:, :, 1:].flatten(), x[:, 1:, :].flatten()]).double()
    return float(torch.corrcoef(torch.stack([left, right]))[0, 1])


def affine_mlp(dims: list[int], relu: bool = False) -> nn.Sequential:
    """Flatten → [Linear (with bias, PyTorch's default initialization) → ReLU if ``relu``]
    for each consecutive pair of ``dims`` (input first); the embedding is the last output."""
    if len(dims) < 2 or any(not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"dims must be at least two positive integers, got {dims}")
    layers: list[nn.Module] = [nn.Flatten()]
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(d_in, d_out)] + ([nn.ReLU()] if relu else [])
    return nn.Sequential(*layers)


def compose_affine(model: nn.Module, dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """A linear MLP (Linear and Flatten only) as the one affine map it is,
    Flatten → Linear with ``W = W_L ⋯ W_1`` and the composed bias, in ``dtype``:
    the same function, so gradient descent on it takes the same steps, only faster."""
    weight, bias = None, None
    for layer in affine_layers(model):
        w = layer.weight.detach().to(dtype)
        b = (
            layer.bias.detach().to(dtype)
            if layer.bias is not None
            else torch.zeros(len(w), dtype=dtype)
        )
        weight, bias = (w, b) if weight is None else (w @ weight, w @ bias + b)
    single = nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
    with torch.no_grad():
        single.weight.copy_(weight)
        single.bias.copy_(bias)
    return nn.Sequential(nn.Flatten(), single)
