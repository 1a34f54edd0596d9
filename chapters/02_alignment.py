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
# # Alignment: do two networks learn the same thing?
#
# Train the same architecture twice from two random seeds. The two networks reach the same
# accuracy, but their neurons are numbered and mixed arbitrarily: neuron 17 of one has no reason
# to match neuron 17 of the other. In this chapter we find the rotation that best maps one
# representation onto the other, measure how much of the representation it explains on held-out
# images, and use it to compare the two networks' principal directions, of activations and of
# weights. We also compute linear CKA, a popular similarity that needs no alignment, and say
# what each measure is blind to.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/02_alignment.ipynb)

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
PROFILE = "quick"  # "quick": offline MNIST digits, CPU; "full": grayscale CIFAR-10
SEED = 0  # seed of the first network; the second uses SEED + 1
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
TOP = 30  # how many leading eigenvectors the comparison maps show

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from deepinside import alignment as al
from deepinside import covariance as cov
from deepinside import linalg, models, plotting, runtime, setups
from deepinside.notebook import glue, glue_all, show_source

plotting.setup()
session = runtime.start(PROFILE, SEED, DEVICE, setups.PART1)
runtime.check_knobs(TOP=TOP)
settings, device = session.settings, session.device
train_set, test_set = setups.part1_data(settings)
first = setups.part1_networks(settings, train_set, test_set, seed=SEED, device=device)
second = setups.part1_networks(settings, train_set, test_set, seed=SEED + 1, device=device)
for name in first:
    print(
        f"{name.upper()}: seed {SEED} {first[name].test_accuracy:.1f} %, "
        f"seed {SEED + 1} {second[name].test_accuracy:.1f} % test accuracy"
    )

# %% [markdown]
# These are the networks of the previous chapter (loaded from the cache) and a second copy of
# each, trained from another seed on the same data.
#
# ## The best rotation between two representations
#
# Let $\varphi(x) \in \mathbb{R}^{d}$ and $\psi(x) \in \mathbb{R}^{d}$ be the representations of
# the same input at the same layer of the two networks. We look for the orthogonal matrix $A$
# that maps one onto the other as well as possible:
#
# $$ \min_{A^\top A = I}\; \mathbb{E}_x \|A\varphi(x) - \psi(x)\|^2. $$ (eq-alignment)
#
# Orthogonality keeps the geometry of the representation: $A$ may only rotate (or reflect) it,
# not stretch it. Expanding the square, $\|A\varphi\|^2 = \|\varphi\|^2$, so the objective is
# $\mathbb{E}\|\varphi\|^2 + \mathbb{E}\|\psi\|^2 - 2\,\mathrm{tr}\big(A\,\mathbb{E}[\varphi\psi^\top]\big)$
# and we must maximize $\mathrm{tr}(A\,\Sigma^\top)$ where $\Sigma = \mathbb{E}[\psi\varphi^\top]$ is
# the (uncentered) cross-covariance. With its singular value decomposition
# $\Sigma = U S V^\top$, $\mathrm{tr}(A V S U^\top) = \mathrm{tr}(S\, U^\top A V)$, and
# $U^\top A V$ is orthogonal, so its diagonal entries are at most 1: the maximum $\mathrm{tr}\,S$
# is reached by
#
# $$ A = U V^\top. $$
#
# The residual is then $\mathbb{E}\|\varphi\|^2 + \mathbb{E}\|\psi\|^2 - 2\,\mathrm{tr}\,S$, and
# following the source we normalize the explained part as
#
# $$ r^2 = \frac{\mathrm{tr}\,S}{\sqrt{\mathbb{E}\|\varphi\|^2\;\mathbb{E}\|\psi\|^2}}, $$ (eq-aligned-r2)
#
# a cosine similarity between the aligned representations: at most 1 (Cauchy–Schwarz), and 1
# exactly when $\psi = cA\varphi$ for some $c > 0$. When the two energies are equal, $1 - r^2$ is
# the residual divided by the total energy; otherwise it is a lower bound on that share. The same formula {eq}`eq-aligned-r2` with any other orthogonal $A$,
# $r^2(A) = \mathrm{tr}(A\,\mathbb{E}[\varphi\psi^\top]) / \sqrt{\cdot}$, gives baselines: the
# identity (no alignment: neuron $i$ against neuron $i$) and a random rotation.
#
# $A$ is fitted on the training images. Like any fitted model it must be evaluated on images it
# has not seen, so we report $r^2$ on the held-out test split, and on the training split for
# comparison. (The source tutorial reports 92.2 % and 87.5 % for its two MLP layers on grayscale
# CIFAR-10, computed on the training images, and notes itself that a held-out set is the right
# choice.) We write $\Sigma = \mathbb{E}[\psi\varphi^\top]$, so that $A$ maps the first network's
# coordinates to the second's; the source's code computes the transposed matrix, which only swaps
# the roles of $U$ and $V$. For convolutional layers, channels are aligned and spatial positions are samples.

