"""The claims each chapter makes, asserted on its executed notebook (`make book` first)."""

import pytest

from conftest import CHAPTERS, executed_notebook, glued

pytestmark = pytest.mark.chapters


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_without_errors_or_stderr(chapter):
    for cell in executed_notebook(chapter).cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), out["text"][
                :500
            ]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_papermill_parameters_cell_is_hidden_from_the_book(chapter):
    injected = [
        c
        for c in executed_notebook(chapter).cells
        if "injected-parameters" in c.metadata.get("tags", [])
    ]
    assert injected and all("remove-cell" in c.metadata["tags"] for c in injected)


def test_alignment_claims():
    g = glued("02_alignment")
    # aligned r² (held out) far above the identity and random-rotation baselines
    for layer in ("l1", "l2"):
        assert g[f"align_mlp_r2_{layer}_test"] >= g[f"align_mlp_r2_{layer}_identity"] + 0.3
    assert g["align_mlp_r2_l1_test"] >= g["align_mlp_r2_l1_random"] + 0.5
    assert g["align_cnn_r2_l1_test"] >= 0.7 and g["align_cnn_r2_l2_test"] >= 0.7
    # untrained networks align well too (the control), but less than trained ones
    assert g["align_untrained_r2_l1_test"] >= 0.7 and g["align_untrained_r2_l2_test"] >= 0.7
    assert g["align_trained_untrained_r2_l1_test"] >= 0.7
    # learning shows in what is left unexplained: 1 − r² several times larger untrained
    for net in ("mlp", "cnn"):
        for layer in ("l1", "l2"):
            assert g[f"align_{net}_unexplained_ratio_{layer}"] >= 1.5, (net, layer)
    # centering removes the mean: lower values, trained still above untrained
    for layer in ("l1", "l2"):
        assert g[f"align_mlp_cr2_{layer}_test"] < g[f"align_mlp_r2_{layer}_test"]
        assert (
            g[f"align_mlp_untrained_cr2_{layer}_test"] < g[f"align_mlp_untrained_r2_{layer}_test"]
        )
        assert g[f"align_mlp_cr2_{layer}_test"] > g[f"align_mlp_untrained_cr2_{layer}_test"] + 0.05
    assert g["align_mlp_cr2_l1_identity"] < 0.5 * g["align_mlp_r2_l1_identity"]
    # the rotation does not overfit
    assert g["align_max_overfit_gap"] <= 0.02
    # top aligned activation eigenvectors match, far above unaligned and untrained pairs
    assert g["align_mlp_act_diag_l1"] >= 0.7
    assert g["align_mlp_act_diag_l1"] >= g["align_mlp_act_diag_l1_identity"] + 0.4
    assert g["align_mlp_act_diag_l1"] >= g["align_untrained_eig_match"] + 0.2
    # weight eigenvectors and learned subspaces: shared by trained networks, chance untrained
    for layer in ("l1", "l2"):
        assert (
            g[f"align_mlp_weight_diag_{layer}"] >= g[f"align_untrained_weight_diag_{layer}"] + 0.3
        )
        assert g[f"align_untrained_weight_overlap_{layer}"] <= 3 * g[f"align_weight_chance_{layer}"]
        assert g[f"align_mlp_weight_overlap_{layer}"] >= 0.35
    assert g["align_mlp_weight_diag_l2"] >= g["align_mlp_weight_diag_l2_identity"] + 0.4
    # the input statistics explain part of the shared first-layer subspace, not all of it
    assert g["align_mlp_weight_pca_overlap_l1"] >= 3 * g["align_weight_chance_l1"]
    assert g["align_mlp_weight_overlap_l1"] >= g["align_mlp_weight_pca_overlap_l1"] + 0.08
    # CKA is high without learning too, and higher with it
    assert g["align_mlp_cka_l1"] > g["align_mlp_cka_l1_untrained"]
    assert g["align_mlp_cka_l1_untrained_pair"] >= 0.7
    assert g["align_mlp_cka_l1"] > g["align_mlp_cka_l1_untrained_pair"]


