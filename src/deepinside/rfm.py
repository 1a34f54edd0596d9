"""Convolutional kernel machines that learn features: ConvRFM and Deep ConvRFM.

Conventions:

- Patches are q×q, stride 1, no padding, vectorized in ``F.unfold`` order (C, q, q),
  so d = C·q². An image of size H×W has P = (H−q+1)(W−q+1) patches.
- A **patch kernel** compares two images position by position,
  K_M(x, z) = (1/P) Σ_p k(M^½ x_p, M^½ z_p), with M a d×d positive semi-definite
  matrix (the Mahalanobis metric on patches; M = I is the fixed kernel):

  - ``laplace``: k(a, b) = exp(−‖a − b‖ / L), averaged over positions as above (the
    source's form);
  - ``global_laplace``, for comparison: one Laplace kernel of the root-mean-square patch
    distance, exp(−√((1/P) Σ_p ‖M^½(x_p − z_p)‖²) / L). It is not an average over
    positions: noise at every position enters every comparison, whatever M;
  - ``relu``: the arc-cosine kernel, the dual activation of ReLU,
    k(a, b) = (1/π)(aᵀb(π − θ) + √(‖a‖²‖b‖² − (aᵀb)²)), θ = angle(a, b),
    which equals 2·E[ReLU(wᵀa) ReLU(wᵀb)] for w ~ N(0, I). With it K_M is the
    CNN-GP kernel of a one-hidden-layer ReLU CNN with a linear read-out.

  The Laplace bandwidth L is a number or ``"median"``: the median distance between train
  images under the current metric (per position for ``laplace``, root-mean-square for
  ``global_laplace``), measured again at every ConvRFM iteration (``calibrated``).
  M^½ x_p is computed for all patches at once as a convolution with the filters
  Λ^½ Vᵀ of M's eigenpairs (only the non-zero ones), never by unfolding.
- Kernel ridge regression on one-hot targets Y: the train kernel is divided by its
  largest entry, then α = (K + λI)⁻¹ Y for every ridge λ from one eigendecomposition.
- The **patch-AGOP** of the predictor f(x) = Σ_i α_i K_M(x_i, x) is
  (1/n) Σ_x Σ_p Σ_c ∇_{x_p} f_c(x) ∇_{x_p} f_c(x)ᵀ over n train images x, patches
  treated as independent variables; every ∇_b k has the form A·a + B·b, in closed form.
  A Laplace term at distance 0 (an image against itself) is left out of the gradient.
- ConvRFM rescales each new M to **trace d**, the trace of the identity it starts
  from, so a white-noise patch keeps its expected squared norm.
- Ridge and iteration are chosen on a validation split; test data is never looked at.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from .data import ImageSet
from .linalg import matrix_power, sqrt_factor
from .runtime import progress

KERNELS = ("laplace", "relu", "global_laplace")
RIDGES = (1e-8, 1e-5, 1e-3)
CHUNK = 2**23  # float32 entries per (patch, image, image) block: 32 MB each


@dataclass(frozen=True)
class PatchKernel:
    """A patch kernel: ``name`` in ``KERNELS``, patch size ``q``, Laplace ``bandwidth`` L
    (a positive number, or ``"median"`` to set it from the train images, see
    ``calibrated``)."""

    name: str = "laplace"
    q: int = 3
    bandwidth: float | str = "median"

    def __post_init__(self) -> None:
        if self.name not in KERNELS:
            raise ValueError(f"unknown patch kernel {self.name!r}: choose one of {KERNELS}")
        if not isinstance(self.q, int) or isinstance(self.q, bool) or self.q < 1:
            raise ValueError(f"patch size q must be a positive integer, got {self.q!r}")
        if self.bandwidth != "median" and not (
            isinstance(self.bandwidth, int | float) and self.bandwidth > 0
        ):
            raise ValueError(f'bandwidth must be positive or "median", got {self.bandwidth!r}')

    def calibrated(self, u: torch.Tensor, images: int = 200) -> PatchKernel:
        """This kernel with a ``"median"`` bandwidth replaced by the median non-zero distance
        between the first ``images`` of the metric patches ``u`` (P, n, r): per position for
        ``laplace``, root-mean-square over positions for ``global_laplace``. Zeros are left
        out: digits on a blank field share most of their (empty) patches."""
        if self.bandwidth != "median" or self.name == "relu":
            return self
        u = u[:, :images]
        i, j = torch.triu_indices(u.shape[1], u.shape[1], offset=1)
        if self.name == "laplace":
            distances = _distances(u, u, exact=True)[:, i, j]
        else:
            distances = _rms_distance(u, u)[i, j]
        distances = distances[distances > 0]
        if not len(distances):
            raise ValueError("the images are identical under this metric: no bandwidth to set")
        median = distances.median().item()
        return replace(self, bandwidth=median)

    def matrix(self, ua: torch.Tensor, ub: torch.Tensor) -> torch.Tensor:
        """K(a_i, b_j) for metric patches ``ua`` (P, n_a, r) and ``ub`` (P, n_b, r):
        an (n_a, n_b) float64 matrix."""
        _check_pair(ua, ub)
        if self.name == "global_laplace":
            return torch.exp(-_rms_distance(ua, ub) / self._bandwidth()).double().cpu()
        out = torch.empty(ua.shape[1], ub.shape[1], dtype=torch.float64)
        na, nb = ua.norm(dim=-1), ub.norm(dim=-1)
        for rows, cols in _blocks(*ua.shape[:2], ub.shape[1]):
            if self.name == "laplace":
                rho = _distances(ua[:, rows], ub[:, cols])
                block = torch.exp(rho.div_(-self._bandwidth())).mean(0)
            else:
                dot = torch.bmm(ua[:, rows], ub[:, cols].transpose(1, 2))
                block = _arccos_kernel(dot, na[:, rows, None], nb[:, None, cols]).mean(0)
            out[rows, cols] = block.double().cpu()
        return out

    def gradient_terms(
        self, ux: torch.Tensor, ut: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, B), broadcastable to (P, n_x, n_t), with
        ∇_{u_p(x)} K(t, x) = A[p, x, t]·u_p(t) + B[p, x, t]·u_p(x)."""
        p = ux.shape[0]
        if self.name != "relu":
            per_position = self.name == "laplace"
            rho = _distances(ux, ut, exact=True) if per_position else _rms_distance(ux, ut)[None]
            a = torch.exp(-rho / self._bandwidth()) / (self._bandwidth() * p * rho)
            a = torch.where(rho > 1e-6 * rho.max(), a, torch.zeros_like(a))  # at distance 0
            return a, -a
        dot = torch.bmm(ux, ut.transpose(1, 2))
        nt, nx = ut.norm(dim=-1)[:, None, :], ux.norm(dim=-1)[:, :, None]
        cos = (dot / (nt * nx).clamp(min=1e-30)).clamp(-1, 1)
        a = (math.pi - torch.arccos(cos)) / (math.pi * p)
        b = _sine_area(dot, nt, nx) / (math.pi * p * (nx * nx).clamp(min=1e-30))
        return a, b

    def _bandwidth(self) -> float:
        if self.bandwidth == "median":
            raise ValueError(
                'a "median" bandwidth must first be set from the data: call kernel.calibrated(u)'
            )
        return float(self.bandwidth)


