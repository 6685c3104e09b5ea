"""Shared fixtures: real tiny ONNX generators (built once per session), offscreen Qt."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))  # for `import generators`

import generators  # noqa: E402


@pytest.fixture(autouse=True)
def _own_user_models(tmp_path, monkeypatch):
    """Every test sees an empty user model folder of its own, never the developer's (where
    `texgen models` or `-m NAME` would find whatever they have trained)."""
    monkeypatch.setenv("TEXGEN_USER_MODELS", str(tmp_path / "own-user-models"))


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> SimpleNamespace:
    """Paths of real generators of every family the contract names, run by onnxruntime."""
    d = tmp_path_factory.mktemp("models")
    return SimpleNamespace(
        vector_rgb=generators.make_vector(d / "vector-rgb.onnx", channels=3),
        vector_grey=generators.make_vector(d / "vector-height.onnx", channels=1),
        spatial_rgb=generators.make_spatial(d / "spatial-rgb.onnx", channels=3),
        spatial_height=generators.make_spatial(d / "spatial-height.onnx", channels=1),
        conditional=generators.make_spatial(d / "conditional.onnx", channels=3, classes=("gravel", "brick", "grass")),
        conditional_vector=generators.make_vector(d / "conditional-vector.onnx", channels=3, classes=("a", "b")),
        plain_vector=generators.make_vector(d / "plain-vector.onnx", metadata=False),
        plain_spatial=generators.make_spatial(d / "plain-spatial.onnx", metadata=False),
        not_generator=generators.make_not_generator(d / "classifier.onnx"),
        nan=generators.make_nan(d / "nan.onnx"),
        dir=d,
    )