def test_rainbow_claims():
    g = glued("03_rainbow")
    chance = g["rainbow_chance_acc"]
    for net in ("mlp", "cnn"):
        # generated networks far above chance and the untrained network
        assert g[f"rainbow_{net}_generated_acc"] >= 3 * chance
        assert g[f"rainbow_{net}_generated_acc"] >= g[f"rainbow_{net}_untrained_acc"] + 30
        # the trained covariances beat the initial covariance through the same pipeline
        assert g[f"rainbow_{net}_init_cov_acc"] >= 3 * chance  # "sobering": alignment buys a lot
        gain, se = g[f"rainbow_{net}_covariance_gain"], g[f"rainbow_{net}_covariance_gain_se"]
        assert gain >= 5 and gain >= 3 * se
        # refitting the classifier comes close to the trained network
        assert g[f"rainbow_{net}_refit_acc"] >= g[f"rainbow_{net}_trained_acc"] - 3
    # after a refit, generated features beat random ones clearly for the MLP, barely for the CNN
    assert g["rainbow_mlp_refit_gain"] >= max(2, 2 * g["rainbow_mlp_refit_gain_se"])
    assert g["rainbow_cnn_refit_gain"] < 0.5 * g["rainbow_mlp_refit_gain"]
    # CNN vs MLP over several reference networks: each verdict follows its confidence interval
    assert g["rainbow_references"] >= 3
    for key in ("loss", "error_ratio"):
        diff, ci = g[f"rainbow_{key}_difference"], g[f"rainbow_{key}_ci"]
        means = g[f"rainbow_{key}_cnn_mean"] - g[f"rainbow_{key}_mlp_mean"]
        assert diff == pytest.approx(means, abs=1e-6)
        assert g[f"rainbow_{key}_difference_min"] <= diff <= g[f"rainbow_{key}_difference_max"]
        expected = (
            "larger than"
            if diff > ci
            else "smaller than"
            if diff < -ci
            else "not distinguishable from"
        )
        assert g[f"rainbow_{key}_verdict"] == expected, key


def test_spatial_claims():
    g = glued("04_spatial")
    # a few eigenvectors carry most of the learned spatial variance, more than for random filters
    assert g["spatial_top3_share"] >= 0.5
    assert g["spatial_top3_share"] >= 3 * g["spatial_random_top3_share"]
    assert g["spatial_top3_share_trained"] < g["spatial_top3_share"]
    assert g["spatial_norm_ratio_max"] < 1.5  # the initialization is still a large part of W
    # the top-3 subspace is shared well above white filters, but no more than smoothness predicts
    assert g["spatial_random_filter_similarity"] <= 2 * g["spatial_chance"]
    for name in ("layer", "size", "random_label", "seed_ceiling"):
        assert g[f"spatial_{name}_similarity"] >= g["spatial_random_filter_similarity"] + 0.4, name
    assert g["spatial_smooth_null_similarity"] >= g["spatial_seed_ceiling_similarity"] - 0.1
    assert g["spatial_layer_null_similarity"] >= g["spatial_layer_similarity"] - 0.1
    assert g["spatial_top3_best_margin"] < 0.1
    # on the whole covariance, another seed beats every draw of the smooth null, on average over
    # the layers, and the smooth null beats white filters
    assert g["spatial_seed_ceiling_distance"] < g["spatial_smooth_null_distance_low"]
    assert g["spatial_seed_ceiling_verdict"] == "closer to the reference than the smooth null"
    assert g["spatial_smooth_null_distance_high"] < g["spatial_random_filter_distance"]
    low, high = g["spatial_smooth_null_distance_low"], g["spatial_smooth_null_distance_high"]
    for key in ("seed_ceiling", "random_label", "dataset"):
        distance = g[f"spatial_{key}_distance"]
        expected = (
            "closer to the reference than the smooth null"
            if distance < low
            else "farther from the reference than the smooth null"
            if distance > high
            else "not distinguishable from the smooth null"
        )
        assert g[f"spatial_{key}_verdict"] == expected, key
    # layers differ in eigenvalues more than in eigenvectors
    assert g["spatial_layer_difference_word"] == "more"
    assert g["spatial_layer_bures_swapped"] > g["spatial_layer_bures"]
    assert g["spatial_layer_bures"] > g["spatial_layer_bures_random"] + 0.2
    ratio = g["spatial_dilation_first_last"]
    assert g["spatial_dilation_seen"] == ("seen" if ratio > 1.05 else "not seen")


