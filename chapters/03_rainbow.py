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
# # Rainbow networks: generating networks from weight covariances
#
# The last two chapters showed that what a layer learns is concentrated in a few eigen-directions
# of its weight covariance, and that different seeds learn the same directions up to a rotation.
# Here is the boldest test of that picture: throw the trained weights away, keep only their
# covariances, and draw *new random weights* with those covariances. If the covariances hold what
# the network learned, the new network should classify well without a single step of training.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/deepinside/deepinside/blob/main/chapters/03_rainbow.ipynb)

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
SEED = 0  # seed of the reference networks and of the sampling
DEVICE = "auto"  # "auto", "cpu", "cuda" or "mps"
SAMPLES = 5  # generated networks per architecture and reference network
REFERENCES = 3  # reference networks per architecture, trained from SEED, SEED + 1, ...

# %%
import copy

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch
from scipy import stats

from deepinside import plotting, rainbow, runtime, setups
from deepinside.notebook import glue, glue_all, show_source
from deepinside.training import accuracy

plotting.setup()
session = runtime.start(PROFILE, SEED, DEVICE, setups.PART1)
runtime.check_knobs(SAMPLES=SAMPLES, REFERENCES=REFERENCES)
device = session.device
train_set, test_set = setups.part1_data(session.settings)
nets = setups.part1_networks(session.settings, train_set, test_set, seed=SEED, device=device)
chance = 100 / train_set.num_classes

# %% [markdown]
# ## Generating a network layer by layer
#
# Let $W_1$ be the trained first layer, with $n_1$ neurons. Its weight covariance is
# $C_1 = \frac{1}{n_1} W_1^\top W_1$. We draw each neuron of a new layer independently,
# $w'_i \sim \mathcal{N}(0, C_1)$. With the SVD $W_1 = U S V^\top$, this is $w'_i = g_i\,
# (S/\sqrt{n_1})\,V^\top$ with $g_i \sim \mathcal{N}(0, I)$, since then
# $\mathbb{E}[w_i'^\top w'_i] = V S^2 V^\top / n_1 = C_1$. (Note the $1/n_1$: the source tutorial's
# code draws from $W_1^\top W_1$, although its text states $\frac{1}{n_1} W_1^\top W_1$. That
# scales every weight by $\sqrt{n_1}$; it happens to give the same
# predictions here only because the networks have no biases and the ReLU is positively
# homogeneous. The package's test checks that the covariance is the stated one.)
#
# The new neurons are random, so the new representation $\sigma(W'_1 x)$ is expressed in
# arbitrary coordinates: the second layer of the reference network cannot read it directly.
# [Chapter 2](02_alignment.ipynb) gives the fix. We align the generated representation to the reference one on the
# training images, $A_1 = UV^\top$ from the SVD of $\mathbb{E}[\sigma(W_1x)\,\sigma(W'_1x)^\top]$,
# so that $A_1 \sigma(W'_1 x) \approx \sigma(W_1 x)$. In the generated coordinates the reference
# second layer reads $W_2 A_1$; we sample $W'_2$ from the covariance
# $\frac{1}{n_2}(W_2A_1)^\top (W_2 A_1)$, align again to get $A_2$, and so on. The classifier is
# not sampled: it is the trained $\theta$, expressed in the last generated coordinates,
# $\theta' = \theta A_L$. For a CNN, the same recipe aligns channels and samples each filter
# from the covariance of the reshaped $C_\text{out} \times C_\text{in} k^2$ weights.

# %% [markdown]
# The sampling step, from the package itself:

# %% tags=["hide-input"]
# @title The code of `rainbow.sample_weights`
show_source(rainbow.sample_weights)


# %% [markdown]
# Two controls tell what the trained covariances contribute, as opposed to the architecture and
# the pipeline itself. The first goes through exactly the same steps (sampling, alignment to the
# trained network, reused classifier) but samples every layer from the covariance of the
# **initial** weights, $\sigma^2 I$: whatever it achieves, the trained covariances cannot take
# credit for. The second refits the classifier of an untrained network, here the one sampled from
# the initial covariance: these are *random features*, the baseline for a generated network whose
# classifier is refit.