# %% [markdown]
# In code, from the package itself:

# %% tags=["hide-input"]
# @title The code of `al.orthogonal_alignment`
show_source(al.orthogonal_alignment)

# %%
def layer_statistics(net_a, net_b, images, centered=False):
    """Per hidden layer: E[ψ φᵀ] (b against a) and the energies E‖φ‖², E‖ψ‖² on ``images``."""
    layers = models.hidden_layers(net_a)
    options = {"centered": centered, "device": device}
    cross = cov.activation_covariances(net_b, images, layers, other=net_a, **options)
    own_a = cov.activation_covariances(net_a, images, layers, **options)
    own_b = cov.activation_covariances(net_b, images, layers, **options)
    return [
        {"cross": c, "cov_a": a, "cov_b": b, "energy_a": a.trace().item(), "energy_b": b.trace().item()}
        for c, a, b in zip(cross, own_a, own_b)
    ]


# The pair of interest and its controls: the same two architectures before training, and a
# trained network against an untrained one.
pairs = {
    name: {
        "trained": (first[name].model, second[name].model),
        "untrained": (first[name].initial, second[name].initial),
        "trained vs untrained": (first[name].model, second[name].initial),
    }
    for name in first
}
splits = {"train": train_set, "test": test_set}
stats = {
    (name, pair, split, centered): layer_statistics(a, b, images, centered)
    for name in first
    for pair, (a, b) in pairs[name].items()
    for split, images in splits.items()
    for centered in (False, True)
}
aligns = {  # fitted on the training images
    key[:2] + key[3:]: [al.orthogonal_alignment(s["cross"]) for s in layers]
    for key, layers in stats.items()
    if key[2] == "train"
}
rng = torch.Generator().manual_seed(SEED)

rows = []
for (name, pair, split, centered), layers in stats.items():
    for k, s in enumerate(layers, start=1):
        align = aligns[name, pair, centered][k - 1]
        methods = {"aligned": align}
        if pair == "trained":
            methods["identity"] = torch.eye(*align.shape, dtype=align.dtype)
            methods["random rotation"] = al.random_orthogonal(*align.shape, rng)
        for method, matrix in methods.items():
            rows.append(
                {
                    "network": name.upper(),
                    "pair": pair,
                    "layer": k,
                    "split": split,
                    "centered": centered,
                    "method": method,
                    "r2": al.r2(matrix, s["cross"], s["energy_a"], s["energy_b"]),
                }
            )
r2_table = pd.DataFrame(rows)


def r2_of(name, k, pair="trained", split="test", method="aligned", centered=False):
    """One r² of the table."""
    row = r2_table.query(
        "network == @name and layer == @k and pair == @pair and split == @split"
        " and method == @method and centered == @centered"
    )
    return row.r2.item()


fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharey=True)
bars = [
    ("trained", "aligned"),
    ("untrained", "aligned"),
    ("trained vs untrained", "aligned"),
    ("trained", "identity"),
    ("trained", "random rotation"),
]
for row, centered in enumerate((False, True)):
    for ax, name in zip(axes[row], ["MLP", "CNN"]):
        table = pd.DataFrame(
            {
                f"{pair}, {method}": [r2_of(name, k, pair, "test", method, centered) for k in (1, 2)]
                for pair, method in bars
            },
            index=[1, 2],
        )
        table.plot.bar(ax=ax, rot=0, legend=row == 0 and name == "CNN")
        kind = "centered" if centered else "uncentered"
        ax.set(title=f"{name}: {kind} r², held-out images", ylabel="r²", xlabel="hidden layer")
        ax.axhline(0, color="k", lw=0.8)
