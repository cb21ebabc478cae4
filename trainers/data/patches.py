"""Patches of the two photographs scikit-learn bundles (a Chinese temple, a flower): natural
images that need no download, as the outside data of an out-of-distribution test on digits or
MNIST, or a two-class dataset of its own."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trainers.data.base import DataVariant

TRAIN_SHARE = 0.7  # train crops come from the left 70% of each photograph, test crops from the rest


class Patches(DataVariant):
    """Square crops of scikit-learn's two bundled photographs (no download), resized; class = the photograph."""

    name: Literal["patches"] = "patches"
    size: int = Field(32, ge=4, le=128)  # side of the images after resizing
    crop: int = Field(64, ge=4, le=190)  # side of the square cut from the photograph
    channels: Literal[1, 3] = 3
    train_per_class: int = Field(500, ge=1)
    test_per_class: int = Field(200, ge=1)

    def load(self):
        """Crops at uniform positions drawn with `split_seed`, train crops from the left TRAIN_SHARE of
        each photograph and test crops from the right (no pixel in both splits), resized with
        antialiasing, uint8, normalized with the train split's per-channel mean and std."""
        import torch
        import torch.nn.functional as F
        from sklearn.datasets import load_sample_images

        from trainers.data.tensors import Normalization, TensorData

        photos = [torch.from_numpy(p.copy()).permute(2, 0, 1) for p in load_sample_images().images]  # 3 x 427 x 640
        gen = torch.Generator().manual_seed(self.split_seed)

        def cut(per_class: int, test: bool):
            xs, ys = [], []
            for label, photo in enumerate(photos):
                height, width = photo.shape[1:]
                border = int(TRAIN_SHARE * width)
                low, high = (border, width - self.crop) if test else (0, border - self.crop)
                left = torch.randint(low, high + 1, (per_class,), generator=gen)
                top = torch.randint(0, height - self.crop + 1, (per_class,), generator=gen)
                crops = torch.stack([photo[:, t : t + self.crop, s : s + self.crop] for t, s in zip(top, left)])
                xs.append(crops)
                ys.append(torch.full((per_class,), label))
            x = F.interpolate(torch.cat(xs).float(), size=self.size, mode="bilinear", antialias=True)
            if self.channels == 1:
                x = x.mean(dim=1, keepdim=True)
            return x.round().clamp(0, 255).to(torch.uint8), torch.cat(ys)

        x_train, y_train = cut(self.train_per_class, test=False)
        x_test, y_test = cut(self.test_per_class, test=True)
        pixels = x_train.float().div(255).transpose(0, 1).flatten(1)
        norm = Normalization(tuple(pixels.mean(dim=1).tolist()), tuple(pixels.std(dim=1).tolist()), self.channels)
        return TensorData(x_train, y_train, x_test, y_test, 2, norm)