# %%
def evaluate(name, reference, seed, controls):
    """Test accuracies of SAMPLES networks generated from ``reference``, and of the controls."""
    rows = []
    for sample in runtime.progress(range(SAMPLES), desc=f"generating {name}, seed {seed}"):
        g = torch.Generator().manual_seed(1000 * seed + sample)
        drawn = {"generated": rainbow.generate(reference.model, train_set, g, device=device)}
        if controls:
            drawn["initial covariance"] = rainbow.generate(
                reference.model, train_set, g, sample_from=reference.initial, device=device
            )
        for kind, network in drawn.items():
            rows.append({"kind": kind, "accuracy": accuracy(network, test_set, device)})
            if controls:
                refit = rainbow.retrain_classifier(network, train_set, device=device)
                rows.append({"kind": f"{kind}, classifier refit", "accuracy": accuracy(refit, test_set, device)})
    rows += [
        {"kind": "trained", "accuracy": reference.test_accuracy},
        {"kind": "untrained", "accuracy": accuracy(reference.initial, test_set, device)},
    ]
    return [{"network": name.upper(), "reference seed": seed, **row} for row in rows]


references = {SEED: nets} | {
    seed: setups.part1_networks(session.settings, train_set, test_set, seed=seed, device=device)
    for seed in range(SEED + 1, SEED + REFERENCES)
}
results = pd.DataFrame(
    [
        row
        for seed, networks in references.items()
        for name, reference in networks.items()
        for row in evaluate(name, reference, seed, controls=seed == SEED)
    ]
)
main = results[results["reference seed"] == SEED]
summary = main.groupby(["network", "kind"]).accuracy.agg(["mean", "std", "count"]).round(2)

fig, ax = plt.subplots(figsize=(10, 3.8))
order = [
    "trained",
    "generated",
    "initial covariance",
    "generated, classifier refit",
    "initial covariance, classifier refit",
    "untrained",
]
sns.barplot(main, x="kind", y="accuracy", hue="network", order=order, errorbar="sd", ax=ax)
sns.stripplot(
    main,
    x="kind",
    y="accuracy",
    hue="network",
    order=order,
    dodge=True,
    ax=ax,
    palette="dark:k",
    size=3,
    legend=False,
)
ax.axhline(chance, color="gray", ls=":", label="chance")
ax.set_xticks(ax.get_xticks(), [label.replace(", ", ",\n") for label in order])
ax.set(
    xlabel="", ylabel="test accuracy (%)", title=f"Trained, generated and controls ({SAMPLES} samples each)"
)
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
fig.tight_layout()

mean = lambda net, kind: main.query("network == @net and kind == @kind").accuracy.mean()
std = lambda net, kind: main.query("network == @net and kind == @kind").accuracy.std()


def gain_se(net, kind, control):
    """Standard error of mean(kind) − mean(control) over independent samples."""
    return (std(net, kind) ** 2 / SAMPLES + std(net, control) ** 2 / SAMPLES) ** 0.5


for net in ("MLP", "CNN"):
    glue_all(
        f"rainbow_{net.lower()}",
        trained_acc=mean(net, "trained"),
        generated_acc=mean(net, "generated"),
        generated_std=std(net, "generated"),
        refit_acc=mean(net, "generated, classifier refit"),
        untrained_acc=mean(net, "untrained"),
        init_cov_acc=mean(net, "initial covariance"),
        init_cov_std=std(net, "initial covariance"),
        random_refit_acc=mean(net, "initial covariance, classifier refit"),
        covariance_gain=mean(net, "generated") - mean(net, "initial covariance"),
        covariance_gain_se=gain_se(net, "generated", "initial covariance"),
        refit_gain=mean(net, "generated, classifier refit")
        - mean(net, "initial covariance, classifier refit"),
        refit_gain_se=gain_se(
            net, "generated, classifier refit", "initial covariance, classifier refit"
        ),
        loss=mean(net, "trained") - mean(net, "generated"),
    )