axes[0, 1].legend(fontsize="small", loc="lower left", bbox_to_anchor=(1.02, 0))
fig.tight_layout()

for name in ("mlp", "cnn"):
    net = name.upper()
    glue_all(
        f"align_{name}",
        r2_l1_test=r2_of(net, 1),
        r2_l2_test=r2_of(net, 2),
        cr2_l1_test=r2_of(net, 1, centered=True),
        cr2_l2_test=r2_of(net, 2, centered=True),
        untrained_r2_l1_test=r2_of(net, 1, "untrained"),
        untrained_r2_l2_test=r2_of(net, 2, "untrained"),
        untrained_cr2_l1_test=r2_of(net, 1, "untrained", centered=True),
        untrained_cr2_l2_test=r2_of(net, 2, "untrained", centered=True),
    )
for name in ("mlp", "cnn"):
    for k in (1, 2):
        unexplained = (1 - r2_of(name.upper(), k, "untrained")) / (1 - r2_of(name.upper(), k))
        glue(f"align_{name}_unexplained_ratio_l{k}", unexplained)
glue_all(
    "align_mlp",
    r2_l1_train=r2_of("MLP", 1, split="train"),
    r2_l1_identity=r2_of("MLP", 1, method="identity"),
    r2_l2_identity=r2_of("MLP", 2, method="identity"),
    cr2_l1_identity=r2_of("MLP", 1, method="identity", centered=True),
    r2_l1_random=r2_of("MLP", 1, method="random rotation"),
)
glue("align_untrained_r2_l1_test", r2_of("MLP", 1, "untrained"))
glue("align_untrained_r2_l2_test", r2_of("MLP", 2, "untrained"))
glue("align_trained_untrained_r2_l1_test", r2_of("MLP", 1, "trained vs untrained"))
trained_aligned = r2_table.query("pair == 'trained' and method == 'aligned'")
by_split = trained_aligned.pivot_table(
    index=["network", "layer", "centered"], columns="split", values="r2"
)
glue("align_max_overfit_gap", (by_split.train - by_split.test).abs().max())
glue("align_mlp_widest", max(len(s["cov_a"]) for s in stats["mlp", "trained", "train", False]))
glue("align_train_images", len(train_set))
r2_table.query("split == 'test'").pivot_table(
    index=["network", "layer", "pair", "method"], columns="centered", values="r2"
).round(3)