def _distances(ua: torch.Tensor, ub: torch.Tensor, exact: bool = False) -> torch.Tensor:
    """‖a_p − b_p‖ for every position and pair of images: (P, n_a, n_b). ``exact`` computes
    them from the differences (0 for equal patches, as a gradient needs); otherwise from
    ‖a‖² + ‖b‖² − 2aᵀb, faster for wide patches but off by round-off near 0."""
    mode = "donot_use_mm_for_euclid_dist" if exact else "use_mm_for_euclid_dist"
    return torch.cdist(ua, ub, compute_mode=mode)


def _rms_distance(ua: torch.Tensor, ub: torch.Tensor) -> torch.Tensor:
    """√((1/P) Σ_p ‖a_p − b_p‖²) for every pair of images: (n_a, n_b)."""
    dots = torch.einsum("pir,pjr->ij", ua, ub)
    sq = ua.pow(2).sum((0, 2))[:, None] + ub.pow(2).sum((0, 2))[None, :] - 2 * dots
    return (sq.clamp(min=0) / ua.shape[0]).sqrt()


def _arccos_kernel(dot: torch.Tensor, na: torch.Tensor, nb: torch.Tensor) -> torch.Tensor:
    """(1/π)(aᵀb(π − θ) + ‖a‖‖b‖ sin θ) from aᵀb and the norms (broadcast together)."""
    cos = (dot / (na * nb).clamp(min=1e-30)).clamp(-1, 1)
    return (dot * (math.pi - torch.arccos(cos)) + _sine_area(dot, na, nb)) / math.pi