glue("rainbow_chance_acc", chance)
gap = mean("CNN", "trained") - mean("CNN", "initial covariance, classifier refit")
if gap <= 3:
    refit_note = (
        f"a random CNN with a refit classifier is already within {gap:.1f} points of the trained "
        "CNN, so the refit comparison cannot tell the CNN's learned features from random ones"
    )
else:
    refit_note = (
        f"a random CNN with a refit classifier stays {gap:.1f} points below the trained CNN, so "
        "here the refit comparison does separate learned features from random ones"
    )
glue("rainbow_refit_note", refit_note)
summary

# %% [markdown]
# <a id="claim-generated"></a>
# Without any training, the generated MLPs reach {glue:text}`rainbow_mlp_generated_acc:.1f` %
# (± {glue:text}`rainbow_mlp_generated_std:.1f` over the samples), against
# {glue:text}`rainbow_mlp_trained_acc:.1f` % for the trained network,
# {glue:text}`rainbow_mlp_untrained_acc:.1f` % for the network at initialization and
# {glue:text}`rainbow_chance_acc:.0f` % for chance. The generated CNNs reach
# {glue:text}`rainbow_cnn_generated_acc:.1f` % (± {glue:text}`rainbow_cnn_generated_std:.1f`)
# against {glue:text}`rainbow_cnn_trained_acc:.1f` % trained.
#
# <a id="claim-initial-covariance"></a>
# The first control is sobering: sampled from the *initial* covariance, through the same
# alignment and with the same reused classifier, the networks already reach
# {glue:text}`rainbow_mlp_init_cov_acc:.1f` % (MLP, ± {glue:text}`rainbow_mlp_init_cov_std:.1f`)
# and {glue:text}`rainbow_cnn_init_cov_acc:.1f` % (CNN, ± {glue:text}`rainbow_cnn_init_cov_std:.1f`).
# Random ReLU features, rotated as close as possible to the trained representation, are
# something the trained classifier can partly read: alignment and the trained classifier alone
# buy a lot. <a id="claim-covariance-gain"></a>What the trained covariances carry is the
# difference: {glue:text}`rainbow_mlp_covariance_gain:.1f` points for the MLP and
# {glue:text}`rainbow_cnn_covariance_gain:.1f` for the CNN (standard errors
# {glue:text}`rainbow_mlp_covariance_gain_se:.1f` and {glue:text}`rainbow_cnn_covariance_gain_se:.1f`
# over the samples), the accuracy that the random control loses and the generated networks keep.
#
# <a id="claim-refit-close"></a>Refitting only the classifier of a generated network gives
# {glue:text}`rainbow_mlp_refit_acc:.1f` % (MLP) and {glue:text}`rainbow_cnn_refit_acc:.1f` % (CNN),
# close to the trained networks. The second control, random features with a refit classifier,
# reaches {glue:text}`rainbow_mlp_random_refit_acc:.1f` % and
# {glue:text}`rainbow_cnn_random_refit_acc:.1f` %.
# <a id="claim-refit-gain"></a>So, after refitting, the generated MLP's
# features beat random ones by {glue:text}`rainbow_mlp_refit_gain:.1f` points
# (± {glue:text}`rainbow_mlp_refit_gain_se:.1f`), the generated CNN's by
# {glue:text}`rainbow_cnn_refit_gain:.1f` (± {glue:text}`rainbow_cnn_refit_gain_se:.1f`):
# {glue:text}`rainbow_refit_note`. The reused classifier, which must read the generated
# features exactly as it read the trained ones, is the test that can.
#
# ## Does a CNN lose more?
#
# The source tutorial finds that generation costs a CNN more than an MLP: on grayscale CIFAR-10
# its generated CNN reaches 36.0 % against 58.0 % trained (about two thirds of the performance
# kept), while its generated MLP reaches 31.4 % against 42.7 %. "More" depends on the scale: in
# accuracy points lost, or relative to what the trained network gets wrong. We use both: the loss
# in points, trained minus generated accuracy, and the error ratio, the generated network's error
# rate over the trained one's. A single reference network is a noisy basis for the comparison, so
# we repeat the generation from {glue:text}`rainbow_references` reference networks of each
# architecture, trained from seeds `SEED` to `SEED + REFERENCES - 1`, and give 95 % confidence
# intervals for the CNN-minus-MLP difference over those references (Student's $t$).


