# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The Convolutional Neural Feature Ansatz
#
# Part II looks at *what* convolutional filters learn. This chapter asks *why*: is there a
# quantity, computable from the trained network and the data, that predicts the filters a layer
# ends up with? The Convolutional Neural Feature Ansatz (CNFA) proposes one. The covariance of a
# layer's filters is proportional to the **average gradient outer product (AGOP)** of the
# network with respect to the image patches that the layer reads. Roughly, a layer amplifies the
# patch directions that most change the network's output.
#
# We define both matrices, compute the AGOP without ever unfolding an image into patches, and
# test the ansatz on a small trained CNN, layer by layer. We then look at what the matrices do to
# photographs and check the one case where the ansatz is a theorem.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/07_cnfa.ipynb)

# %% tags=["hide-cell"]
# @title Setup: in Colab, install the book's helper package `deepinside`
import sys

if "google.colab" in sys.modules:  # elsewhere the package is installed with the book
    import subprocess
    import tempfile
    from importlib import metadata, util

    REPOSITORY, RELEASE = "https://github.com/deepinside/deepinside", "v0.1.0"
    if util.find_spec("deepinside") is None:
        installed = {d.metadata["Name"].lower(): d.version for d in metadata.distributions()}
        keep = [f"{name}=={installed[name]}" for name in ("numpy", "torch", "torchvision", "scipy", "pandas", "matplotlib") if name in installed]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
            constraints.write("\n".join(keep))
        package = f"deepinside @ git+{REPOSITORY}@{RELEASE}"
        pip = [sys.executable, "-m", "pip", "install", "-q", "-c", constraints.name, package]
        if subprocess.run(pip).returncode != 0:
            raise RuntimeError(
                f"Could not install {package}. Without access to {REPOSITORY}, install the "
                "package another way and run this cell again: upload a wheel and "
                "`pip install deepinside-*.whl`, or in a clone of the repository "
                "`pip install -e .` (a local path works too: `pip install /path/to/clone`)."
            )

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": offline photo crops, CPU; "full": CIFAR-10 + ImageNet models, GPU
SEED = 0  # seed of the network's initialization and data order
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
EPOCHS = None  # training epochs (None: the profile's value)
AGOP_IMAGES = None  # training images the AGOPs average over (None: the profile's value)

# %%
import itertools
import time
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from scipy import ndimage

from deepinside import cnfa, covariance, data, linalg, models, plotting, runtime, setups
from deepinside.notebook import glue, show_source
from deepinside.training import trained

plotting.setup()

# %% [markdown]
# The chapter's settings per profile. The network is a small CNN as in the CNFA paper's appendix
# ($3\times 3$ convolutions without bias, max pooling, a small Gaussian initialization, Adam),
# trained on natural images: photo crops in `quick`, CIFAR-10 in `full`, where torchvision's
# ImageNet-pretrained networks are measured too. `full` takes the appendix's learning rate
# $2\times 10^{-4}$ and batch 128 but trains for 100 epochs instead of its 500, to keep the book
# within an hour of one GPU; `quick` trains for 12 at a learning rate of $10^{-3}$. The source
# averages over ten datasets; CIFAR-10 is one of them.

# %%
SETTINGS = {
    "quick": {"dataset": "photos", "config": [32, "M", 64, "M", 128, "M"], "epochs": 12,
              "lr": 1e-3, "batch_size": 128, "init_std": [5e-3, 1e-2], "agop_images": 500,
              "map_size": 128, "pretrained": [], "imagenet_outputs": 1000},
    "full": {"dataset": "cifar10", "config": [64, "M", 128, "M", 256, "M", 256, "M"],
             "epochs": 100, "lr": 2e-4, "batch_size": 128, "init_std": [5e-3, 1e-2],
             "agop_images": 2000, "map_size": 224, "pretrained": ["alexnet", "vgg11", "resnet18"],
             "imagenet_outputs": 1000},
}  # fmt: skip
session = runtime.start(PROFILE, SEED, DEVICE, SETTINGS, epochs=EPOCHS, agop_images=AGOP_IMAGES)
settings, device = session.settings, session.device
train_set, test_set = (data.load(settings["dataset"], split) for split in ("train", "test"))
c, h, _ = train_set.image_shape
arguments = {
    "config": settings["config"],
    "in_channels": c,
    "image_size": h,
    "num_classes": train_set.num_classes,
    "init_std": settings["init_std"],
}
net = trained(
    "cnfa_cnn",
    models.vgg,
    arguments,
    train_set,
    test_set,
    seed=SEED,
    device=device,
    **setups.fit_arguments(settings),
)
model, initial = net.model, net.initial
glue("cnfa_test_acc", net.test_accuracy)
glue("cnfa_chance_acc", 100 / train_set.num_classes)
if settings["dataset"] == "photos":
    task = (
        f"to tell which of ten photographs a {h}×{h} crop comes from, with test crops taken from "
        "a part of each photograph never seen in training"
    )
else:
    task = f"the {train_set.num_classes} classes of {data.TITLES[settings['dataset']]}"
glue("cnfa_task", task)
print(model)

# %% [markdown]
# The network follows the small CNNs of the source's appendix: $3\times 3$ convolutions without
# bias, zero padding, ReLU, $2\times 2$ max pooling after each convolution, and a linear
# classifier. It starts from a *small* Gaussian initialization (standard deviation
# $5\cdot 10^{-3}$ in the first layer, $10^{-2}$ after) and is trained with Adam.
# <a id="claim-accuracy"></a>It learns {glue:text}`cnfa_task`; it reaches
# {glue:text}`cnfa_test_acc:.1f` % test accuracy (chance: {glue:text}`cnfa_chance_acc:.0f` %).