# %% [markdown]
# <a id="claim-aligned-r2"></a>
# On held-out images the rotation fitted on the training images explains
# {glue:text}`align_mlp_r2_l1_test:.3f` of the first hidden layer of the MLP and
# {glue:text}`align_mlp_r2_l2_test:.3f` of the second (CNN: {glue:text}`align_cnn_r2_l1_test:.3f`
# and {glue:text}`align_cnn_r2_l2_test:.3f`). Without alignment, matching neuron $i$ with neuron
# $i$, the same measure is only {glue:text}`align_mlp_r2_l1_identity:.3f`, and a random rotation
# gives {glue:text}`align_mlp_r2_l1_random:.3f`.
# <a id="claim-identity-mean"></a>The identity baseline is not zero because ReLU
# outputs are non-negative: both representations share a large mean direction. Centered, it drops
# to {glue:text}`align_mlp_cr2_l1_identity:.3f`.
#
# High aligned $r^2$ alone does not show that the two networks *learned* the same thing. The
# controls (second and third bars) measure what architecture and data give without learning.
# <a id="claim-untrained-control"></a>Two **untrained** networks, aligned the same way, already
# reach {glue:text}`align_untrained_r2_l1_test:.3f` and
# {glue:text}`align_untrained_r2_l2_test:.3f` in the MLP's two layers (CNN:
# {glue:text}`align_cnn_untrained_r2_l1_test:.3f` and
# {glue:text}`align_cnn_untrained_r2_l2_test:.3f`), and a trained network against an untrained
# one {glue:text}`align_trained_untrained_r2_l1_test:.3f` in the first layer: two random ReLU
# layers fed the same images are already close to rotations of each other.
# <a id="claim-unexplained"></a>Learning shows in what is left unexplained: $1 - r^2$ is
# {glue:text}`align_mlp_unexplained_ratio_l1:.1f` times larger for the untrained pair than for
# the trained one in the MLP's first layer and {glue:text}`align_mlp_unexplained_ratio_l2:.1f`
# times in its second (CNN: {glue:text}`align_cnn_unexplained_ratio_l1:.1f` and
# {glue:text}`align_cnn_unexplained_ratio_l2:.1f`).
# <a id="claim-centered"></a>Centering removes the shared mean direction
# and lowers every value (bottom row): the centered $r^2$ of the trained MLPs is
# {glue:text}`align_mlp_cr2_l1_test:.3f` and {glue:text}`align_mlp_cr2_l2_test:.3f`, against
# {glue:text}`align_mlp_untrained_cr2_l1_test:.3f` and
# {glue:text}`align_mlp_untrained_cr2_l2_test:.3f` for the untrained pair.
#
# <a id="claim-no-overfit"></a>
# On the training images the aligned values are almost the same as on the test images: the
# largest difference, over both networks, both layers and both centerings, is
# {glue:text}`align_max_overfit_gap:.3f`. With {glue:text}`align_mlp_widest` channels at most and
# {glue:text}`align_train_images` training images (and,
# for convolutions, many positions per image), the rotation does not overfit here; Exercise 2
# shows what happens with 50 images.
#
# ## Comparing principal directions
#
# Alignment lets us compare the two networks' eigenvectors. If $u$ is an eigenvector of the
# first network's activation covariance and $v$ one of the second's, $A u$ lives in the
# coordinates of the second network, so we compare it with $v$ through $|\langle Au, v\rangle|$
# (eigenvectors are defined up to sign). For all pairs of leading eigenvectors this is the matrix
# $|E_2\, A\, E_1^\top|$, eigenvectors as rows. A large diagonal means the two networks found the
# same principal directions in the same order. Without alignment we compare $|E_2 E_1^\top|$.


# %%
def eigen_match(e1, e2, align):
    """|E₂ A E₁ᵀ| restricted to the leading TOP eigenvectors, and the mean of its diagonal."""
    top = min(TOP, e1.shape[0], e2.shape[0])
    m = (e2[:top] @ align @ e1[:top].T).abs()
    return m, m.diagonal()[:10].mean().item()


def show_matches(title, maps):
    """Heat maps of eigenvector matches: one column per (label, matrix) pair."""
    fig, axes = plt.subplots(1, len(maps), figsize=(3.3 * len(maps), 3.3))
    for ax, (label, m) in zip(axes, maps):
        image = ax.imshow(m.numpy(), cmap="cividis", vmin=0, vmax=1)
        ax.set(title=label, xlabel="rank, network 1")
    axes[0].set_ylabel("rank, network 2")
    fig.colorbar(image, ax=axes, shrink=0.8)
    fig.suptitle(title, y=1.02)


diag, act_maps = {}, []
for pair in ("trained", "untrained"):
    train_stats = stats["mlp", pair, "train", False]
    for k, (align, s) in enumerate(zip(aligns["mlp", pair, False], train_stats), start=1):
        _, e1 = linalg.eigh_desc(s["cov_a"])
        _, e2 = linalg.eigh_desc(s["cov_b"])
        m, diag["act", pair, k] = eigen_match(e1, e2, align)
        act_maps.append((f"{pair}, layer {k}", m))
        if pair == "trained" and k == 1:
            identity = torch.eye(*align.shape, dtype=align.dtype)
            m0, diag["act", "not aligned", k] = eigen_match(e1, e2, identity)
            act_maps.append(("trained, layer 1,\nnot aligned", m0))
show_matches("MLP activation eigenvectors, |E₂ A E₁ᵀ|", act_maps)

