"""Any timm model as a backbone: `model.name: timm:<name>`, `model.kwargs` for `timm.create_model`.

`num_classes=0` makes timm drop its classifier and return the pooled pre-logits features; ncsweep's
own head (with the paper's bias convention) goes on top. `in_chans` follows the data unless
`model.kwargs` sets it. Pretrained weights come only from the local caches timm reads (the Hugging
Face hub cache, or the torch hub cache for models with a plain URL); a missing file is a clear
error naming both paths, never a download: the file found is handed to timm as a local file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from trainers.errors import WeightsUnavailable
from trainers.models.base import ModelVariant, needs_image

HF_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm looks for in a hub repo


class Timm(ModelVariant):
    """Any timm model: `timm.create_model(<name>, num_classes=0, **kwargs)`; the feature is timm's
    pooled pre-logits output, the head stays ncsweep's classifier (with the paper's bias)."""

    prefix: ClassVar[str] = "timm:"
    name: str = Field(pattern=r"^timm:\S+$")
    kwargs: dict[str, Any] = {}  # e.g. {img_size: 32, patch_size: 4} for a ViT on CIFAR
    pretrained: bool = False  # weights from the local Hugging Face / torch hub cache only

    @field_validator("kwargs")
    @classmethod
    def _not_ours(cls, kwargs: dict[str, Any]) -> dict[str, Any]:
        taken = sorted({"model_name", "pretrained", "num_classes"} & set(kwargs))
        if taken:
            raise ValueError(
                f"{', '.join(taken)}: set by ncsweep (model.name, model.pretrained; the head is ncsweep's)"
            )
        return kwargs

    @property
    def timm_name(self) -> str:
        return self.name.removeprefix(self.prefix)

    def build(self, input_shape):
        import timm
        import torch

        needs_image(self.name, input_shape)
        self.ensure_available()
        kwargs = {"in_chans": input_shape[0], **self.kwargs}
        if self.pretrained:  # the cached file itself: timm then has no reason to reach the network
            kwargs["pretrained_cfg_overlay"] = {"file": str(cached_weights(self))}
        net = timm.create_model(self.timm_name, pretrained=self.pretrained, num_classes=0, **kwargs)
        # The feature size from one forward pass, not from attributes that differ between families.
        with torch.no_grad():
            was_training = net.training
            net.eval()
            feature_dim = net(torch.zeros(1, *input_shape)).shape[-1]
            net.train(was_training)
        return net, int(feature_dim)

    def ensure_available(self) -> None:
        """Raise WeightsUnavailable for an unknown timm model or uncached pretrained weights."""
        import timm
        import torch
        from huggingface_hub.constants import HF_HUB_CACHE

        if not timm.is_model(self.timm_name.split(".")[0]):
            raise WeightsUnavailable(
                f"timm has no model {self.timm_name!r} (timm {timm.__version__}; see timm.list_models())"
            )
        if not self.pretrained:
            return
        if timm.models.get_pretrained_cfg(self.timm_name) is None:
            raise WeightsUnavailable(f"timm has no pretrained weights for {self.timm_name!r}")
        if cached_weights(self) is None:
            raise WeightsUnavailable(
                f"pretrained {self.timm_name} weights are not in the local cache (Hugging Face hub cache "
                f"{HF_HUB_CACHE}, "
                f"torch hub cache {Path(torch.hub.get_dir()) / 'checkpoints'}). On a machine with internet run "
                f"`python -c \"import timm; timm.create_model('{self.timm_name}', pretrained=True)\"` and copy "
                "the cache "
                f"folder here ($HF_HUB_CACHE / $TORCH_HOME set the locations)"
            )

    def stages(self, backbone) -> list[str]:
        """timm's own stages (feature_info): all of a CNN's, four evenly spaced blocks of a ViT's."""
        from trainers.layers import evenly_spaced, timm_modules

        return evenly_spaced(timm_modules(backbone))

    def layer_tap(self, backbone, layers):
        from trainers.layers import STAGES, TimmTap

        return TimmTap(backbone, self.stages(backbone) if layers == STAGES else layers)


def cached_weights(cfg: Timm) -> Path | None:
    """The local file timm would load for cfg's pretrained weights, or None."""
    import timm
    import torch
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