# %%
plotting.show_images(test_set, title="one test image per class")
# %% [markdown]
# ## Two matrices on patches
#
# A convolution with $k$ filters of size $c\times q\times q$ applies the same matrix
# $W \in \mathbb{R}^{k\times cq^2}$ to every patch $x[i,j]\in\mathbb{R}^{cq^2}$ of its input:
# $z[i,j] = W\,x[i,j]$. (We flatten a filter in PyTorch's $(c, q, q)$ order, the order of
# `F.unfold`.) Up to a rotation of its outputs, what the layer extracts from a patch is
# determined by the singular values and right singular vectors of $W$, that is by
#
# $$\text{CNFM} = W^\top W \in \mathbb{R}^{cq^2\times cq^2},$$ (eq-cnfm)
#
# the *convolutional neural feature matrix*, the uncentered covariance of the filters (up to a
# factor $k$). Now write the network from this layer on as a function of the patches,
# $f(x) = g(W x[1,1], \dots, W x[P,Q])$, and treat every patch as a separate variable. The
# **patch-AGOP** sums the outer products of the gradients with respect to each patch, over the
# $n$ images, all positions and all outputs $f_1, \dots, f_K$ (the class scores):
#
# $$\text{AGOP} = \frac{1}{n}\sum_{x}\sum_{k=1}^{K}\sum_{(i,j)}
#   \nabla_{x[i,j]} f_k(x)\, \nabla_{x[i,j]} f_k(x)^\top .$$ (eq-agop)
#
# The ansatz states $W^\top W \propto \text{AGOP}$ after training. The chain rule turns the
# AGOP into something cheap. Since $z[i,j] = W x[i,j]$, the gradient with respect to a patch is
# $W^\top g[i,j]$, with $g[i,j] = \nabla_{z[i,j]} f_k$ the gradient at the layer's *output*,
# which one backward pass gives for every position at once. Hence
#
# $$\text{AGOP} = W^\top\, G\, W, \qquad
#   G = \frac{1}{n}\sum_{x}\sum_{k}\sum_{(i,j)} g[i,j]\, g[i,j]^\top \in \mathbb{R}^{k\times k}.$$ (eq-agop-identity)
#
# This identity, {eq}`eq-agop-identity`, is also the ansatz's intuition. If the gradients $g$ at the layer's output were
# isotropic, $G = cI$, the AGOP would *equal* $c\,W^\top W$. The ansatz says the filters are what
# they are because the patch directions they amplify are those the rest of the network is most
# sensitive to. `cnfa.patch_agop` computes $W^\top G W$. `cnfa.patch_agop_unfolded` computes the
# definition literally: it unfolds the layer's input into patches, rebuilds the layer from them
# and differentiates with respect to every patch. The two must agree, and the first should be
# faster where layers are large.

# %% [markdown]
# The patch-AGOP as $W^\top G W$, from the package itself (the gradients $g$ come from
# `cnfa.output_gradient_covariance`):

# %% tags=["hide-input"]
# @title The code of `cnfa.patch_agop`
show_source(cnfa.patch_agop)

# %%
order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(SEED))
agop_set = train_set.subset(order[: settings["agop_images"]])
layers = list(models.conv_layers(model))
probe = agop_set.x[:100]
identity_rows = []
for name in layers:  # one layer at a time, so both computations do the same work
    start = time.perf_counter()
    fast = cnfa.patch_agop(model, probe, [name], device=device)[name]
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    slow = cnfa.patch_agop_unfolded(model, probe, name, device=device)
    slow_s = time.perf_counter() - start
    identity_rows.append(
        {
            "layer": name,
            "relative difference": float((fast - slow).norm() / slow.norm()),
            "W^T G W (s)": fast_s,
            "unfolded (s)": slow_s,
            "speed-up": slow_s / fast_s,
        }
    )
identity = pd.DataFrame(identity_rows).set_index("layer")
glue("cnfa_identity_rel_err", identity["relative difference"].max())
glue("cnfa_identity_speedup_min", identity["speed-up"].min())
glue("cnfa_identity_speedup_max", identity["speed-up"].max())
glue("cnfa_device", {"cuda": "a GPU", "mps": "an Apple GPU"}.get(device.type, "a shared CPU"))
identity.round(4)

# %% [markdown]
# <a id="claim-identity-agree"></a>On 100 images the two computations agree to a relative error of
# {glue:text}`cnfa_identity_rel_err:.0e` at most (floating-point rounding).
# <a id="claim-identity-speed"></a>Layer by layer, the unfolded definition takes
# {glue:text}`cnfa_identity_speedup_min:.1f` to {glue:text}`cnfa_identity_speedup_max:.1f` times as
# long as $W^\top G W$ on this small network (timings of one run on {glue:text}`cnfa_device`). On
# large layers the gap grows: unfolding multiplies memory by $q^2$ and every outer product costs
# $(cq^2)^2$ instead of $k^2$ per position. The benchmark `benchmarks/agop_vs_unfold.py` measures
# it at the sizes of VGG-11.
#
# ## Testing the ansatz layer by layer
#
# We compare the matrices with a **Pearson correlation** of their flattened entries (each
# matrix's mean entry subtracted), and also report the uncentered cosine similarity that the
# source uses in some of its experiments. Correlations ignore the overall scale, which the ansatz
# leaves free. For every layer we measure three things:
#
# - *trained CNFM vs AGOP*: the ansatz itself, on the trained network;
# - *initial vs trained CNFM*: how far training moved the filters (a control: if the filters had
#   hardly moved, agreement after training would say little);
# - *CNFM vs AGOP at initialization*: the same comparison before training.