def _sine_area(dot: torch.Tensor, na: torch.Tensor, nb: torch.Tensor) -> torch.Tensor:
    """‖a‖‖b‖ sin θ = √(‖a‖²‖b‖² − (aᵀb)²)."""
    return ((na * nb) ** 2 - dot * dot).clamp(min=0).sqrt()


# --- Patches under a metric -----------------------------------------------------------


def metric_patches(x: torch.Tensor, factor: torch.Tensor, q: int) -> torch.Tensor:
    """R x_p for every q×q patch of ``x`` (N, C, H, W): a tensor (P, N, r), float32."""
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(x.shape)}")
    c = x.shape[1]
    if factor.shape[1] != c * q * q:
        raise ValueError(
            f"a metric for {c}-channel {q}×{q} patches must have {c * q * q} "
            f"columns, got {factor.shape[1]}"
        )
    if min(x.shape[2:]) < q:
        raise ValueError(f"images of size {tuple(x.shape[2:])} are smaller than {q}×{q} patches")
    filters = factor.reshape(-1, c, q, q).to(x)
    u = F.conv2d(x, filters)  # (N, r, H', W')
    return u.flatten(2).permute(2, 0, 1).contiguous().float()


# --- Kernel matrices, ridge regression and patch-AGOP --------------------------------


def ridge_solutions(
    k_train: torch.Tensor, targets: torch.Tensor, ridges: Sequence[float] = RIDGES
) -> list[torch.Tensor]:
    """α = (K + λI)⁻¹ Y for each λ, with K's round-off negative eigenvalues set to 0."""
    if (
        k_train.ndim != 2
        or k_train.shape[0] != k_train.shape[1]
        or k_train.shape[0] != len(targets)
    ):
        raise ValueError("k_train must be square with one row per target")
    if any(not r > 0 for r in ridges):
        raise ValueError(f"ridges must be positive, got {list(ridges)}")
    values, vectors = torch.linalg.eigh(k_train.double())
    projected = vectors.T @ targets.double()
    return [vectors @ (projected / (values.clamp(min=0) + r)[:, None]) for r in ridges]


def patch_agop(
    kernel: PatchKernel,
    u_train: torch.Tensor,
    alpha: torch.Tensor,
    u_x: torch.Tensor,
    factor: torch.Tensor,
) -> torch.Tensor:
    """Patch-AGOP (d × d, float64) of f(x) = Σ_t α_t K(x_t, x) over the images whose metric
    patches are ``u_x`` (P, n_x, r); ``u_train`` (P, n, r) are the train images', ``alpha``
    (n, c) the coefficients, ``factor`` the R with M = RᵀR used to make the patches."""
    _check_pair(u_train, u_x)
    if alpha.ndim != 2 or alpha.shape[0] != u_train.shape[1]:
        raise ValueError(
            f"alpha must have shape ({u_train.shape[1]}, classes), got {tuple(alpha.shape)}"
        )
    p, n, r = u_train.shape
    alpha = alpha.to(u_train)
    outer = torch.zeros(r, r, dtype=torch.float64)
    total = torch.zeros(0)  # replaced at the first column block of every row block
    for xs, ts in _blocks(p, u_x.shape[1], n):  # images x (rows) against train images t
        a, b = kernel.gradient_terms(u_x[:, xs], u_train[:, ts])
        h = torch.stack(
            [torch.matmul(a * alpha[ts, c], u_train[:, ts]) for c in range(alpha.shape[1])], dim=2
        )  # (P, b, classes, r)
        h = h + torch.matmul(b, alpha[ts])[..., None] * u_x[:, xs, None, :]
        total = h if ts.start == 0 else total + h  # Σ over train blocks, in order
        if ts.stop == n:
            flat = total.reshape(-1, r).double()
            outer += (flat.T @ flat).cpu()
    factor = factor.double()
    return factor.T @ outer @ factor / u_x.shape[1]