glue("align_mlp_act_diag_l1", diag["act", "trained", 1])
glue("align_mlp_act_diag_l1_identity", diag["act", "not aligned", 1])
glue("align_untrained_eig_match", diag["act", "untrained", 1]);
# %% [markdown]
# <a id="claim-activation-eigenvectors"></a>
# After alignment the leading activation eigenvectors of the trained networks match one to one:
# the mean of the first ten diagonal entries is {glue:text}`align_mlp_act_diag_l1:.2f` in the
# first layer, against {glue:text}`align_mlp_act_diag_l1_identity:.2f` without alignment and
# {glue:text}`align_untrained_eig_match:.2f` for two untrained networks aligned the same way.
# Further down the spectrum, where eigenvalues are close to each other, eigenvectors can swap or
# mix within near-degenerate groups and the diagonal blurs.
#
# The weights can be compared the same way. A weight eigenvector $u$ of the first network's
# second layer acts on $\varphi$ by $\langle u, \varphi\rangle = \langle Au, A\varphi\rangle
# \approx \langle Au, \psi\rangle$: again we compare $Au$ with the second network's weight
# eigenvector $v$, where $A$ is now the alignment of the layer's *input*. The first layer reads
# pixels, the same coordinates for both networks, so it needs no alignment at all.
#
# Beyond single eigenvectors, [Chapter 1](01_dimensionality.ipynb) counted the eigenvalues beyond the Marchenko–Pastur bulk,
# the learned directions. Are those *subspaces* shared? For the top $k$ eigenvectors $V_1, V_2$
# (as rows) of the two networks, with $k$ the first network's count beyond the bulk, the mean
# squared cosine of the principal angles between the two subspaces is
# $\|V_2 A V_1^\top\|_F^2 / k$: 1 for the same subspace in any basis (so swaps within
# near-degenerate groups do not matter), and $k/d$ on average for random subspaces of
# dimension $k$ in $\mathbb{R}^d$.

# %% [markdown]
# In code, from the package itself:

# %% tags=["hide-input"]
# @title The code of `al.subspace_overlap`
show_source(al.subspace_overlap)


# %%
def weight_comparison(pair, k, index):
    """Leading-diagonal match and top-k subspace overlap of layer ``index``'s weight eigenvectors."""
    net_a, net_b = pairs["mlp"][pair]
    _, v1 = cov.weight_spectrum(net_a[index])
    _, v2 = cov.weight_spectrum(net_b[index])
    identity = torch.eye(v1.shape[1], dtype=v1.dtype)
    align = identity if k == 1 else aligns["mlp", pair, False][k - 2]
    trained = first["mlp"]
    variance = float((cov.weight_matrix(trained.initial[index]) ** 2).mean())
    values = cov.weight_spectrum(trained.model[index])[0]
    learned = cov.count_outside_bulk(values, v1.shape[1] / len(values), variance)
    m, leading = eigen_match(v1, v2, align)
    top = max(learned, 1)  # the overlap of at least the leading direction
    return m, {
        "pair": pair,
        "layer": k,
        "leading diagonal": leading,
        "not aligned": eigen_match(v1, v2, identity)[1],
        "k (beyond the bulk)": learned,
        "subspace overlap": al.subspace_overlap(v1[:top] @ align.T, v2[:top]),
        "chance k/d": top / v1.shape[1],
    }


weight_maps, weight_rows = [], []
for pair in ("trained", "untrained"):
    for k, index in enumerate(models.weight_layers(first["mlp"].model)[:-1], start=1):
        m, row = weight_comparison(pair, k, index)
        weight_maps.append((f"{pair}, layer {k},\n" + ("pixels" if k == 1 else "aligned"), m))
        weight_rows.append(row)
show_matches("MLP weight eigenvectors", weight_maps)
weight_table = pd.DataFrame(weight_rows).set_index(["pair", "layer"])

for k in (1, 2):
    trained, untrained = weight_table.loc[("trained", k)], weight_table.loc[("untrained", k)]
    glue(f"align_mlp_weight_diag_l{k}", trained["leading diagonal"])
    glue(f"align_untrained_weight_diag_l{k}", untrained["leading diagonal"])
    glue(f"align_mlp_weight_overlap_l{k}", trained["subspace overlap"])
    glue(f"align_untrained_weight_overlap_l{k}", untrained["subspace overlap"])
    glue(f"align_mlp_weight_k_l{k}", int(trained["k (beyond the bulk)"]))
    glue(f"align_weight_chance_l{k}", trained["chance k/d"])
glue("align_mlp_weight_diag_l2_identity", weight_table.loc[("trained", 2), "not aligned"])