def test_energy_claims():
    g = glued("05_energy")
    # the formula fits the trained first layers better than the same profiles with shuffled tails
    assert g["energy_formula_corr"] >= g["energy_permuted_fit_corr"] + 0.2
    weakest_beats = g["energy_formula_corr_min"] > g["energy_permuted_fit_q95"]
    assert g["energy_fit_vs_permuted"] == ("exceeds" if weakest_beats else "does not exceed")
    ramp_beaten = g["energy_formula_corr"] > g["energy_ramp_fit_corr"] + 0.02
    assert g["energy_fit_vs_ramp"] == ("exceeds" if ramp_beaten else "does not clearly exceed")
    # profiles share their order beyond a shuffled tail, on log-profiles without direction 1
    assert g["energy_log_corr_min"] >= g["energy_log_null_q95_max"] + 0.3
    # ... and that order follows the patch energy
    assert g["energy_trend_corr_min"] >= 0.8
    above = g["energy_beyond_pairs_above_null"]
    assert (above == 0) == g["energy_beyond_verdict"].startswith("Beyond that trend they share no")
    # the linear CNN follows the formula with its predicted time constant, PCA-like to whitening
    assert 0.5 <= g["energy_linear_c_ratio"] <= 2
    assert g["energy_linear_cnn_corr_predicted_min"] >= 0.85
    assert g["energy_linear_pca_first"] >= 0.8 > g["energy_linear_pca_last"] + 0.5
    assert g["energy_linear_peak_last"] > g["energy_linear_peak_first"] + 2
    assert g["energy_linear_peak_last_predicted"] > g["energy_linear_peak_first"] + 2
    # the peak positions quoted in the prose
    assert g["energy_peak_max"] == max(
        g[f"energy_peak_{k}"] for k in ("vgg_true", "vgg_random", "resnet_true", "resnet_random")
    )
    # a frozen first layer still learns the task far above chance
    assert g["energy_frozen_first_acc"] >= 3 * g["energy_chance_acc"]
    memorized = [
        g[f"energy_random_train_acc_{a}"] > 2 * g["energy_chance_acc"] for a in ("vgg", "resnet")
    ]
    phrase = g["energy_random_memorized"]
    assert phrase.startswith("both") == all(memorized)
    assert phrase.startswith("neither") == (not any(memorized))
    costs = g["energy_frozen_first_cost"] > 0
    assert g["energy_frozen_first_effect"].startswith("costs nothing") != costs


def test_factorized_claims():
    g = glued("06_factorized")
    # frozen universal spatial filters keep at least 80 % of the standard network's accuracy
    assert g["fact_factorized_acc"] >= 0.8 * g["fact_standard_acc"]
    better = g["fact_factorized_acc"] > g["fact_standard_acc"]
    assert g["fact_better_word"] == ("higher than" if better else "lower than")
    # layer 2: two seeds and two natural datasets share channel directions beyond the null
    assert g["fact_seed_l2_word"] == g["fact_dataset_l2_word"] == "above its null"
    assert g["fact_sim_seed_l2"] >= g["fact_base_seed_l2"] + 0.15
    assert g["fact_sim_dataset_l2"] >= g["fact_base_dataset_l2"] + 0.15
    assert g["fact_dataset_above_layers"] >= g["fact_layers"] // 2
    assert g["fact_seed_above_layers"] >= g["fact_dataset_above_layers"] - 1
    ratio = g["fact_dataset_seed_margin_ratio_l2"]
    assert g["fact_dataset_seed_word_l2"] == ("close to" if ratio >= 0.75 else "clearly below")
    digits_lower = g["fact_digits_margin_deep"] < g["fact_dataset_margin_deep"]
    assert g["fact_digits_deep_word"].startswith("fall back") == digits_lower
    more = g["fact_dim_random"] > g["fact_dim_true"]
    assert g["fact_dim_random_word"] == ("more" if more else "fewer")
    # the mean direction does not carry the layer-2 similarity: centered alignment keeps it
    assert g["fact_centered_seed_l2"] >= g["fact_sim_random_l2"] + 0.15


