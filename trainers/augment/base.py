"""What every augmentation is: a named recipe that owns some config keys and tells the trainer how
to augment a training batch.

An augmentation module subclasses `Augmentation`, sets `name` (the `train.augment` value) and
`keys` (the dotted keys it owns, with their defaults), and overrides what it does: `crop_padding`
and `rotate` (DA1, batched on the batch's device before normalization), `mixup` (DA2, on the
normalized batch, soft targets). Defining the class registers it in `AUGMENTATIONS`.

Nothing here imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from trainers.config import TrialConfig

AUGMENTATIONS: dict[str, type[Augmentation]] = {}


class Augmentation:
    name: ClassVar[str]
    # Dotted keys of the trial config this augmentation owns -> their default; a section name
    # (`mixup`) owns the whole section, whose default is its config model's.
    keys: ClassVar[dict[str, Any]] = {}
    images_only: ClassVar[bool] = True  # vector data cannot be cropped, flipped or mixed as images

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            if cls.name in AUGMENTATIONS:
                raise ValueError(
                    f"augmentation name {cls.name!r} is registered twice: "
                    f"{AUGMENTATIONS[cls.name].__qualname__} and {cls.__qualname__}"
                )
            AUGMENTATIONS[cls.name] = cls

    @classmethod
    def crop_padding(cls, config: TrialConfig) -> int | None:
        """DA1's zero padding before the random crop (and the horizontal flip); None: neither."""
        return None

    @classmethod
    def rotate(cls, config: TrialConfig) -> float:
        """DA1's random rotation range in degrees (0: none)."""
        return 0.0

    @classmethod
    def mixup(cls, config: TrialConfig, num_classes: int) -> Any:
        """DA2's timm Mixup for the normalized batch, or None."""
        return None

    @classmethod
    def check(cls, config: TrialConfig) -> None:
        """ValueError when the trial config cannot use this augmentation."""


def owned_keys() -> dict[str, list[str]]:
    """Every dotted key some augmentation owns -> the augmentations that own it."""
    out: dict[str, list[str]] = {}
    for name, cls in AUGMENTATIONS.items():
        for key in cls.keys:
            out.setdefault(key, []).append(name)
    return out