# Input statistics as a control for the first layer: how much of each network's learned
# subspace is just the top principal components of the pixels, E[x xᵀ]?
pixels = train_set.x.flatten(1).double()
_, pixel_pcs = linalg.eigh_desc(pixels.T @ pixels / len(pixels))
k1 = int(weight_table.loc[("trained", 1), "k (beyond the bulk)"])
first_layer = models.weight_layers(first["mlp"].model)[0]
glue(
    "align_mlp_weight_pca_overlap_l1",
    np.mean(
        [
            al.subspace_overlap(cov.weight_spectrum(net.model[first_layer])[1][:k1], pixel_pcs[:k1])
            for net in (first["mlp"], second["mlp"])
        ]
    ),
)
weight_table.round(3)

# %% [markdown]
# Here the untrained pair is the decisive control.
# <a id="claim-weight-eigenvectors"></a>The leading first-layer weight eigenvectors of
# the trained networks are similar without any alignment (mean leading diagonal
# {glue:text}`align_mlp_weight_diag_l1:.2f`, against {glue:text}`align_untrained_weight_diag_l1:.2f`
# for two untrained networks), and so do the second layer's once its input is aligned
# ({glue:text}`align_mlp_weight_diag_l2:.2f`, against
# {glue:text}`align_mlp_weight_diag_l2_identity:.2f` without alignment and
# {glue:text}`align_untrained_weight_diag_l2:.2f` untrained).
# <a id="claim-shared-subspaces"></a>The learned subspaces are partly
# shared: the {glue:text}`align_mlp_weight_k_l1` directions beyond the bulk of the first layer
# have an overlap of {glue:text}`align_mlp_weight_overlap_l1:.2f` between the two seeds, and the
# {glue:text}`align_mlp_weight_k_l2` of the second layer
# {glue:text}`align_mlp_weight_overlap_l2:.2f` (1 would be the same subspace), against
# {glue:text}`align_untrained_weight_overlap_l1:.2f` and
# {glue:text}`align_untrained_weight_overlap_l2:.2f` for the same number of top directions of
# untrained networks (chance: {glue:text}`align_weight_chance_l1:.3f` and
# {glue:text}`align_weight_chance_l2:.3f`).
#
# Untrained networks are independent draws, so their overlap *must* be at chance; a stricter
# control asks whether the shared first-layer subspace is just the data's. Gradient steps on the
# first layer are combinations of input images, so both networks could simply have grown along
# the top principal components of the pixels.
# <a id="claim-pixel-pcs"></a>They partly did: each network's learned subspace
# overlaps the top {glue:text}`align_mlp_weight_k_l1` pixel principal components by
# {glue:text}`align_mlp_weight_pca_overlap_l1:.2f` on average, less than the
# {glue:text}`align_mlp_weight_overlap_l1:.2f` the two networks share with each other. So the
# learned directions beyond the Marchenko–Pastur bulk are shared by networks trained from
# different seeds, beyond what the input statistics alone explain, but far from completely.
#
# ## Linear CKA, and what each measure ignores
#
# Centered kernel alignment compares two representations without fitting anything. With the
# features $X \in \mathbb{R}^{N\times d_1}$ and $Y \in \mathbb{R}^{N \times d_2}$ of $N$ images,
# centered over the images,
#
# $$ \mathrm{CKA}(X, Y) = \frac{\|Y^\top X\|_F^2}{\|X^\top X\|_F\,\|Y^\top Y\|_F}. $$ (eq-cka)
#
# We compute it on the test images with each image's whole representation flattened (for the
# CNN, all channels at all positions), and compare with a network at initialization.


# %%
@torch.no_grad()
def features(net, layer, images):
    """Flattened representations of all ``images`` at ``net[layer]``, one row per image."""
    return torch.cat(
        [
            cov.representations(net, x.to(device), [layer])[0].flatten(1).cpu()
            for x, _ in images.loader(500)
        ]
    )


cka_rows = []
for name in first:
    for k, layer in enumerate(models.hidden_layers(first[name].model), start=1):
        x = features(first[name].model, layer, test_set)
        cka_rows.append(
            {
                "network": name.upper(),
                "layer": k,
                "other seed": al.linear_cka(x, features(second[name].model, layer, test_set)),
                "own initialization": al.linear_cka(
                    x, features(first[name].initial, layer, test_set)
                ),
                "two untrained": al.linear_cka(
                    features(first[name].initial, layer, test_set),
                    features(second[name].initial, layer, test_set),
                ),
            }
        )