def test_cnfa_claims():
    g = glued("07_cnfa")
    assert g["cnfa_test_acc"] >= 3 * g["cnfa_chance_acc"]
    # W^T G W is the patch-AGOP: same matrix as the unfolded definition, and faster
    assert g["cnfa_identity_rel_err"] <= 1e-4 and g["cnfa_identity_speedup_max"] > 2
    # the ansatz after training: high in every layer, above the initial-vs-trained control
    assert g["cnfa_corr_trained_mean"] >= 0.9
    assert g["cnfa_corr_trained_mean"] > g["cnfa_corr_init_mean"] + 0.3
    assert min(g["cnfa_corr_trained"]) == pytest.approx(g["cnfa_corr_trained_min"], abs=1e-3)
    assert g["cnfa_corr_trained_min"] >= 0.8
    # "far from where they started"; at initialization the agreement is high too (prose says why)
    assert g["cnfa_corr_init_mean"] <= 0.5 and g["cnfa_corr_at_init_mean"] >= 0.8
    assert g["cnfa_cosine_trained_mean"] >= 0.9
    # CNFM and AGOP maps alike; the first layer measures colour, not edges
    assert g["cnfa_map_l1_corr"] >= 0.6 and g["cnfa_map_last_corr"] >= 0.8
    assert g["cnfa_constant_share_cnfm"] >= 3 * 100 * 3 / 27
    assert g["cnfa_constant_share_agop"] >= 3 * 100 * 3 / 27
    assert g["cnfa_edge_cnfm_corr"] < max(0.2, g["cnfa_edge_identity_corr"] + 0.1)
    # the null: W alone gives most of the correlation (rotated G), a near-isotropic G more;
    # the trained G exceeds the rotated null in every layer
    assert 0.7 <= g["cnfa_corr_rotated_g_mean"] < g["cnfa_corr_trained_mean"]
    assert g["cnfa_null_margin_min"] > 0.01 and g["cnfa_null_beaten"] >= 2
    assert g["cnfa_initial_g_word"] == (
        "higher" if g["cnfa_corr_initial_g_mean"] > g["cnfa_corr_trained_mean"] else "lower"
    )
    assert g["cnfa_corr_offdiag_mean"] > g["cnfa_corr_offdiag_rotated_mean"]
    # Theorem 1: exact from zero with equal gradients, at both step sizes; a random start
    # breaks it at the small step, not at the large one
    assert g["cnfa_theorem1_corr_worst"] >= 0.999 and g["cnfa_theorem1_rank"] == 1
    assert g["cnfa_theorem1_random_start_corr_small"] <= 0.8
    assert g["cnfa_theorem1_random_start_corr_large"] > g["cnfa_theorem1_random_start_corr_small"]
    assert g["cnfa_theorem1_random_downstream_corr_small"] >= 0.9


def test_convrfm_claims():
    g = glued("08_convrfm")
    assert g["rfm_psd_worst"] > -1e-6  # kernel matrices are positive semi-definite
    # digits: a learned metric pays off for the whole-image kernel, not for the patchwise one,
    # whose predictor is a sum over patches
    assert g["rfm_digits_min_gain_whole"] >= 4
    assert g["rfm_digits_max_gain_local"] < 3
    # a second Deep ConvRFM layer (patches of patches) lifts the digits well above one layer
    assert g["rfm_deep_change_digits"] >= 10
    # the trained CNN is far ahead on the digits, and fits its train set
    assert g["rfm_digits_cnn_margin"] >= 15
    assert g["rfm_digits_cnn_train_acc"] >= 95
    # bars: the images hold the answer (a hand-written rule), no learned model finds it
    assert g["rfm_bars_rule_min"] >= 99
    assert g["rfm_bars_top_spread"] < 15
    assert max(g[f"rfm_bars_{k}_acc"] for k in ("convrfm_local", "convrfm_whole", "cnn")) < 80
    assert g["rfm_bars_cnn_train_acc"] >= 99  # the CNN was trained to fit, not stopped early
    # the median bandwidth keeps kernel matrices far from the identity; L = 1 would not
    assert g["rfm_offdiag_min"] > 0.3
    assert g["rfm_offdiag_fixed_l"] < 1e-3
    # filters drawn from M overlap more than independent white filters
    assert g["rfm_filter_cos_mean"] > g["rfm_filter_cos_white"]
    # ConvRFM's metric against the CNN's filter covariance: on all entries untrained CNNs
    # correlate highly too (the diagonal); the off-diagonal verdicts are counted
    assert g["rfm_metric_all_null_max"] > 0.6
    assert g["rfm_metric_off_null_max"] < g["rfm_metric_all_null_max"]
    assert 0 <= g["rfm_metric_beyond"] <= g["rfm_metric_cases"] == 4
    # the second layer's gain on the digits, read against its fixed kernel
    assert g["rfm_deep_fixed2_digits"] > g["rfm_deep_first_digits"]
    # edge detectors: far more oriented than random zero-sum filters
    assert g["rfm_edge_coherence_mean"] > g["rfm_edge_coherence_null"] + 0.3
    # top eigenvectors: a local average, then oriented edge detectors
    assert g["rfm_top_constant_cos"] > 0.9
    assert g["rfm_edge_count"] >= 3
    assert g["rfm_edge_coherence_mean"] > 0.5
    # the patchwise kernel costs several times the whole-image kernel
    assert g["rfm_time_ratio"] > 2


