"""Tests for reference.torch_nets.pruning: global and structured pruning, reports."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import torch.nn.utils.prune as prune  # noqa: E402

from reference.torch_nets import modules as M  # noqa: E402
from reference.torch_nets import pruning as P  # noqa: E402

pytestmark = pytest.mark.torch

SPARSITIES = P.DEFAULT_SPARSITIES


def fresh_convnet(seed: int = 0) -> nn.Module:
    """Digits convnet with seeded Kaiming weights: 800 + 4608 + 10240 weights."""
    torch.manual_seed(seed)
    return M.digits_convnet()


def all_weights(model: nn.Module) -> np.ndarray:
    """Effective conv/linear weights, flattened and concatenated in module order."""
    return np.concatenate([m.weight.detach().double().numpy().ravel()
                           for m, _ in P.prunable_weights(model)])


def test_prunable_weights_are_every_conv_and_linear():
    model = fresh_convnet()
    assert [m for m, _ in P.prunable_weights(model)] == [model.conv1, model.conv2, model.fc]


@pytest.mark.parametrize("sparsity", SPARSITIES)
def test_global_sparsity_reached_on_globally_smallest_weights(sparsity):
    model = fresh_convnet()
    before = all_weights(model)
    order = np.argsort(np.abs(before), kind="stable")
    k = round(sparsity * before.size)
    sorted_abs = np.abs(before)[order]
    assert sorted_abs[k - 1] < sorted_abs[k]  # no tie at the cut: the answer is unique

    P.prune_global_l1(model, sparsity)
    after = all_weights(model)
    report = P.sparsity_report(model)
    assert abs(report.overall - sparsity) <= 0.005
    expected_zero = np.zeros(before.size, dtype=bool)
    expected_zero[order[:k]] = True
    np.testing.assert_array_equal(after == 0, expected_zero)
    np.testing.assert_array_equal(after[~expected_zero], before[~expected_zero])
    # Global, not per layer: layers with smaller weights lose more of them.
    fractions = list(report.by_layer().values())
    assert max(fractions) - min(fractions) > 0.05


def test_targets_do_not_compound_unlike_raw_prune_amounts():
    # Raw prune: 0.1 then 0.2 of what is left is 1 - 0.9 * 0.8 = 28% overall.
    raw = fresh_convnet()
    for amount in (0.1, 0.2):
        prune.global_unstructured(P.prunable_weights(raw), pruning_method=prune.L1Unstructured,
                                  amount=amount)
    assert abs(P.sparsity_report(raw).overall - 0.28) <= 0.005
    # Targets: 0.1 then 0.2 is 20% overall, the same weights as one call at 0.2.
    stepped, direct = fresh_convnet(), fresh_convnet()
    for target in SPARSITIES[:2]:
        P.prune_global_l1(stepped, target)
    P.prune_global_l1(direct, 0.2)
    np.testing.assert_array_equal(all_weights(stepped) == 0, all_weights(direct) == 0)
    with pytest.raises(ValueError):
        P.prune_global_l1(stepped, 0.1)
    with pytest.raises(ValueError):
        P.prune_global_l1(fresh_convnet(), 1.5)


def _filter_l1_norms(conv: nn.Conv2d) -> np.ndarray:
    return conv.weight.detach().double().abs().sum(dim=(1, 2, 3)).numpy()


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5])
def test_structured_pruning_zeroes_whole_smallest_filters(fraction):
    model = fresh_convnet()
    original = copy.deepcopy(model)
    P.prune_filters_ln(model, fraction, n=1)
    for conv, conv0 in [(model.conv1, original.conv1), (model.conv2, original.conv2)]:
        w, w0 = conv.weight.detach(), conv0.weight.detach()
        zero = torch.all(w.flatten(1) == 0, dim=1).numpy()
        untouched = torch.all(w == w0, dim=(1, 2, 3)).numpy()
        assert np.all(zero | untouched)
        k = round(fraction * w.shape[0])
        assert zero.sum() == k
        smallest = np.argsort(_filter_l1_norms(conv0), kind="stable")[:k]
        assert set(np.flatnonzero(zero)) == set(smallest)
    assert torch.equal(model.fc.weight, original.fc.weight)  # linear layers are not pruned


def test_structured_targets_do_not_compound():
    model = fresh_convnet()
    P.prune_filters_ln(model, 0.1)
    P.prune_filters_ln(model, 0.3)
    assert P.pruned_filter_count(model.conv1) == round(0.3 * 32)
    assert P.pruned_filter_count(model.conv2) == round(0.3 * 16)
    with pytest.raises(ValueError):
        P.prune_filters_ln(model, 0.1)


def test_make_permanent_removes_reparametrisation_and_keeps_zeros():
    model = fresh_convnet()
    P.prune_filters_ln(P.prune_global_l1(model, 0.4), 0.25)
    x = torch.randn(3, 1, 8, 8)
    scores_before = model(x)
    report_before = P.sparsity_report(model)
    assert prune.is_pruned(model)

    assert P.make_permanent(model) is model
    assert not prune.is_pruned(model)
    names = [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]
    assert not [n for n in names if n.endswith(("_orig", "_mask"))]
    assert all(isinstance(m.weight, nn.Parameter) for m, _ in P.prunable_weights(model))
    assert P.sparsity_report(model) == report_before
    torch.testing.assert_close(model(x), scores_before, rtol=0, atol=0)


def test_sparsity_report_counts_zeros_per_layer_and_overall():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 5))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[0].weight[0, 0, 0, :2] = 0.0  # 2 zeros of 18
        model[3].weight.fill_(-1.0)
        model[3].weight[:, :4] = 0.0  # 20 zeros of 40
        model[3].bias.zero_()  # biases are not counted
    report = P.sparsity_report(model)
    assert [(lay.name, lay.kind, lay.zeros, lay.total) for lay in report.layers] == [
        ("0", "Conv2d", 2, 18), ("3", "Linear", 20, 40)]
    assert report.overall == 22 / 58 and report.by_layer() == {"0": 2 / 18, "3": 0.5}
    assert json.loads(json.dumps(report.to_dict()))["overall"] == 22 / 58


def test_accuracy_after_pruning_uses_copies_at_each_amount(digits_split):
    s = digits_split
    model = fresh_convnet()
    weights = all_weights(model)
    points = P.accuracy_after_pruning(model, (s.x_test, s.y_test), device="cpu")
    assert [p.requested for p in points] == list(SPARSITIES)
    assert all(abs(p.sparsity - p.requested) <= 0.005 for p in points)
    assert all(0.0 <= p.accuracy <= 1.0 for p in points)
    assert not prune.is_pruned(model)
    np.testing.assert_array_equal(all_weights(model), weights)
    filters = P.accuracy_after_pruning(model, (s.x_test, s.y_test), (0.5,),
                                       P.prune_filters_ln, device="cpu")
    # Half the filters of both convs: 16*25 + 8*32*9 weights of 15648.
    assert filters[0].sparsity == (16 * 25 + 8 * 32 * 9) / 15648


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_light_pruning_of_trained_digits_convnet_costs_little(trained_digits, digits_split, seed):
    # Measured (test accuracy, unpruned -> 10% -> 80%): seed 0 0.969 -> 0.969 -> 0.856,
    # seed 1 0.969 -> 0.969 -> 0.686, seed 2 0.958 -> 0.958 -> 0.883.
    run, _ = trained_digits(seed)
    s = digits_split
    points = P.accuracy_after_pruning(run.model, (s.x_test, s.y_test), device="cpu")
    by_amount = {p.requested: p.accuracy for p in points}
    assert by_amount[0.1] >= run.test_accuracy - 0.01
    assert by_amount[0.8] < by_amount[0.1]