cka = pd.DataFrame(cka_rows).set_index(["network", "layer"])
glue("align_mlp_cka_l1", cka.loc[("MLP", 1), "other seed"])
glue("align_mlp_cka_l1_untrained", cka.loc[("MLP", 1), "own initialization"])
glue("align_mlp_cka_l1_untrained_pair", cka.loc[("MLP", 1), "two untrained"])
cka.round(3)

# %% [markdown]
# <a id="claim-cka"></a>
# CKA between the two trained MLPs is {glue:text}`align_mlp_cka_l1:.3f` in the first layer,
# {glue:text}`align_mlp_cka_l1_untrained:.3f` between a trained network and its own
# initialization, and {glue:text}`align_mlp_cka_l1_untrained_pair:.3f` between two untrained
# networks. Like the uncentered $r^2$, CKA is high without any learning: it is dominated by the
# leading directions of the representations, and a random ReLU layer already keeps much of the
# input's dominant structure.
#
# ### Which measures see learning?
#
# Each measure, for the trained pair and for the untrained pair (MLP, held-out images for
# $r^2$ and CKA):
#

# %%
def pair_row(measure, trained, untrained):
    """One measure for the trained and the untrained pair."""
    return {"measure": measure, "trained pair": trained, "untrained pair": untrained}


separation = pd.DataFrame(
    [
        pair_row(f"r², layer {k}", r2_of("MLP", k), r2_of("MLP", k, "untrained"))
        for k in (1, 2)
    ]
    + [
        pair_row(
            f"centered r², layer {k}",
            r2_of("MLP", k, centered=True),
            r2_of("MLP", k, "untrained", centered=True),
        )
        for k in (1, 2)
    ]
    + [
        pair_row("linear CKA, layer 1", cka.loc[("MLP", 1), "other seed"], cka.loc[("MLP", 1), "two untrained"]),
        pair_row(
            "activation eigenvectors, layer 1", diag["act", "trained", 1], diag["act", "untrained", 1]
        ),
    ]
    + [
        pair_row(
            f"weight eigenvectors ({measure}), layer {k}",
            weight_table.loc[("trained", k), measure],
            weight_table.loc[("untrained", k), measure],
        )
        for measure in ("leading diagonal", "subspace overlap")
        for k in (1, 2)
    ]
).set_index("measure")
# For the similarities that are high without learning, the scale on which learning shows
similarity = separation.index.str.contains("r²|CKA")
separation.loc[similarity, "1 − value, untrained / trained"] = (
    1 - separation["untrained pair"][similarity]
) / (1 - separation["trained pair"][similarity])
separation.round(3)