# %%
agop = cnfa.patch_agop(model, agop_set, device=device)
agop_init = cnfa.patch_agop(initial, agop_set, device=device)
trained_convs, initial_convs = models.conv_layers(model), models.conv_layers(initial)

rows = []
for i, name in enumerate(layers, start=1):
    m, m0 = cnfa.cnfm(trained_convs[name]), cnfa.cnfm(initial_convs[name])
    for label, a, b in [
        ("trained CNFM vs AGOP", m, agop[name]),
        ("initial vs trained CNFM", m0, m),
        ("CNFM vs AGOP at init", m0, agop_init[name]),
    ]:
        rows.append(
            {
                "layer": f"conv {i}",
                "comparison": label,
                "Pearson": linalg.matrix_correlation(a, b),
                "cosine": linalg.matrix_correlation(a, b, centered=False),
            }
        )
corr = pd.DataFrame(rows)
table = corr.pivot(index="layer", columns="comparison", values="Pearson")
glue("cnfa_corr_trained", table["trained CNFM vs AGOP"].round(3).tolist())
glue("cnfa_corr_trained_mean", table["trained CNFM vs AGOP"].mean())
glue("cnfa_corr_trained_min", table["trained CNFM vs AGOP"].min())
glue("cnfa_corr_init_mean", table["initial vs trained CNFM"].mean())
glue("cnfa_corr_at_init_mean", table["CNFM vs AGOP at init"].mean())
glue("cnfa_cosine_trained_mean", corr[corr.comparison == "trained CNFM vs AGOP"].cosine.mean())
corr.pivot(index="layer", columns="comparison", values=["Pearson", "cosine"]).round(3)

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.2))
sns.barplot(
    corr,
    x="layer",
    y="Pearson",
    hue="comparison",
    ax=ax,
    palette=["tab:green", "tab:red", "tab:gray"],
)
ax.set(ylim=(0, 1.05), ylabel="Pearson correlation", xlabel="")
ax.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
ax.set_title("Filter covariance (CNFM) and patch-AGOP, per conv layer")
# %% [markdown]
# <a id="claim-ansatz-trained"></a>
# After training, every layer's filter covariance correlates with its patch-AGOP: the mean
# Pearson correlation over the layers is {glue:text}`cnfa_corr_trained_mean:.3f` (lowest layer
# {glue:text}`cnfa_corr_trained_min:.3f`; cosine similarity
# {glue:text}`cnfa_cosine_trained_mean:.3f`). Training moved the filters far from where they
# started: the initial and trained CNFMs correlate at only
# {glue:text}`cnfa_corr_init_mean:.3f` on average. So the agreement is not a leftover of the
# initialization; it holds for the new filters that training produced.
#
# The gray bars need a word, because the source reports clearly lower correlations at
# initialization. <a id="claim-at-init"></a>Here, at initialization, the CNFM and AGOP correlate at
# {glue:text}`cnfa_corr_at_init_mean:.3f` on average, nearly as high as after training. At a
# random initialization the gradients at a layer's output are nearly isotropic, $G \approx cI$,
# so $W^\top G W \approx c\,W^\top W$ holds for any $W$, whatever its structure. After training
# $W^\top W$ is far from its initial form (red bars), and it still matches the AGOP; the null
# below asks how much of that match the trained $G$ is responsible for.
#
# The first layer's matrices show what the correlation measures. They are $27\times 27$,
# indexed by (colour, row, column) of a $3\times 3$ patch, so each $9\times 9$ block pairs two
# colour channels ({numref}`fig-first-layer-matrices`). The initial CNFM is nearly diagonal. In
# the `quick` profile the trained CNFM and the AGOP share one block pattern: positive within a
# colour channel (all nine pixels of a patch go together) and negative between red and blue
# (colour opponency). Below, a measurement says whether this run's first layer reads colour.

