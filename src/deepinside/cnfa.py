"""The Convolutional Neural Feature Ansatz: filter covariances and patch-AGOPs.

Conventions:

- A conv weight (C_out, C_in, kh, kw) is the matrix W of shape (C_out, C_in·kh·kw)
  in the order of ``F.unfold``; the **CNFM** of the layer is WᵀW (uncentered, not
  divided by C_out: only its direction matters here).
- The **patch-AGOP** of a layer is Σ_{outputs k} Σ_{positions p} ∇_{x_p} f_k ∇_{x_p} f_kᵀ,
  averaged over the images, where x_p is the patch of the layer's input that the
  layer reads at output position p (stride, padding and dilation included) and the
  patches are treated as independent variables.
- Since z_p = W x_p (+ b), ∇_{x_p} f = Wᵀ g_p with g_p = ∇_{z_p} f, so the patch-AGOP
  is Wᵀ G W with G = Σ g_p g_pᵀ: :func:`patch_agop` never unfolds anything.
  :func:`patch_agop_unfolded` is the literal definition, kept as the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .alignment import random_orthogonal
from .covariance import weight_matrix
from .data import ImageSet
from .linalg import sqrt_factor
from .models import conv_layers
from .runtime import progress


def block_entry_convs(model: nn.Module) -> list[str]:
    """The conv layers the CNFA is usually measured on: for a torchvision ResNet the first
    conv of each residual block (and the stem), otherwise every conv layer."""
    names = list(conv_layers(model))
    blocks = [n for n in names if n.endswith(".conv1")]
    return (names[:1] + blocks) if blocks else names


def cnfm(conv: nn.Conv2d | torch.Tensor) -> torch.Tensor:
    """The convolutional neural feature matrix WᵀW (float64, on the CPU)."""
    weight = conv.weight if isinstance(conv, nn.Conv2d) else conv
    if not isinstance(weight, torch.Tensor) or weight.ndim != 4:
        raise ValueError("expected an nn.Conv2d or a 4-dimensional conv weight")
    w = weight_matrix(weight).double().cpu()
    return w.T @ w


def output_gradient_covariance(
    model: nn.Module,
    images: ImageSet | torch.Tensor,
    layers: Sequence[str] | None = None,
    *,
    outputs: Sequence[int] | None = None,
    batch_size: int = 100,
    device: torch.device | str = "cpu",
) -> dict[str, torch.Tensor]:
    """G = Σ g gᵀ for the conv ``layers`` (names, default all) of ``model``, where g is
    the gradient of one of the model's ``outputs`` (indices, default all) at one
    position of the layer's output; summed over outputs and positions, averaged over
    the images. One forward pass per batch serves every layer, then one backward pass
    per output. Returns float64 (C_out × C_out) matrices on the CPU.
    """
    convs = _select(model, layers)
    sums = {
        name: torch.zeros(c.out_channels, c.out_channels, dtype=torch.float64)
        for name, c in convs.items()
    }

    def accumulate(name: str) -> Callable[[torch.Tensor], None]:
        def hook(grad: torch.Tensor) -> None:
            g = grad.detach().flatten(2)  # (B, C_out, positions), no copy
            sums[name] += (g @ g.transpose(1, 2)).sum(0).double().cpu()

        return hook

    reached: list[tuple[torch.Tensor, int]] = []

    def watch(name: str) -> Callable[..., None]:
        def forward_hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            output.register_hook(accumulate(name))  # fires during each backward pass
            reached.append((output, output._version))

        return forward_hook

    handles = [conv.register_forward_hook(watch(name)) for name, conv in convs.items()]
    count = 0
    try:
        for x in progress(list(_batches(images, batch_size)), desc="output gradients"):
            x = x.to(device)
            with torch.enable_grad():
                reached.clear()
                out = _logits(model, x)
                targets = [t for t, _ in reached]
                if any(t._version != v or not t.requires_grad for t, v in reached):
                    # an in-place op (e.g. ReLU(inplace=True)) overwrote a conv output, or it
                    # needs no gradient: differentiate down to the images instead
                    reached.clear()
                    out = _logits(model, x.requires_grad_())
                    targets = [x]
                for k in _output_indices(out, outputs):
                    torch.autograd.grad(out[:, k].sum(), targets, retain_graph=True)
            count += len(x)
    finally:
        for handle in handles:
            handle.remove()
    return {name: total / count for name, total in sums.items()}


def patch_agop(
    model: nn.Module,
    images: ImageSet | torch.Tensor,
    layers: Sequence[str] | None = None,
    **kwargs,
) -> dict[str, torch.Tensor]:
    """Patch-AGOPs Wᵀ G W of the conv ``layers`` (names, default all) of ``model``, with G
    from :func:`output_gradient_covariance` (same keyword arguments: ``outputs``,
    ``batch_size``, ``device``). Float64 matrices on the CPU, averaged over images."""
    covariances = output_gradient_covariance(model, images, layers, **kwargs)
    convs = conv_layers(model)
    result = {}
    for name, g in covariances.items():
        w = weight_matrix(convs[name]).double().cpu()
        result[name] = w.T @ g @ w
    return result


def spectrum_matched_rotation(
    matrix: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Q Λ Qᵀ for the eigenvalues Λ of the symmetric ``matrix`` and a Haar-random rotation Q:
    a matrix with the same spectrum and random eigenvectors (float64). Used as a null for the
    ansatz: Wᵀ (Q Λ Qᵀ) W keeps G's eigenvalues and forgets which directions they belong to."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {tuple(matrix.shape)}")
    values = torch.linalg.eigvalsh(matrix.double())
    q = random_orthogonal(len(values), len(values), generator)
    return (q * values) @ q.T


def patch_agop_unfolded(
    model: nn.Module,
    images: ImageSet | torch.Tensor,
    layer: str,
    *,
    outputs: Sequence[int] | None = None,
    batch_size: int = 100,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """The patch-AGOP of one conv ``layer`` by its definition: the layer's input is
    unfolded into patches, the layer recomputed from them, and autograd gives the
    gradient of every output with respect to every patch. Slow; the reference."""
    conv = _select(model, [layer])[layer]
    if conv.padding_mode != "zeros":
        raise ValueError("patch_agop_unfolded supports zero padding only")
    total = torch.zeros(conv.weight[0].numel(), conv.weight[0].numel(), dtype=torch.float64)
    count = 0
    patches: list[torch.Tensor] = []

    def from_patches(
        module: nn.Conv2d, inputs: tuple[torch.Tensor], output: torch.Tensor
    ) -> torch.Tensor:
        p = F.unfold(inputs[0], module.kernel_size, module.dilation, module.padding, module.stride)
        patches.append(p.detach().requires_grad_())
        z = module.weight.reshape(module.out_channels, -1) @ patches[-1]
        if module.bias is not None:
            z = z + module.bias[:, None]
        return z.reshape(output.shape)

    handle = conv.register_forward_hook(from_patches)
    try:
        for x in _batches(images, batch_size):
            patches.clear()
            with torch.enable_grad():
                out = _logits(model, x.to(device))
                for k in _output_indices(out, outputs):
                    (grad,) = torch.autograd.grad(out[:, k].sum(), patches[0], retain_graph=True)
                    total += torch.einsum("bpl,bql->pq", grad, grad).double().cpu()
            count += len(x)
    finally:
        handle.remove()
    return total / count


def patch_norm_map(x: torch.Tensor, matrix: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """‖M^½ x[i,j]‖ for every patch x[i,j] the layer ``conv`` reads from ``x``.

    ``x`` is (C, H, W) or (B, C, H, W); the result has the layer's output size,
    (H', W') or (B, H', W'). Computed as √(Σ_i λ_i (u_i ∗ x)²) with (λ_i, u_i) the
    eigenpairs of M (:func:`~deepinside.linalg.sqrt_factor`), i.e. as a convolution:
    patches are never unfolded.
    """
    single = x.ndim == 3
    x = x[None] if single else x
    shape = (conv.in_channels, *conv.kernel_size)
    d = shape[0] * shape[1] * shape[2]
    if x.ndim != 4 or x.shape[1] != conv.in_channels:
        raise ValueError(f"expected images with {conv.in_channels} channels, got {tuple(x.shape)}")
    if matrix.shape != (d, d):
        raise ValueError(f"expected a {d}×{d} matrix for this layer, got {tuple(matrix.shape)}")
    filters = sqrt_factor(matrix).reshape(-1, *shape)
    z = F.conv2d(x.double(), filters.to(x.device), None, conv.stride, conv.padding, conv.dilation)
    norms = z.pow(2).sum(1).sqrt().float()
    return norms[0] if single else norms


@torch.no_grad()
def layer_inputs(
    model: nn.Module, x: torch.Tensor, layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """The inputs the conv ``layers`` (names) receive when ``model`` reads ``x``.

    The forward pass stops once the last of them is reached, so ``x`` may be larger
    than the images the model's classifier was built for.
    """
    convs = _select(model, layers)
    seen: dict[str, torch.Tensor] = {}

    def record(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple) -> None:
            seen[name] = inputs[0]
            if len(seen) == len(convs):
                raise _Reached

        return hook

    handles = [c.register_forward_pre_hook(record(n)) for n, c in convs.items()]
    model.eval()
    try:
        model(x)
    except _Reached:
        pass
    finally:
        for h in handles:
            h.remove()
    return {n: seen[n] for n in layers}


class _Reached(Exception):
    """Raised inside a forward pass once every wanted layer input is recorded."""


# --- Theorem 1: one gradient step from zero --------------------------------------------------


def one_step_network(
    in_channels: int,
    image_size: int,
    width: int = 16,
    kernel_size: int = 3,
    downstream: str = "constant",
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """A network f(x) = g(W x[1,1], …, W x[P,Q]) with W = 0, as in Theorem 1 of the CNFA:
    Conv (W = 0) → tanh → 1×1 Conv → tanh → Flatten → Linear to one output.

    ``downstream="constant"`` gives every weight after W the same value, so that
    ∂g/∂z(0) is the same non-zero vector at every position, as the theorem assumes;
    ``"random"`` draws them i.i.d. Gaussian, which breaks that assumption.
    """
    if downstream not in ("constant", "random"):
        raise ValueError(f"downstream must be 'constant' or 'random', got {downstream!r}")
    model = nn.Sequential(
        nn.Conv2d(in_channels, width, kernel_size, padding=kernel_size // 2, bias=False),
        nn.Tanh(),
        nn.Conv2d(width, width, 1, bias=False),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(width * image_size * image_size, 1, bias=False),
    )
    with torch.no_grad():
        model[0].weight.zero_()
        for weight in (model[2].weight, model[5].weight):
            fan_in = weight[0].numel()
            if downstream == "constant":
                weight.fill_(1.0 / fan_in)
            else:
                weight.copy_(torch.randn(weight.shape, generator=generator) / fan_in**0.5)
    return model


def gradient_step(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float
) -> float:
    """One full-batch gradient-descent step on ``layer.weight`` alone, for the loss
    ½·mean((f(x) − y)²) of a one-output ``model``. Returns the loss before the step."""
    if y.shape != (len(x),):
        raise ValueError(f"expected one target per image, got targets of shape {tuple(y.shape)}")
    loss = 0.5 * (model(x).squeeze(-1) - y).pow(2).mean()
    (grad,) = torch.autograd.grad(loss, layer.weight)
    with torch.no_grad():
        layer.weight -= lr * grad
    return float(loss.detach())


# --- helpers ---------------------------------------------------------------------------------


def _select(model: nn.Module, layers: Sequence[str] | None) -> dict[str, nn.Conv2d]:
    convs = conv_layers(model)
    if not convs:
        raise ValueError("the model has no nn.Conv2d layer")
    names = list(convs) if layers is None else list(layers)
    unknown = [n for n in names if n not in convs]
    if unknown:
        raise ValueError(f"no conv layer named {unknown}; conv layers are {list(convs)}")
    grouped = [n for n in names if convs[n].groups != 1]
    if grouped:
        raise ValueError(f"grouped convolutions are not supported: {grouped}")
    return {n: convs[n] for n in names}


def _batches(images: ImageSet | torch.Tensor, batch_size: int) -> Iterable[torch.Tensor]:
    if isinstance(images, ImageSet):
        images = images.x
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or len(images) == 0:
        raise ValueError("images must be an ImageSet or a non-empty (N, C, H, W) tensor")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return images.split(batch_size)


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    out = model(x)
    if out.ndim != 2:
        raise ValueError(f"the model must return (batch, outputs), got {tuple(out.shape)}")
    return out


def _output_indices(out: torch.Tensor, outputs: Sequence[int] | None) -> list[int]:
    indices = list(range(out.shape[1])) if outputs is None else list(outputs)
    if not indices or not all(0 <= k < out.shape[1] for k in indices):
        raise ValueError(f"outputs must be indices in [0, {out.shape[1]}), got {outputs}")
    return indices