# %%
def compare(per_network):
    """Mean CNN − MLP difference over reference seeds, its 95 % half-width, and a verdict."""
    difference = per_network.CNN - per_network.MLP
    half_width = stats.t.ppf(0.975, len(difference) - 1) * difference.std() / len(difference) ** 0.5
    if difference.mean() > half_width:
        verdict = "larger than"
    elif difference.mean() < -half_width:
        verdict = "smaller than"
    else:
        verdict = "not distinguishable from"
    return difference, half_width, verdict


per_reference = (
    results[results.kind.isin(["trained", "generated"])]
    .groupby(["network", "reference seed", "kind"])
    .accuracy.mean()
    .unstack("kind")
)
per_reference["loss (points)"] = per_reference.trained - per_reference.generated
per_reference["error ratio"] = (100 - per_reference.generated) / (100 - per_reference.trained)
glue("rainbow_references", per_reference.index.get_level_values("reference seed").nunique())
for measure, key in (("loss (points)", "loss"), ("error ratio", "error_ratio")):
    by_network = per_reference[measure].unstack("network")  # one row per reference seed
    difference, half_width, verdict = compare(by_network)
    glue_all(
        f"rainbow_{key}",
        mlp_mean=by_network.MLP.mean(),
        cnn_mean=by_network.CNN.mean(),
        difference=difference.mean(),
        difference_min=difference.min(),
        difference_max=difference.max(),
        ci=half_width,
        verdict=verdict,
    )
per_reference.round(2)