def _check_pair(ua: torch.Tensor, ub: torch.Tensor) -> None:
    if ua.ndim != 3 or ub.ndim != 3 or ua.shape[0] != ub.shape[0] or ua.shape[2] != ub.shape[2]:
        raise ValueError(
            f"metric patches must be (P, n, r) with matching P and r, got "
            f"{tuple(ua.shape)} and {tuple(ub.shape)}"
        )


def _blocks(positions: int, n_a: int, n_b: int) -> Iterator[tuple[slice, slice]]:
    """Slices (rows of a, columns of b) covering the n_a × n_b pairs in blocks of ≤ CHUNK
    (patch, pair) entries; the columns of one row block are visited in order."""
    cols = max(1, min(n_b, CHUNK // max(positions, 1)))
    rows = max(1, min(n_a, CHUNK // max(positions * cols, 1)))
    for i in range(0, n_a, rows):
        for j in range(0, n_b, cols):
            yield slice(i, min(i + rows, n_a)), slice(j, min(j + cols, n_b))


# --- ConvRFM (Algorithm 1) and Deep ConvRFM (Algorithm 2) -----------------------------


@dataclass
class ConvRFM:
    """A trained ConvRFM: the chosen metric and predictor, and the validation record.

    ``val_accuracy[t][j]`` is the validation accuracy (%) at iteration t (t = 0 is the
    fixed kernel, M = I) with ridge ``ridges[j]``; ``metrics[t]`` is the M used there;
    ``report_accuracy[t]`` the accuracy on the ``report`` split (if one was given) of
    iteration t's best ridge: reported, never used to choose. ``kernels[t]`` is the kernel
    with iteration t's bandwidth, ``off_diagonal[t]`` the mean off-diagonal entry of its train
    kernel matrix over the diagonal's (near 0: every train image is alone, a lookup table).
    """

    kernel: PatchKernel
    ridges: tuple[float, ...]
    metrics: list[torch.Tensor] = field(default_factory=list)
    kernels: list[PatchKernel] = field(default_factory=list)
    off_diagonal: list[float] = field(default_factory=list)
    val_accuracy: list[list[float]] = field(default_factory=list)
    report_accuracy: list[float] = field(default_factory=list)
    best: tuple[int, int] = (0, 0)
    train_patches: torch.Tensor | None = None
    alpha: torch.Tensor | None = None

    @property
    def metric(self) -> torch.Tensor:
        """The M of the iteration chosen on the validation split."""
        return self.metrics[self.best[0]]

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted (N, classes) scores of the chosen predictor."""
        u = metric_patches(x.to(self.train_patches.device), sqrt_factor(self.metric), self.kernel.q)
        return self.kernels[self.best[0]].matrix(u, self.train_patches) @ self.alpha

    def accuracy(self, images: ImageSet) -> float:
        """Accuracy (%) of the chosen predictor on ``images``."""
        return _accuracy(self.scores(images.x), images.y)


def conv_rfm(
    train: ImageSet,
    val: ImageSet,
    kernel: PatchKernel = PatchKernel(),
    iterations: int = 3,
    ridges: Sequence[float] = RIDGES,
    agop_images: int = 100,
    power: float = 1.0,
    report: ImageSet | None = None,
    device: torch.device | str = "cpu",
) -> ConvRFM:
    """Algorithm 1: from M = I, fit kernel ridge regression, set M to the patch-AGOP of the
    predictor (on the first ``agop_images`` train images) raised to ``power`` and rescaled
    to trace d; repeat ``iterations`` times. A ``"median"`` bandwidth is set anew at every
    iteration. The iteration and ridge with the best validation accuracy win. ``report``
    (e.g. the test split) is only scored."""
    if iterations < 0:
        raise ValueError(f"iterations must be ≥ 0, got {iterations}")
    _check_splits(train, val)
    d = train.x.shape[1] * kernel.q**2
    targets = F.one_hot(train.y, train.num_classes).double()
    result = ConvRFM(kernel, tuple(ridges))
    metric = torch.eye(d, dtype=torch.float64)
    best_acc = -1.0
    for t in progress(range(iterations + 1), "ConvRFM iterations"):
        factor = sqrt_factor(metric)
        u_train = metric_patches(train.x.to(device), factor, kernel.q)
        fitted = kernel.calibrated(u_train)
        k_train = fitted.matrix(u_train, u_train)
        scale = k_train.max()
        alphas = [a / scale for a in ridge_solutions(k_train / scale, targets, ridges)]
        k_val = fitted.matrix(metric_patches(val.x.to(device), factor, kernel.q), u_train)
        accs = [_accuracy(k_val @ a, val.y) for a in alphas]
        j = max(range(len(accs)), key=accs.__getitem__)
        result.metrics.append(metric)
        result.kernels.append(fitted)
        result.off_diagonal.append(_mean_off_diagonal(k_train))
        result.val_accuracy.append(accs)
        if report is not None:
            u_report = metric_patches(report.x.to(device), factor, kernel.q)
            result.report_accuracy.append(
                _accuracy(fitted.matrix(u_report, u_train) @ alphas[j], report.y)
            )
        if accs[j] > best_acc:
            best_acc, result.best = accs[j], (t, j)
            result.train_patches, result.alpha = u_train, alphas[j]
        if t < iterations:
            agop = patch_agop(fitted, u_train, alphas[j], u_train[:, :agop_images], factor)
            metric = matrix_power(agop, power)
            metric = metric * d / metric.trace()
    return result


@dataclass
class DeepConvRFM:
    """Deep ConvRFM: one ConvRFM per layer and the random-feature filters between them."""

    stages: list[ConvRFM]
    filters: list[torch.Tensor]

    @property
    def report_accuracy(self) -> list[float]:
        """Accuracy on the ``report`` split with 1, 2, … feature-learning layers: each
        stage's iteration chosen on validation."""
        return [s.report_accuracy[s.best[0]] for s in self.stages]

    def features(self, x: torch.Tensor, layers: int | None = None) -> torch.Tensor:
        """``x`` after the first ``layers`` (default: all) random-feature layers."""
        for w in self.filters[:layers]:
            x = F.relu(F.conv2d(x.to(w), w))
        return x

    def accuracy(self, images: ImageSet, stage: int = -1) -> float:
        """Test accuracy (%) of the ConvRFM at ``stage`` (0: on the images themselves)."""
        stage = stage % len(self.stages)
        x = self.features(images.x, stage)
        return self.stages[stage].accuracy(ImageSet(images.name, x, images.y, images.classes))


def deep_conv_rfm(
    train: ImageSet,
    val: ImageSet,
    kernel: PatchKernel = PatchKernel(),
    layers: int = 2,
    width: int = 16,
    generator: torch.Generator | None = None,
    report: ImageSet | None = None,
    **rfm_options,
) -> DeepConvRFM:
    """Algorithm 2: per layer, ConvRFM on the current features, then ``width`` filters with
    rows W_k ~ N(0, M) (as G·R with G standard normal and RᵀR = M) and x ← ReLU(W ∗ x).
    The features are rescaled to unit mean square, measured on the train split."""
    if layers < 1 or width < 1:
        raise ValueError(f"layers and width must be ≥ 1, got {layers} and {width}")
    stages, filters = [], []
    sets = [s for s in (train, val, report) if s is not None]
    xs = [s.x for s in sets]
    for layer in range(layers):
        split = [ImageSet(s.name, x, s.y, s.classes) for s, x in zip(sets, xs)]
        stages.append(
            conv_rfm(
                split[0],
                split[1],
                kernel=kernel,
                report=split[2] if report is not None else None,
                **rfm_options,
            )
        )
        if layer == layers - 1:
            break
        factor = sqrt_factor(stages[-1].metric).float()
        g = torch.randn(width, factor.shape[0], generator=generator)
        w = (g @ factor).reshape(width, xs[0].shape[1], kernel.q, kernel.q)
        w = w / F.relu(F.conv2d(xs[0], w)).pow(2).mean().sqrt()
        filters.append(w)
        xs = [F.relu(F.conv2d(x, w)) for x in xs]
    return DeepConvRFM(stages, filters)


def _mean_off_diagonal(k: torch.Tensor) -> float:
    """Mean off-diagonal entry of a kernel matrix, in units of its mean diagonal entry."""
    n = k.shape[0]
    return ((k.sum() - k.trace()) / (n * (n - 1)) / (k.trace() / n)).item()


def _accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    return 100.0 * (scores.argmax(-1).cpu() == labels.cpu()).double().mean().item()


def _check_splits(train: ImageSet, val: ImageSet) -> None:
    if train.image_shape[0] != val.image_shape[0] or train.num_classes != val.num_classes:
        raise ValueError("train and validation splits must have the same channels and classes")
