"""Tests for reference.torch_nets.device: CUDA when available, else CPU."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from reference.torch_nets.device import DTYPE, default_device, resolve_device  # noqa: E402

pytestmark = pytest.mark.torch


def test_default_follows_cuda_availability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == torch.device("cuda")


def test_none_is_resolved_at_call_time(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(None) == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == torch.device("cpu")


def test_explicit_device_is_kept():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cuda", 1)) == torch.device("cuda", 1)


def test_training_dtype_is_float32():
    assert DTYPE == torch.float32