# %%
# Figure fig-first-layer-matrices: The first layer's CNFM before and after training, and the trained network's AGOP, each scaled to its largest entry.
first = layers[0]
panels = {
    "initial CNFM": cnfa.cnfm(initial_convs[first]),
    "trained CNFM": cnfa.cnfm(trained_convs[first]),
    "AGOP (trained)": agop[first],
}
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
for ax, (title, matrix) in zip(axes, panels.items()):
    scaled = matrix / matrix.abs().max()
    ax.imshow(scaled, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_title(title)
    ax.set_xticks([]), ax.set_yticks([])
fig.suptitle(
    "First layer, 27 × 27 (colour × 3 × 3 patch), each scaled to its largest entry", y=1.02
);
# %% [markdown]
# ### A null for the ansatz
#
# A high correlation of $W^\top W$ with $W^\top G W$ needs a control, because both matrices
# share the factor $W$: whatever $G$ is, $W^\top G W$ inherits $W$'s dominant directions. If $W$
# has a few large singular values, the two correlate for almost any $G$. We measure what $G$
# itself adds with three controls on the trained network, layer by layer:
#
# - **$G$ rotated**: replace $G = V\Lambda V^\top$ by $Q\Lambda Q^\top$ with a random rotation
#   $Q$ (`cnfa.spectrum_matched_rotation`), which keeps $G$'s eigenvalues and forgets which
#   directions they belong to; {glue:text}`cnfa_rotations` draws per layer;
# - **$G$ of the initial network**: the output-gradient covariance before training, with the
#   trained $W$;
# - **off-diagonal entries only**: the Pearson correlation of the off-diagonal entries, so that
#   a large shared diagonal does not count as agreement.

# %%
ROTATIONS = 20
glue("cnfa_rotations", ROTATIONS)
g_trained = cnfa.output_gradient_covariance(model, agop_set, device=device)
g_initial = cnfa.output_gradient_covariance(initial, agop_set, layers, device=device)
rotation_generator = torch.Generator().manual_seed(SEED)
null_rows = []
for i, name in enumerate(layers, start=1):
    w = covariance.weight_matrix(trained_convs[name]).double().cpu()
    m = w.T @ w
    rotated = [
        w.T @ cnfa.spectrum_matched_rotation(g_trained[name], rotation_generator) @ w
        for _ in range(ROTATIONS)
    ]
    null_rows.append(
        {
            "layer": f"conv {i}",
            "ansatz": linalg.matrix_correlation(m, agop[name]),
            "G rotated (mean)": np.mean([linalg.matrix_correlation(m, r) for r in rotated]),
            "G rotated (max)": max(linalg.matrix_correlation(m, r) for r in rotated),
            "G of the initial network": linalg.matrix_correlation(m, w.T @ g_initial[name] @ w),
            "ansatz, off-diagonal": linalg.matrix_correlation(m, agop[name], off_diagonal=True),
            "G rotated, off-diagonal (mean)": np.mean(
                [linalg.matrix_correlation(m, r, off_diagonal=True) for r in rotated]
            ),
        }
    )
nulls = pd.DataFrame(null_rows).set_index("layer")
margin = nulls["ansatz"] - nulls["G rotated (max)"]
glue("cnfa_corr_rotated_g_mean", nulls["G rotated (mean)"].mean())
glue("cnfa_corr_initial_g_mean", nulls["G of the initial network"].mean())
glue("cnfa_corr_offdiag_mean", nulls["ansatz, off-diagonal"].mean())
glue("cnfa_corr_offdiag_rotated_mean", nulls["G rotated, off-diagonal (mean)"].mean())
above_mean = nulls["ansatz"] - nulls["G rotated (mean)"]
glue("cnfa_null_margin_min", above_mean.min())
glue("cnfa_null_margin_max", above_mean.max())
glue("cnfa_null_beaten", int((margin > 0).sum()))
glue(
    "cnfa_initial_g_word",
    "higher" if nulls["G of the initial network"].mean() > nulls["ansatz"].mean() else "lower",
)
glue("cnfa_layers", len(layers))
nulls.round(3)

# %% [markdown]
# <a id="claim-rotated-null"></a>
# With $G$ rotated, the correlation is already {glue:text}`cnfa_corr_rotated_g_mean:.3f` on
# average over the layers: that much comes from $W$ alone.
# <a id="claim-initial-g"></a>With the initial network's $G$, nearly
# isotropic, it is {glue:text}`cnfa_initial_g_word`, {glue:text}`cnfa_corr_initial_g_mean:.3f`:
# $G = cI$ would give exactly 1, so on this measure *any* near-isotropic $G$ "satisfies the
# ansatz". What the trained $G$ adds is narrower: its eigenvectors are arranged so that
# $W^\top G W$ stays closer to $W^\top W$ than a random arrangement of the same eigenvalues.
# <a id="claim-null-margin"></a>The
# ansatz exceeds the rotated mean by {glue:text}`cnfa_null_margin_min:.3f` to
# {glue:text}`cnfa_null_margin_max:.3f` per layer and beats all {glue:text}`cnfa_rotations` rotated
# draws in {glue:text}`cnfa_null_beaten` of {glue:text}`cnfa_layers` layers.
# <a id="claim-offdiag"></a>Off the diagonal the
# picture is the same ({glue:text}`cnfa_corr_offdiag_mean:.3f` against
# {glue:text}`cnfa_corr_offdiag_rotated_mean:.3f`). So the headline correlation is mostly the shared
# factor $W$; the content of the ansatz is that large output gradients fall on the directions
# the filters already amplify, a margin of at most {glue:text}`cnfa_null_margin_max:.2f` here, not
# the correlation itself.

# %% [markdown]
# ## What the matrices do to an image
#
# A matrix $M$ on patches can be drawn as an image operator. Replace every pixel $(i,j)$ by
# $\|M^{1/2} x[i,j]\|$, the length of its patch after the transformation. With $M = W^\top W$,
# this is the length $\|W x[i,j]\|$ of the layer's response to the patch before the ReLU. The map
# is bright where a patch has a component in a direction that $M$ amplifies. There is no need to
# unfold: with $M = \sum_i \lambda_i u_i u_i^\top$,
# $\|M^{1/2}x[i,j]\|^2 = \sum_i \lambda_i (u_i * x)[i,j]^2$, a convolution with the eigenvectors
# as filters (`cnfa.patch_norm_map`). For deeper layers, $x$ is the layer's input,
# the output of the layers before it.
#
# The network was trained on $32\times 32$ images. Still, the convolutions apply to any image
# size, so we draw the maps on whole photographs at
# {glue:text}`cnfa_map_size` pixels.

# %%
mean, std = data.channel_stats(settings["dataset"])
photos = data.photographs(settings["map_size"], ("chelsea", "astronaut", "coffee"))
inputs = cnfa.layer_inputs(
    model, ((photos - mean[:, None, None]) / std[:, None, None]).to(device), [layers[0], layers[-1]]
)
glue("cnfa_map_size", settings["map_size"])
last_conv = max(i for i, v in enumerate(settings["config"]) if v != "M")
glue("cnfa_last_scale", 2 ** settings["config"][:last_conv].count("M"))  # poolings before it

fig, axes = plt.subplots(len(photos), 5, figsize=(11, 2.3 * len(photos)))
for row, photo in enumerate(photos):
    axes[row, 0].imshow(photo.permute(1, 2, 0).numpy())
    for col, (name, label) in enumerate([(layers[0], "first"), (layers[-1], "last")]):
        conv = trained_convs[name]
        for offset, (kind, matrix) in enumerate([("CNFM", cnfa.cnfm(conv)), ("AGOP", agop[name])]):
            heat = cnfa.patch_norm_map(inputs[name][row], matrix.to(device), conv).cpu()
            ax = axes[row, 1 + 2 * col + offset]
            ax.imshow(heat, cmap="magma")
            if row == 0:
                ax.set_title(f"{kind}, {label} conv")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle(r"$\|M^{1/2} x[i,j]\|$ on whole photographs", y=1.0)
fig.tight_layout()

# %% [markdown]
# In every panel, the CNFM and the AGOP pick out the same places.
# {glue:text}`cnfa_first_layer_look` The last layer reads the features of the layers below at
# 1/{glue:text}`cnfa_last_scale` of the resolution, so its map can only follow larger structures
# (in the `quick` profile, the cup's rim and the cat's eyes and nose).
#
# Three numbers back this up. First, how alike the CNFM and AGOP maps are: a pixel-wise
# correlation, averaged over the three photographs. Second, what the first layer measures: the
# share of its CNFM's trace that lies in the three *constant-colour* directions (a uniform patch
# of one colour channel). An isotropic matrix would put $3/27 = 11\,\%$ there. Third, whether
# the first layer acts as an edge detector, as the source finds for ImageNet networks: the
# correlation of its map with the magnitude of the image gradient (a Sobel filter on the gray
# image), next to the same correlation for $M = I$, the plain patch energy.


# %%
def pixel_corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def edges_of(photo):
    """Sobel gradient magnitude of a (3, H, W) photograph's luminance."""
    gray = torch.einsum("c,chw->hw", torch.tensor(data.LUMA), photo)
    return np.hypot(ndimage.sobel(gray.numpy(), 0), ndimage.sobel(gray.numpy(), 1))


edges = [edges_of(photo) for photo in photos]
stats = {"map_l1": [], "map_last": [], "edge_cnfm": [], "edge_identity": []}
for row in range(len(photos)):
    for name, key in [(layers[0], "map_l1"), (layers[-1], "map_last")]:
        conv, x = trained_convs[name], inputs[name][row]
        maps = [
            cnfa.patch_norm_map(x, m.to(device), conv).cpu() for m in (cnfa.cnfm(conv), agop[name])
        ]
        stats[key].append(pixel_corr(*maps))
        if key == "map_l1":
            identity = torch.eye(len(agop[name]), dtype=torch.float64).to(device)
            stats["edge_cnfm"].append(pixel_corr(maps[0], edges[row]))
            stats["edge_identity"].append(
                pixel_corr(cnfa.patch_norm_map(x, identity, conv).cpu(), edges[row])
            )
for key, values in stats.items():
    glue(f"cnfa_{key}_corr", float(np.mean(values)))

channels = trained_convs[first].in_channels
constant = torch.zeros(channels * 9, channels, dtype=torch.float64)
for c in range(channels):
    constant[9 * c : 9 * (c + 1), c] = 1 / 3  # unit vector: a uniform patch of colour c
shares = {
    kind: float(torch.trace(constant.T @ m @ constant) / torch.trace(m))
    for kind, m in [("CNFM", panels["trained CNFM"]), ("AGOP", agop[first])]
}
glue("cnfa_constant_share_cnfm", 100 * shares["CNFM"])
glue("cnfa_constant_share_agop", 100 * shares["AGOP"])
# the verdicts: colour if both shares reach 3 times the isotropic 3/27; edges if the map follows
# the Sobel magnitude (correlation 0.2 or more, and 0.1 above that of M = I)
colour = min(shares.values()) >= 3 * 3 / 27
edgy = bool(np.mean(stats["edge_cnfm"]) >= max(0.2, np.mean(stats["edge_identity"]) + 0.1))
look, note, word = {
    (True, False): (
        "The first layer lights up colours rather than edges: the astronaut's orange suit, the "
        "red saucer, the cat's orange fur.",
        "This small network learned to tell its classes apart by their colours, the easiest cue "
        f"at {h}×{h} pixels, and the AGOP predicts that choice as well as it would predict edge "
        "detectors.",
        "measures colour, not edges",
    ),
    (True, True): (
        "The first layer lights up uniform colours and edges alike.",
        "This network's first layer measures colour and edges alike, and the AGOP predicts both.",
        "measures colour and edges alike",
    ),
    (False, True): (
        "The first layer lights up edges rather than uniform colours.",
        "This network's first layer acts as an edge detector, as the source finds for ImageNet "
        "networks, and the AGOP predicts that too.",
        "acts as an edge detector",
    ),
    (False, False): (
        "The first layer lights up neither uniform colours nor edges in particular.",
        "This network's first layer measures neither uniform colour nor edges in particular, "
        "and the AGOP predicts what it does measure.",
        "measures neither uniform colour nor edges in particular",
    ),
}[colour, edgy]
glue("cnfa_edges_word", "follows" if edgy else "does not follow")
glue("cnfa_first_layer_look", look)
glue("cnfa_first_layer_note", note)
glue("cnfa_first_layer_word", word)
pd.Series(
    {
        **{key: np.mean(v) for key, v in stats.items()},
        **{f"constant-colour share, {k}": v for k, v in shares.items()},
    }
).round(3).to_frame()

# %% [markdown]
# <a id="claim-maps-alike"></a>
# The CNFM and AGOP maps correlate pixel by pixel at {glue:text}`cnfa_map_l1_corr:.2f` in the
# first layer and {glue:text}`cnfa_map_last_corr:.2f` in the last.
# <a id="claim-colour-not-edges"></a>The first layer puts
# {glue:text}`cnfa_constant_share_cnfm:.0f` % of its filter energy into constant-colour
# directions (its AGOP: {glue:text}`cnfa_constant_share_agop:.0f` %), and its map
# {glue:text}`cnfa_edges_word` edges: its correlation with the Sobel magnitude is
# {glue:text}`cnfa_edge_cnfm_corr:.2f` ({glue:text}`cnfa_edge_identity_corr:.2f` for $M = I$).
# {glue:text}`cnfa_first_layer_note` The edge detectors of the source come from networks trained
# on ImageNet; the `full` profile below draws the same maps for VGG-11.
#
# ## The one case where the ansatz is a theorem
#
# The source proves the ansatz exactly in one case: **one step** of full-batch gradient descent
# on the mean squared loss, starting from $W = 0$, for any $f(x) = g(Wx[1,1], \dots, Wx[P,Q])$
# with $g(0) = 0$ and the same non-zero gradient $\partial g(0)/\partial z_{ij} = \gamma$ at every
# position. The proof is short. At $W = 0$ the network outputs 0, so the gradient step is
#
# $$W^{(1)} = \eta \sum_{p=1}^n y_p \sum_{(i,j)} \gamma\, x_p[i,j]^\top = \eta\, \gamma\, s^\top,
#   \qquad s = \sum_p y_p \sum_{(i,j)} x_p[i,j],$$
#
# a rank-one matrix: every filter is a multiple of the label-weighted sum of patches $s$. Hence
# $W^{(1)\top}W^{(1)} \propto s s^\top$, and since every patch gradient is
# $W^{(1)\top} g[i,j] \propto s$, the AGOP is $\propto s s^\top$ too.
#
# We check it numerically. `cnfa.one_step_network` builds conv ($W = 0$) → tanh → $1\times 1$
# conv → tanh → linear readout. With *constant* weights after $W$, the gradient at the conv
# output is the same at every position, as the theorem assumes. We train $W$ alone for one step,
# on the training images of two classes ({glue:text}`cnfa_two_classes`) with targets $\pm 1$. To
# see which assumptions matter, we also break
# them one at a time: *random* weights after $W$ (each position gets its own gradient), and a
# small random start $W^{(0)} \sim \mathcal{N}(0, 10^{-4})$ instead of zero. How much each
# matters depends on the step size $\eta$ (a larger step lets the update outweigh a random
# start), so we take two.

# %%
STEPS = (0.1, 1.0)
two = train_set.subset(torch.nonzero(train_set.y < 2).squeeze(1))
x2, y2 = two.x.double().to(device), (2.0 * two.y - 1).double().to(device)
theorem = []
for downstream, start_std, lr in itertools.product(("constant", "random"), (0.0, 1e-2), STEPS):
    small = cnfa.one_step_network(
        two.image_shape[0],
        two.image_shape[1],
        width=16,
        downstream=downstream,
        generator=torch.Generator().manual_seed(SEED),
    )
    with torch.no_grad():
        small[0].weight.normal_(0.0, start_std, generator=torch.Generator().manual_seed(SEED))
    small = small.double().to(device)
    cnfa.gradient_step(small, small[0], x2, y2, lr=lr)
    w1 = cnfa.cnfm(small[0])
    theorem.append(
        {
            "weights after W": downstream,
            "start W(0)": "zero" if start_std == 0 else f"N(0, {start_std}²)",
            "step η": lr,
            "Pearson(CNFM, AGOP)": linalg.matrix_correlation(w1, cnfa.patch_agop(small, x2)["0"]),
            "rank of W(1)": int(torch.linalg.matrix_rank(w1)),
        }
    )
theorem = pd.DataFrame(theorem).set_index(["weights after W", "start W(0)", "step η"]).sort_index()
corr_of = theorem["Pearson(CNFM, AGOP)"]
zero, noisy = "zero", "N(0, 0.01²)"
glue("cnfa_steps", list(STEPS))
glue("cnfa_two_classes", " and ".join(train_set.classes[:2]))
glue("cnfa_theorem1_corr", corr_of["constant", zero, STEPS[0]])
glue("cnfa_theorem1_corr_worst", corr_of.xs(zero, level="start W(0)").xs("constant").min())
glue("cnfa_theorem1_rank", int(theorem["rank of W(1)"]["constant", zero].max()))
for lr, key in zip(STEPS, ("small", "large")):
    glue(f"cnfa_theorem1_random_start_corr_{key}", corr_of["constant", noisy, lr])
    glue(f"cnfa_theorem1_random_downstream_corr_{key}", corr_of["random", zero, lr])
theorem

# %% [markdown]
# <a id="claim-theorem1"></a>
# Under the theorem's assumptions the correlation is 1 up to rounding at both step sizes (at
# worst {glue:text}`cnfa_theorem1_corr_worst:.6f`), and $W^{(1)}$ has rank
# {glue:text}`cnfa_theorem1_rank`.
# <a id="claim-random-downstream"></a>Random weights after $W$ give every position its own gradient,
# and $W^{(1)}$ gains rank; the correlation is {glue:text}`cnfa_theorem1_random_downstream_corr_small:.3f`
# at $\eta = 0.1$ and {glue:text}`cnfa_theorem1_random_downstream_corr_large:.3f` at $\eta = 1$.
# It can stay high where the images are alike at every position (as the crops of one photograph
# of the `quick` profile are): the per-position gradients then still add up to nearly one
# direction; on images whose patches differ from place to place it need not.
# <a id="claim-random-start"></a>
# From a small random start, one step leaves the random part of $W$ in place:
# the correlation is {glue:text}`cnfa_theorem1_random_start_corr_small:.3f` at $\eta = 0.1$ and
# {glue:text}`cnfa_theorem1_random_start_corr_large:.3f` at $\eta = 1$, where the update
# outweighs the start. Which assumption "matters more" is therefore a matter of step size and
# data, not a property of the ansatz. The trained CNN above satisfies none of the
# theorem's assumptions: it starts small but random, takes many Adam steps, and uses ReLU and
# pooling. Its high correlations are not a consequence of the theorem; as the null above showed,
# only their margin over a rotated $G$ is evidence of the ansatz.

# %% [markdown]
# ## ImageNet classifiers (`full` profile)
#
# The source's strongest evidence comes from large networks trained on ImageNet: AlexNet,
# VGG and ResNets, with batch normalization, skip connections and data augmentation, none of which
# the ansatz models. With `PROFILE = "full"`, the next cell downloads torchvision's pretrained
# AlexNet, VGG-11 and ResNet-18 and repeats the layer-by-layer comparison. The AGOP sums over all
# 1000 class scores, averaged over the ten bundled photographs at $224\times 224$. For ResNets it
# uses the first convolution of each residual block, as the source does. The same architecture
# at its random initialization gives the initial CNFM and the null this chapter found to matter:
# the ansatz already holds at initialization, where $G$ is nearly isotropic, so the trained
# correlation means something only where it clears the untrained network's (gray bars). On a GPU
# it takes a few minutes; in the `quick` profile it is skipped, because the weights must be
# downloaded.

# %%
if settings["pretrained"]:
    imagenet = (
        (data.photographs(224) - torch.tensor(models.IMAGENET_MEAN)[:, None, None])
        / torch.tensor(models.IMAGENET_STD)[:, None, None]
    ).to(device)
    pretrained_rows, measured = [], {}
    imagenet_outputs = settings["imagenet_outputs"]  # class scores summed in the AGOP
    for arch in settings["pretrained"]:
        torch.manual_seed(SEED)
        big = models.pretrained(arch).to(device)
        untrained = models.pretrained(arch, trained=False).to(device)
        names = cnfa.block_entry_convs(big)
        agop_of = partial(cnfa.patch_agop, images=imagenet, layers=names, device=device,
                          outputs=range(imagenet_outputs), batch_size=5)  # fmt: skip
        measured[arch] = big, agop_of(big)
        initial_agop, fresh = agop_of(untrained), models.conv_layers(untrained)
        for i, name in enumerate(names, start=1):
            m = cnfa.cnfm(models.conv_layers(big)[name])
            pretrained_rows += [
                {
                    "model": arch,
                    "layer": i,
                    "comparison": "trained CNFM vs AGOP",
                    "Pearson": linalg.matrix_correlation(m, measured[arch][1][name]),
                },
                {
                    "model": arch,
                    "layer": i,
                    "comparison": "initial CNFM vs AGOP (the null)",
                    "Pearson": linalg.matrix_correlation(
                        cnfa.cnfm(fresh[name]), initial_agop[name]
                    ),
                },
                {
                    "model": arch,
                    "layer": i,
                    "comparison": "initial vs trained CNFM",
                    "Pearson": linalg.matrix_correlation(cnfa.cnfm(fresh[name]), m),
                },
            ]
    pretrained_corr = pd.DataFrame(pretrained_rows)
    grid = sns.catplot(
        pretrained_corr,
        x="layer",
        y="Pearson",
        hue="comparison",
        col="model",
        kind="bar",
        sharex=False,
        height=3,
        aspect=1.3,
        palette=["tab:green", "tab:gray", "tab:red"],
    )
    grid.set(ylim=(0, 1.05))
    print(pretrained_corr.groupby(["model", "comparison"]).Pearson.mean().round(3))
else:
    print("PROFILE='quick': the ImageNet models are skipped (their weights must be downloaded).")

# %% [markdown]
# With `PROFILE = "full"`, the next cell draws the maps of VGG-11's first and fifth convolutions
# on two photographs, as in the source's Figure 2, and correlates the first layer's map with
# the Sobel edge magnitude, as above.

# %%
if settings["pretrained"]:
    vgg, vgg_agop = measured["vgg11"]
    vgg_convs = models.conv_layers(vgg)
    shown = [list(vgg_agop)[0], list(vgg_agop)[4]]
    vgg_inputs = cnfa.layer_inputs(vgg, imagenet[[3, 0]], shown)
    fig, axes = plt.subplots(2, 5, figsize=(11, 4.6))
    for row, index in enumerate([3, 0]):
        axes[row, 0].imshow(data.photographs(224)[index].permute(1, 2, 0).numpy())
        for col, name in enumerate(shown):
            for offset, (kind, matrix) in enumerate(
                [("CNFM", cnfa.cnfm(vgg_convs[name])), ("AGOP", vgg_agop[name])]
            ):
                heat = cnfa.patch_norm_map(
                    vgg_inputs[name][row], matrix.to(device), vgg_convs[name]
                ).cpu()
                axes[row, 1 + 2 * col + offset].imshow(heat, cmap="magma")
                axes[0, 1 + 2 * col + offset].set_title(f"{kind}, {name}")
                if col == 0 and offset == 0:
                    print(
                        f"VGG-11 first layer vs Sobel edges, photo {index}: "
                        f"{pixel_corr(heat, edges_of(data.photographs(224)[index])):.2f}"
                    )
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()

# %% [markdown]
# ## What we learned
#
# - The CNFM $W^\top W$ of a conv layer says which patch directions the layer amplifies; the
#   patch-AGOP says which patch directions change the network's outputs most.
# - The patch-AGOP equals $W^\top G W$, with $G$ the covariance of the gradients at the layer's
#   output: one backward pass per output, no unfolding.
# - In a trained CNN, the two matrices correlate strongly in every layer, although training moved
#   the filters far from their initialization, and the images they transform look alike. Here
#   the first layer {glue:text}`cnfa_first_layer_word`.
# - Most of that correlation is the shared factor $W$: with $G$'s eigenvectors randomized it is
#   already {glue:text}`cnfa_corr_rotated_g_mean:.2f`, and with the initial network's nearly
#   isotropic $G$ it is {glue:text}`cnfa_corr_initial_g_mean:.2f`. What the trained gradients add
#   is their alignment with the filters, {glue:text}`cnfa_null_margin_min:.2f` to
#   {glue:text}`cnfa_null_margin_max:.2f` above the rotated null.
# - At initialization the two matrices also agree, trivially: the output gradients are nearly
#   isotropic, so $W^\top G W \approx c\,W^\top W$ for any $W$.
# - One gradient step from $W = 0$ makes the ansatz exact, with a rank-one $W$; how far it
#   survives a random start or position-dependent gradients depends on the step size and data.
#
# ## Exercises
#
# **1. Average pooling.** The source reports that max pooling gives higher correlations than
# average pooling. Train the same network with `models.vgg(..., pool="avg")` and compare the
# trained CNFM–AGOP correlations.

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: one Pearson correlation per conv layer of the average-pooling network
average = {**arguments, "pool": "avg"}
avg_net = trained(
    "cnfa_cnn_avg",
    models.vgg,
    average,
    train_set,
    test_set,
    seed=SEED,
    device=device,
    **setups.fit_arguments(settings),
).model
avg_agop = cnfa.patch_agop(avg_net, agop_set, device=device)
for name, conv in models.conv_layers(avg_net).items():
    print(f"conv {name}: Pearson {linalg.matrix_correlation(cnfa.cnfm(conv), avg_agop[name]):.3f}")

# %% [markdown]
# **2. Which outputs matter?** The AGOP above sums over all ten class scores. Recompute the last
# layer's AGOP from the score of one class only (`outputs=[k]`). Does a single class already
# determine the filter covariance?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: one Pearson correlation per class, for the last layer
last = layers[-1]
m_last = cnfa.cnfm(trained_convs[last])
for k in range(3):
    one = cnfa.patch_agop(model, agop_set, [last], outputs=[k], device=device)[last]
    print(f"class {train_set.classes[k]!r}: Pearson {linalg.matrix_correlation(m_last, one):.3f}")
# If a single class already gives a matrix that correlates with the CNFM, the classes share the
# dominant gradient directions. Compare with the sum over all classes in the table above.

# %% [markdown]
# **3. How isotropic is G?** The AGOP $W^\top G W$ equals the CNFM when $G \propto I$. Compare
# the eigenvalue spread of $G$ (`cnfa.output_gradient_covariance`) for each trained layer with
# its spread at initialization.


# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: per layer, the largest / median eigenvalue of G at initialization and trained
def spread(g):
    eigenvalues = torch.linalg.eigvalsh(g)
    return float(eigenvalues[-1] / eigenvalues.median())


g_trained = cnfa.output_gradient_covariance(model, agop_set.x[:200], device=device)
g_initial = cnfa.output_gradient_covariance(initial, agop_set.x[:200], device=device)
for name in layers:
    print(
        f"conv {name}: largest / median eigenvalue of G: {spread(g_initial[name]):.1f} at "
        f"initialization, {spread(g_trained[name]):.1f} after training"
    )
# Where the spread is near 1, G is close to isotropic and W^T G W close to W^T W: agreement for
# free. Where training spreads G, the agreement comes from the gradients concentrating on the
# directions W uses most.

# %% [markdown]
# ## References
#
# - The Convolutional Neural Feature Ansatz: {footcite:t}`beaglehole2023cnfa`.
# - The Neural Feature Ansatz of fully connected networks and RFM: {footcite:t}`radhakrishnan2024rfm`.
#
# ```{footbibliography}
# ```