# %% [markdown]
# <a id="claim-loss"></a>Averaged over the reference networks, the generated CNN loses
# {glue:text}`rainbow_loss_cnn_mean:.1f` points of accuracy and the MLP
# {glue:text}`rainbow_loss_mlp_mean:.1f`. The difference, {glue:text}`rainbow_loss_difference:.1f`
# ± {glue:text}`rainbow_loss_ci:.1f` points, ranges from {glue:text}`rainbow_loss_difference_min:.1f`
# to {glue:text}`rainbow_loss_difference_max:.1f` from one reference network to the next, so in
# points the CNN's loss is {glue:text}`rainbow_loss_verdict` the MLP's.
# <a id="claim-error-ratio"></a>Relative to the errors of
# the trained networks, generation multiplies the CNN's error rate by
# {glue:text}`rainbow_error_ratio_cnn_mean:.2f` and the MLP's by
# {glue:text}`rainbow_error_ratio_mlp_mean:.2f` (difference
# {glue:text}`rainbow_error_ratio_difference:.2f` ± {glue:text}`rainbow_error_ratio_ci:.2f`): on
# that scale the CNN's loss is {glue:text}`rainbow_error_ratio_verdict` the MLP's. With this few
# reference networks the intervals are wide; raise `REFERENCES` to narrow them. The `full`
# profile makes the measurement on the source's grayscale CIFAR-10.
#
# The source's explanation for a larger loss of CNNs is that a Gaussian draw keeps only
# second-order statistics. Trained spatial filters are selective to an orientation and a
# frequency (edges, strokes), a structure that lives in higher-order statistics and is blurred by
# a Gaussian draw over the $C_\text{in} k^2$ coordinates of a filter. This chapter does not test
# that explanation; Part II takes the structure of spatial filters seriously: convolutional
# filters turn out to share a few universal spatial eigenvectors, and a *factorized* network
# that fixes those spatial filters and learns only how channels mix is the natural architecture
# for generating networks.
#
# ## What we learned
#
# - Sampling each layer's neurons from $\mathcal{N}(0, \frac1n W^\top W)$, realigning the next
#   layer with the cross-covariance, and reusing the aligned classifier produces working networks
#   without training ({glue:text}`rainbow_mlp_generated_acc:.1f` % for the MLP,
#   {glue:text}`rainbow_cnn_generated_acc:.1f` % for the CNN).
# - The same pipeline run on the *initial* covariance is the control: alignment and the trained
#   classifier alone already buy a lot ({glue:text}`rainbow_mlp_init_cov_acc:.1f` % and
#   {glue:text}`rainbow_cnn_init_cov_acc:.1f` %), and the trained covariances are credited only
#   with the accuracy above it ({glue:text}`rainbow_mlp_covariance_gain:.1f` and
#   {glue:text}`rainbow_cnn_covariance_gain:.1f` points).
# - After a classifier refit, generated features must be compared with random features: the
#   generated MLP gains {glue:text}`rainbow_mlp_refit_gain:.1f` points over them and the
#   generated CNN {glue:text}`rainbow_cnn_refit_gain:.1f`; where random features come close to
#   trained ones, that comparison is weak.
# - Whether generation costs a CNN more than an MLP needs several reference networks, a stated
#   scale (points lost or error ratio) and a confidence interval: here the difference,
#   {glue:text}`rainbow_loss_difference:.1f` ± {glue:text}`rainbow_loss_ci:.1f` points, is
#   {glue:text}`rainbow_loss_verdict` zero.
#
# ## Exercises
#
# **1. No alignment.** Generate the MLP's first layer but skip the alignment (use the identity).
# What accuracy do you get, and why?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: one test accuracy (in %), to compare with chance
mlp = nets["mlp"].model
no_align = copy.deepcopy(mlp)
with torch.no_grad():
    no_align[1].weight.copy_(
        rainbow.sample_weights(
            mlp[1].weight.detach().cpu(), generator=torch.Generator().manual_seed(7)
        ).to(device)
    )
print(
    f"first layer sampled, no alignment: {accuracy(no_align, test_set, device):.1f} % "
    f"(chance {chance:.0f} %)"
)
# The second layer reads neuron i of the first layer as if it were the trained neuron i, but the
# sampled neurons are in random coordinates: the network is scrambled.

# %% [markdown]
# **2. Wider generated networks.** `rainbow.sample_weights(weight, neurons=...)` draws any number
# of neurons. Why does the recipe above keep the reference width, and what would need to change
# to generate a wider network?

# %% tags=["solution", "hide-cell"]
# @title Solution (double-click to show)
# Expect: an answer in words; sample_weights(..., neurons=1024) draws a (1024, inputs) matrix
# In words: the alignment A would become a rectangular matrix with orthonormal rows
# (C_ref × C_gen with C_gen > C_ref: A Aᵀ = I; see `alignment.orthogonal_alignment`), mapping the wider generated layer onto the reference
# one; `rainbow.express_in` already accepts it. The generated network object would need wider
# Linear/Conv2d modules. The rainbow paper reports that the gap to the trained accuracy shrinks
# as the width grows.
print(rainbow.sample_weights(nets["mlp"].model[1].weight.detach().cpu(), neurons=1024).shape)

# %% [markdown]
# ## References
#
# - Rainbow networks, sampled from weight covariances: {footcite:t}`guth2023rainbow`, as presented in the
#   tutorial of {footcite:t}`bonnerlab2023tutorial`.
# - Learned scattering networks, whose fixed spatial filters make generation more accurate:
#   {footcite:t}`guth2022phase`.
#
# ```{footbibliography}
# ```
