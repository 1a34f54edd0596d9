"""Benchmark: the patch-AGOP as Wᵀ G W (``cnfa.patch_agop``) against its definition with
unfolded patches (``cnfa.patch_agop_unfolded``), on layers the size of VGG-11's.

For each of VGG-11's eight conv layers (channels and resolution at a 224×224 input), a
network conv → ReLU → global average pooling → linear (10 outputs) is built, so that the
measurement is the AGOP computation, not the rest of a network. Each measurement runs in
its own process after one plain forward and backward pass of the same batch: "extra
memory" is the peak memory above that pass, "peak" is the process's whole peak.

    python benchmarks/agop_vs_unfold.py [--images 2] [--device cpu]

Prints a table and writes ``_build/benchmarks/agop_vs_unfold.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from deepinside import cnfa

ROOT = Path(__file__).resolve().parents[1]
# (C_in, C_out, resolution) of VGG-11's conv layers for a 224×224 image
VGG11_LAYERS = [
    (3, 64, 224),
    (64, 128, 112),
    (128, 256, 56),
    (256, 256, 56),
    (256, 512, 28),
    (512, 512, 28),
    (512, 512, 14),
    (512, 512, 14),
]
METHODS = ("patch_agop", "unfolded")


def peak_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


def measure(method: str, layer: int, images: int, device: torch.device) -> dict[str, float]:
    c_in, c_out, size = VGG11_LAYERS[layer]
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(c_out, 10),
    ).to(device)
    x = torch.randn(images, c_in, size, size, device=device)
    net(x).sum().backward()  # what backpropagation itself needs
    net.zero_grad(set_to_none=True)
    baseline = peak_bytes(device)
    start = time.perf_counter()
    if method == "patch_agop":
        agop = cnfa.patch_agop(net, x, ["0"], batch_size=images, device=device)["0"]
    else:
        agop = cnfa.patch_agop_unfolded(net, x, "0", batch_size=images, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    peak = peak_bytes(device)
    return {
        "seconds": seconds,
        "extra_mb": max(peak - baseline, 0) / 2**20,
        "peak_mb": peak / 2**20,
        "trace": float(agop.trace()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # method, layer
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.child:
        method, layer = args.child[0], int(args.child[1])
        print(json.dumps(measure(method, layer, args.images, device)))
        return
    rows = []
    for layer, shape in enumerate(VGG11_LAYERS):
        row = {"layer": layer + 1, "shape": shape}
        for method in METHODS:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    method,
                    str(layer),
                    "--images",
                    str(args.images),
                    "--device",
                    args.device,
                ],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "DEEPINSIDE_NO_PROGRESS": "1"},
            )
            row[method] = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(row)
        fast, slow = row["patch_agop"], row["unfolded"]
        print(
            f"conv {layer + 1} {str(shape):>16}: "
            f"{fast['seconds']:6.2f} s vs {slow['seconds']:6.2f} s, "
            f"extra {fast['extra_mb']:6.0f} MB vs {slow['extra_mb']:6.0f} MB, "
            f"peak {fast['peak_mb']:6.0f} MB vs {slow['peak_mb']:6.0f} MB",
            flush=True,
        )
    total = {m: {k: sum(r[m][k] for r in rows) for k in ("seconds", "extra_mb")} for m in METHODS}
    report = {
        "setup": f"VGG-11 layer sizes at 224x224, {args.images} images, 10 outputs, {args.device}",
        "layers": rows,
        "time_ratio": total["unfolded"]["seconds"] / total["patch_agop"]["seconds"],
        "extra_memory_ratio": total["unfolded"]["extra_mb"]
        / max(total["patch_agop"]["extra_mb"], 1),
        "peak_memory_ratio_largest_layer": max(
            r["unfolded"]["peak_mb"] / r["patch_agop"]["peak_mb"] for r in rows
        ),
        "largest_relative_trace_difference": max(
            abs(r["patch_agop"]["trace"] - r["unfolded"]["trace"]) / abs(r["unfolded"]["trace"])
            for r in rows
        ),
    }
    print(
        f"all layers, unfolded / patch_agop: time ×{report['time_ratio']:.1f}, extra memory "
        f"×{report['extra_memory_ratio']:.1f}; largest per-layer peak ratio "
        f"×{report['peak_memory_ratio_largest_layer']:.1f}; AGOP traces agree to "
        f"{report['largest_relative_trace_difference']:.1e}"
    )
    out_dir = ROOT / "_build" / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "agop_vs_unfold.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