# %% [markdown]
# <a id="claim-every-measure"></a>
# Every measure is higher for the trained pair. What differs is the baseline. The
# weight-eigenvector measures are near chance without learning, so a high value speaks of learned
# structure on its own. $r^2$ and CKA are high without any learning, so only their comparison with
# the untrained control does: a high value means nothing until one knows that two untrained
# networks score about as much. On those measures, the last column (how many times more is left
# unexplained by the untrained pair) is the scale on which learning shows. The two similarity
# measures also answer different questions:
#
# | | aligned $r^2$ | linear CKA |
# | --- | --- | --- |
# | fits a map | yes, an orthogonal $A$, on training images | no |
# | invariant to rotations of either representation | yes | yes |
# | invariant to isotropic scaling | yes | yes |
# | invariant to a shift (mean) | no: uncentered | yes: centered |
# | invariant to anisotropic scaling or any invertible map | no | no |
# | gives a correspondence between neurons or eigenvectors | yes, $A$ | no |
#
# The alignment matrix is what the next chapter needs: it lets us carry weights from one network
# into the coordinates of another.
#
# ## What we learned
#
# - Two networks trained from different seeds compute representations that are, to a large
#   extent, rotations of each other: the optimal rotation $A = UV^\top$ comes from the SVD of the
#   cross-covariance, and it explains most of the energy on held-out images ($r^2$ =
#   {glue:text}`align_mlp_r2_l1_test:.3f` in the MLP's first layer).
# - So do two *untrained* networks, nearly ({glue:text}`align_untrained_r2_l1_test:.3f`): a high
#   $r^2$ (or CKA, {glue:text}`align_mlp_cka_l1_untrained_pair:.3f` untrained) is what
#   architecture and data give. Every similarity must be read against that control.
# - Without alignment, neuron-by-neuron comparisons miss most of the correspondence ($r^2$ =
#   {glue:text}`align_mlp_r2_l1_identity:.3f`).
# - After alignment, the leading activation and weight eigenvectors of the two trained networks
#   match (weight eigenvectors of the second layer: {glue:text}`align_mlp_weight_diag_l2:.2f`,
#   against {glue:text}`align_untrained_weight_diag_l2:.2f` untrained), and the subspaces beyond
#   the Marchenko–Pastur bulk are partly shared ({glue:text}`align_mlp_weight_overlap_l2:.2f` in
#   the second layer, chance {glue:text}`align_weight_chance_l2:.3f`): these are the measures of
#   learning.
# - CKA needs no fitted map but gives no correspondence; it is centered, $r^2$ is not (centered,
#   the first layer's $r^2$ is {glue:text}`align_mlp_cr2_l1_test:.3f`).
#
# ## Exercises
#
# **1. A permuted copy.** Build a second MLP whose first layer is $P W_1$ for a random
# permutation matrix $P$ and whose second layer is $W_2 P^\top$. Why is it the same function
# (and why would a general rotation $Q$ not do)? What does the alignment find, and what $r^2$ do
# you expect without alignment?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: r² with and without the alignment, and whether the alignment found is P
# A permutation matrix commutes with the ReLU, a general rotation does not, so we use a random
# permutation: σ(P W₁ x) = P σ(W₁ x), and W₂ Pᵀ undoes it.
mlp_1, mlp_2 = first["mlp"].model, second["mlp"].model
perm_net = copy.deepcopy(mlp_1)
p = torch.eye(mlp_1[1].out_features)[torch.randperm(mlp_1[1].out_features, generator=rng)]
with torch.no_grad():
    perm_net[1].weight.copy_(p @ mlp_1[1].weight)
    perm_net[3].weight.copy_(mlp_1[3].weight @ p.T)
(s,) = layer_statistics(mlp_1, perm_net, test_set)[:1]
found = al.orthogonal_alignment(s["cross"])
identity = torch.eye(*found.shape, dtype=found.dtype)
print(f"aligned r² = {al.r2(found, s['cross'], s['energy_a'], s['energy_b']):.4f}")
print(f"identity r² = {al.r2(identity, s['cross'], s['energy_a'], s['energy_b']):.4f}")
print(f"the alignment is the permutation: {torch.allclose(found.float(), p, atol=1e-3)}")

# %% [markdown]
# **2. Overfitting the rotation.** Fit $A$ on only 50 training images and evaluate $r^2$ on the
# test images. How far does it fall?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: two r² values, on the 50 fitting images and on the test images
mlp_1, mlp_2 = first["mlp"].model, second["mlp"].model
few = train_set.subset(torch.arange(50))
s_few = layer_statistics(mlp_1, mlp_2, few)[0]
s_test = stats["mlp", "trained", "test", False][0]
a_few = al.orthogonal_alignment(s_few["cross"])
fit_r2 = al.r2(a_few, s_few["cross"], s_few["energy_a"], s_few["energy_b"])
test_r2 = al.r2(a_few, s_test["cross"], s_test["energy_a"], s_test["energy_b"])
print(f"r² on the 50 fitting images: {fit_r2:.3f}; on the test images: {test_r2:.3f}")
# With 50 images and 512 channels, the rotation has far more freedom than data: it fits the
# training images almost perfectly and generalizes worse.

# %% [markdown]
# ## References
#
# - Aligning networks by rotations of their activations: {footcite:t}`guth2023rainbow`.
# - Centered kernel alignment (CKA): {footcite:t}`kornblith2019similarity`.
# - The orthogonal Procrustes problem: {footcite:t}`schonemann1966procrustes`.
#
# ```{footbibliography}
# ```