def test_inversion_claims():
    g = glued("09_inversion")
    # every shown ResNet inversion matches the embedding better than the shifted input
    assert g["inv_matched"] == g["inv_shown"] >= 20
    assert g["inv_deep_mg_over_ms"] < 1
    # the untrained ResNet's input fades with depth
    assert g["inv_first_mi_conv5"] > 3 * g["inv_first_mi_conv1"]
    # non-uniqueness: the deep embedding distance keeps falling while the input distance stalls
    assert g["inv_nonunique_mg_drop"] >= 3 and g["inv_nonunique_mg_over_ms"] < 1
    assert 0.9 <= g["inv_nonunique_mi_change"] <= 1.1
    # linear MLPs: over-complete recovery far better than under-complete, which stalls
    assert g["inv_mlp_over_mi"] * 10 < g["inv_mlp_under_mi"]
    assert g["inv_mlp_under_mi"] >= g["inv_mlp_under_stall"] > 0.3 * g["inv_mlp_start_mi"]
    assert g["inv_mlp_all_matched"]
    assert g["inv_depth_last_mi"] > 100 * g["inv_depth_first_mi"]
    # exact inversion works in float64; output-space neighbours are far away in input space
    assert g["inv_exact_error"] < 1e-6 < g["inv_float32_error"]
    assert g["inv_perturb_ratio"] > 100 and g["inv_perturb_ratio_min"] > 1
    # ReLU needs wider layers
    assert g["inv_relu_same_mi"] > 10 * g["inv_relu_linear_mi"]
    assert g["inv_relu_widest_mi"] * 5 < g["inv_relu_same_mi"]
    # non-uniqueness also where the layer has more outputs than inputs (conv2)
    assert g["inv_conv2_elements"] > g["inv_input_elements"] > g["inv_conv5_elements"]
    assert g["inv_conv2_mg_drop"] >= 3 and g["inv_conv2_mg_drop"] > 3 / g["inv_conv2_mi_change"]
    # the source's ReLU rule (2d then 4d): the verdict follows the measured distances
    recovered = g["inv_relu_rule_mi"] < 0.1 * g["inv_relu_start_mi"]
    assert g["inv_relu_rule_word"] == ("recovers" if recovered else "does not recover")
    assert g["inv_relu_rule_mi"] < g["inv_relu_narrow_mi"]
    # training data: against the shifted cat, the photo-trained network's deep embeddings are
    # matched best by smooth images; the ranking is reported against the embedding's size too
    assert g["inv_photos_deep_mgms"] < min(g["inv_untrained_deep_mgms"], g["inv_noise_deep_mgms"])
    for key in ("photos", "untrained", "noise"):
        assert 0 < g[f"inv_{key}_deep_mgo"] < 1
    # from a gray start (no start noise left behind), the noise-trained network's images are
    # the least smooth; the verdict word follows the numbers
    lowest = g["inv_noise_free_nc"] < min(g["inv_photos_free_nc"], g["inv_untrained_free_nc"])
    assert g["inv_noise_rank_word"] == (
        "the lowest of the three" if lowest else "not the lowest of the three"
    )
