"""Any timm model as a backbone: `model.name: timm:<name>`, `model.kwargs` for `timm.create_model`.

`num_classes=0` makes timm drop its classifier and return the pooled pre-logits features; ncsweep's
own head (with the paper's bias convention) goes on top. `in_chans` follows the data unless
`model.kwargs` sets it. Pretrained weights come only from the local caches timm reads (the Hugging
Face hub cache, or the torch hub cache for models with a plain URL); a missing file is a clear
error naming both paths, never a download: the file found is handed to timm as a local file.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn

from trainers.model_configs import Timm
from trainers.models.weights import WeightsUnavailable

HF_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm looks for in a hub repo


def cached_weights(cfg: Timm) -> Path | None:
    """The local file timm would load for cfg's pretrained weights, or None."""
    from huggingface_hub import try_to_load_from_cache

    pretrained = timm.models.get_pretrained_cfg(cfg.timm_name)
    if pretrained is None:
        return None
    if pretrained.hf_hub_id:
        repo, _, revision = pretrained.hf_hub_id.partition("@")
        for filename in (pretrained.hf_hub_filename, *HF_FILES):
            found = filename and try_to_load_from_cache(repo, filename, revision=revision or None)
            if isinstance(found, str):
                return Path(found)
    if pretrained.url:
        path = Path(torch.hub.get_dir()) / "checkpoints" / Path(pretrained.url).name
        if path.is_file():
            return path
    return None


def ensure_available(cfg: Timm) -> None:
    """Raise WeightsUnavailable for an unknown timm model or uncached pretrained weights."""
    from huggingface_hub.constants import HF_HUB_CACHE

    if not timm.is_model(cfg.timm_name.split(".")[0]):
        raise WeightsUnavailable(f"timm has no model {cfg.timm_name!r} (timm {timm.__version__}; see timm.list_models())")
    if not cfg.pretrained:
        return
    if timm.models.get_pretrained_cfg(cfg.timm_name) is None:
        raise WeightsUnavailable(f"timm has no pretrained weights for {cfg.timm_name!r}")
    if cached_weights(cfg) is None:
        raise WeightsUnavailable(
            f"pretrained {cfg.timm_name} weights are not in the local cache (Hugging Face hub cache {HF_HUB_CACHE}, "
            f"torch hub cache {Path(torch.hub.get_dir()) / 'checkpoints'}). On a machine with internet run "
            f"`python -c \"import timm; timm.create_model('{cfg.timm_name}', pretrained=True)\"` and copy the cache "
            f"folder here ($HF_HUB_CACHE / $TORCH_HOME set the locations)"
        )


def timm_backbone(cfg: Timm, input_shape: tuple[int, ...]) -> tuple[nn.Module, int]:
    if len(input_shape) != 3:
        raise ValueError(f"{cfg.name} needs (channels, height, width) inputs, got shape {input_shape}")
    ensure_available(cfg)
    kwargs = {"in_chans": input_shape[0], **cfg.kwargs}
    if cfg.pretrained:  # the cached file itself: timm then has no reason to reach the network
        kwargs["pretrained_cfg_overlay"] = {"file": str(cached_weights(cfg))}
    net = timm.create_model(cfg.timm_name, pretrained=cfg.pretrained, num_classes=0, **kwargs)
    # The feature size from one forward pass, not from attributes that differ between families.
    with torch.no_grad():
        was_training = net.training
        net.eval()
        feature_dim = net(torch.zeros(1, *input_shape)).shape[-1]
        net.train(was_training)
    return net, int(feature_dim)
