"""Intermediate layers for the per-layer metrics (`metrics.layers`): each named layer's output,
globally average-pooled to one vector per sample, taken in the same forward pass that gives the
penultimate features.

Two mechanisms, both the libraries' own: timm models expose `forward_intermediates` (which knows
each family's layout: NHWC stages, prefix tokens) and `feature_info` (their natural stages); every
other backbone gets torch forward hooks on the named modules, which work on any nn.Module. A
hook pools inside the hook, so no full feature map outlives its layer.

Pooling (Rangamani et al., ICML 2023; He and Su, PNAS 2023 measure collapse on such pooled
features): a conv map (B, C, H, W) is averaged over H and W, a token sequence (B, T, C) over its
tokens, except that a timm transformer that classifies from its class token gives that token.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

STAGES = "stages"  # metrics.layers: the backbone's natural stages (the model variant's `stages`)


class LayerUnavailable(ValueError):
    """A name in metrics.layers that the backbone does not have; the message lists the names it has."""


def pool(output: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> mean over H, W; (B, T, C) -> mean over the tokens; (B, C) as it is."""
    if output.dim() == 4:
        return output.mean(dim=(2, 3))
    if output.dim() == 3:
        return output.mean(dim=1)
    return output.flatten(1)


def evenly_spaced(names: Sequence[str], most: int = 4, all_up_to: int = 6) -> list[str]:
    """All the names when there are at most `all_up_to`, else `most` of them evenly spaced and
    ending with the last (a ViT's 12 blocks -> blocks 3, 6, 9, 12)."""
    if len(names) <= all_up_to:
        return list(names)
    return [names[round((i + 1) * len(names) / most) - 1] for i in range(most)]


class HookTap:
    """Features and pooled layer outputs of any backbone, through forward hooks on the modules."""

    def __init__(self, backbone: nn.Module, names: Sequence[str]):
        modules = dict(backbone.named_modules())
        unknown = [n for n in names if n not in modules or not n]
        if unknown:
            shown = ", ".join(n for n in modules if n)
            raise LayerUnavailable(
                f"no module named {', '.join(map(repr, unknown))} in this backbone; its modules: {shown[:1500]}"
            )
        self.backbone, self.names = backbone, list(names)
        self.modules = [modules[n] for n in names]

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        pooled: dict[str, torch.Tensor] = {}

        def hook(name: str):
            return lambda module, inputs, output: pooled.__setitem__(name, pool(output))

        handles = [m.register_forward_hook(hook(n)) for n, m in zip(self.names, self.modules)]
        try:
            features = self.backbone(x)
        finally:
            for handle in handles:
                handle.remove()
        return features, {n: pooled[n] for n in self.names}


def timm_modules(net: nn.Module) -> list[str]:
    """The module names of a timm model's feature_info: its natural stages (a ViT: every block)."""
    return [info["module"] for info in net.feature_info]


class TimmTap:
    """Features and pooled stage outputs of a timm model through its own `forward_intermediates`
    (intermediates in NCHW whatever the family's layout) and `forward_head` for the pooled
    penultimate features, so the features are exactly what `net(x)` gives."""

    def __init__(self, net: nn.Module, names: Sequence[str]):
        available = timm_modules(net)
        unknown = [n for n in names if n not in available]
        if unknown:
            raise LayerUnavailable(
                f"no stage named {', '.join(map(repr, unknown))} in this timm model's feature_info; its stages: "
                f"{', '.join(available)}"
            )
        self.net, self.names = net, list(names)
        self.indices = sorted({available.index(n) for n in names})  # timm returns them in depth order
        self.index_of = {n: self.indices.index(available.index(n)) for n in names}
        # A ViT that classifies from its class token: the class token stands for the layer.
        self.token = getattr(net, "num_prefix_tokens", 0) > 0 and getattr(net, "global_pool", None) == "token"

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        extra = {"return_prefix_tokens": True} if self.token else {}
        final, intermediates = self.net.forward_intermediates(x, indices=self.indices, output_fmt="NCHW", **extra)
        features = self.net.forward_head(final, pre_logits=True)
        taken = [out[1][:, 0] if self.token else pool(out) for out in intermediates]
        return features, {name: taken[self.index_of[name]] for name in self.names}
