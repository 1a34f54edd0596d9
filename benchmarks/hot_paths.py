"""Benchmark: the package's hot paths against their naive versions, in one run.

- ``covariance``: Part I's streaming activation covariance (batch by batch) against stacking
  every activation first, for the Part I CNN's first layer (positions count as samples).
- ``patch_agop``: Chapter 7's patch-AGOP as WᵀGW against unfolding every patch
  (two of VGG-11's layers; the full sweep is ``agop_vs_unfold.py``).
- ``kernel``: Chapter 8's whole-image Laplace kernel matrix (patches mapped by one
  convolution) against unfolded patches and ``torch.cdist``, for several training-set sizes n.
- ``patchwise_kernel``: Chapter 8's patchwise (per-position) Laplace kernel, computed in
  blocks of bounded memory, against all (P, n, n) distances at once; compare its seconds
  with ``kernel``'s at the same n for the cost of averaging over positions.
- ``ridge``: its ridge regression for the three ridges from one eigendecomposition (round-off
  negative eigenvalues clamped) against one linear solve per ridge.
- ``inversion``: Chapter 9's inversion steps per second with the network truncated at the
  inverted stage, against running the whole network and reading the stage with a hook.

Every measurement runs in its own process, so that its peak memory (resident set size) is its
own. Prints a table and writes ``_build/benchmarks/hot_paths.json``.

    python benchmarks/hot_paths.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


# --- the measurements, each run in a child process -----------------------------------------


def covariance(method: str, images: int) -> dict:
    from deepinside import covariance, data, models

    torch.manual_seed(0)
    net = models.cnn([1, 32, 64], 28)
    x = torch.rand(images, 1, 28, 28)
    layer = models.hidden_layers(net)[0]
    if method == "fast":
        seconds, c = timed(
            lambda: covariance.activation_covariances(
                net,
                data.ImageSet("bench", x, torch.zeros(images, dtype=torch.long), ("0",)),
                [layer],
            )[0]
        )
    else:

        def naive():
            with torch.no_grad():
                a = covariance.as_samples(net[: layer + 1](x)).double()
            return a.T @ a / len(a)

        seconds, c = timed(naive)
    return {"seconds": seconds, "peak_mb": peak_mb(), "check": float(c.trace())}


def patch_agop(method: str, layer: int) -> dict:
    from agop_vs_unfold import measure

    out = measure("patch_agop" if method == "fast" else "unfolded", layer, 2, torch.device("cpu"))
    return {"seconds": out["seconds"], "peak_mb": out["peak_mb"], "check": out["trace"]}


def _bars_patches(n: int):
    from deepinside import linalg, tasks

    bars = tasks.bars_in_noise(n, 1.0, torch.Generator().manual_seed(0))
    m = torch.eye(9, dtype=torch.float64) + 0.1  # a metric that is not the identity
    return bars, linalg.sqrt_factor(m)


def _kernel_matrix(name: str, naive, method: str, n: int) -> dict:
    """The package's kernel matrix ``name`` (bandwidth 1) against ``naive(patches, factor)``
    on unfolded float64 patches (n, 9, P)."""
    from deepinside import rfm

    bars, factor = _bars_patches(n)

    def fast():
        u = rfm.metric_patches(bars.x, factor, 3)
        return rfm.PatchKernel(name, 3, 1.0).matrix(u, u)

    run = fast if method == "fast" else lambda: naive(F.unfold(bars.x.double(), 3), factor)
    seconds, k = timed(run)
    return {"seconds": seconds, "peak_mb": peak_mb(), "check": float(k.sum())}


def kernel(method: str, n: int) -> dict:
    """The whole-image Laplace kernel: one matrix product of the patch features, against
    ``torch.cdist`` of the unfolded, mapped images."""

    def naive(patches, factor):
        mapped = torch.einsum("rd,ndp->npr", factor, patches).reshape(len(patches), -1)
        return torch.exp(-torch.cdist(mapped, mapped).div(math.sqrt(patches.shape[-1])))

    return _kernel_matrix("global_laplace", naive, method, n)


def patchwise_kernel(method: str, n: int) -> dict:
    """The patchwise (per-position) Laplace kernel: chunked in the package, against one
    (P, n, n) tensor of all distances at once."""

    def naive(patches, factor):
        mapped = torch.einsum("rd,ndp->pnr", factor, patches)  # (P, n, r)
        return torch.exp(-torch.cdist(mapped, mapped)).mean(0)

    return _kernel_matrix("laplace", naive, method, n)


def ridge(method: str, n: int) -> dict:
    from deepinside import rfm

    bars, factor = _bars_patches(n)
    u = rfm.metric_patches(bars.x, factor, 3)
    k = rfm.PatchKernel("global_laplace", 3, 1.0).matrix(u, u).double()
    k, targets = k / k.max(), F.one_hot(bars.y, 2).double()
    if method == "fast":
        seconds, alphas = timed(lambda: rfm.ridge_solutions(k, targets, rfm.RIDGES))
    else:
        eye = torch.eye(n, dtype=torch.float64)
        seconds, alphas = timed(
            lambda: [torch.linalg.solve(k + r * eye, targets) for r in rfm.RIDGES]
        )
    return {"seconds": seconds, "peak_mb": peak_mb(), "check": float(alphas[-1].abs().sum())}


def inversion(method: str, steps: int) -> dict:
    from deepinside import data, models
    from deepinside import inversion as inv

    torch.manual_seed(0)
    net = models.pretrained("resnet18", trained=False)
    image = data.photographs(96, ("chelsea",))[0]
    if method == "fast":
        embed = models.resnet_embedding(net, "conv3", models.IMAGENET_MEAN, models.IMAGENET_STD)
    else:
        standardize = models.Standardize(models.IMAGENET_MEAN, models.IMAGENET_STD)
        captured = {}
        net.layer2.register_forward_hook(lambda module, inputs, output: captured.update(out=output))

        def embed(x):
            net(standardize(x))
            return captured["out"]

    seconds, result = timed(
        lambda: inv.invert(
            embed, image, steps, 0.2, normalize=True, generator=torch.Generator().manual_seed(0)
        )
    )
    return {
        "seconds": seconds,
        "peak_mb": peak_mb(),
        "check": float(result.m_g[-1]),
        "steps_per_second": steps / seconds,
    }


BENCHMARKS = {
    "covariance": covariance,
    "patch_agop": patch_agop,
    "kernel": kernel,
    "patchwise_kernel": patchwise_kernel,
    "ridge": ridge,
    "inversion": inversion,
}


def child(name: str, method: str, size: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, method, str(size)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "DEEPINSIDE_NO_PROGRESS": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # name, method, size
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.child:
        name, method, size = args.child
        print(json.dumps(BENCHMARKS[name](method, int(size))))
        return
    sizes = {
        "covariance": [2000] if args.quick else [5000, 20000],
        "patch_agop": [1] if args.quick else [1, 2],
        "kernel": [300] if args.quick else [500, 1000, 2000],
        "patchwise_kernel": [200] if args.quick else [250, 500, 1000],
        "ridge": [300] if args.quick else [500, 1000, 2000],
        "inversion": [5] if args.quick else [30],
    }
    rows = []
    for name, values in sizes.items():
        for size in values:
            fast, naive = child(name, "fast", size), child(name, "naive", size)
            agree = abs(fast["check"] - naive["check"]) / max(abs(naive["check"]), 1e-12)
            rows.append(
                {
                    "benchmark": name,
                    "size": size,
                    "fast": fast,
                    "naive": naive,
                    "time_ratio": naive["seconds"] / fast["seconds"],
                    "peak_ratio": naive["peak_mb"] / fast["peak_mb"],
                    "relative_difference": agree,
                }
            )
            print(
                f"{name:11s} {size:>6}: {fast['seconds']:7.2f} s vs {naive['seconds']:7.2f} s "
                f"(×{rows[-1]['time_ratio']:.1f}), peak {fast['peak_mb']:6.0f} MB vs "
                f"{naive['peak_mb']:6.0f} MB (×{rows[-1]['peak_ratio']:.1f}); "
                f"results agree to {agree:.1e}",
                flush=True,
            )
    out_dir = ROOT / "_build" / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "hot_paths.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
