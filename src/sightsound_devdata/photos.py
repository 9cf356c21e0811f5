"""Real photos bundled in scikit-image's wheel (``skimage.data``), as video frames.

Only images that ship inside the wheel are used (others would be downloaded, which fails offline).
Their origin and licence, from each loader's docstring in ``skimage.data``:

========================  ====================================================================
``astronaut``             Eileen Collins, NASA photograph: public domain
``camera``                a man with a camera on a tripod, Lav Varshney: CC0
``chelsea``               Chelsea the cat, Stefan van der Walt: CC0
``clock``                 a wall clock (motion blurred), Stefan van der Walt: public domain
``coffee``                a cup of coffee, Rachel Michetti: CC0
``coins``                 coins, Brooklyn Museum collection: no known copyright restrictions
``horse``                 a horse silhouette, openclipart (Andreas Preuss): CC0
``rocket``                a SpaceX rocket launch, SpaceX: public domain
``hubble_deep_field``     Hubble deep field, NASA: public domain
``page``                  a scanned page of text: scikit-image test data
``brick``, ``grass``,     textures from CC0Textures / DeviantArt: CC0
``gravel``
========================  ====================================================================

A :class:`PhotoScene` shows one photo, cropped to the frame's aspect ratio, with a slow pan from left
to right so consecutive frames differ (as in real footage) while the subject stays in view.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image

from sightsound_devdata.clipgen import VideoSpec

#: Photo name -> what it shows (for humans and for matching a sound to its picture).
PHOTOS: dict[str, str] = {
    "astronaut": "an astronaut in a space suit",
    "camera": "a man with a camera on a tripod",
    "chelsea": "a cat",
    "clock": "a wall clock",
    "coffee": "a cup of coffee",
    "coins": "old coins",
    "horse": "a horse (silhouette)",
    "rocket": "a rocket launch",
    "hubble_deep_field": "galaxies in deep space",
    "page": "a printed page",
    "brick": "a brick wall",
    "grass": "grass",
    "gravel": "gravel",
}
#: Photos that suggest no sound source at all: the picture cannot answer a question about the audio.
NEUTRAL_PHOTOS = ("brick", "grass", "gravel", "page", "hubble_deep_field")


def load_photo(name: str) -> Image.Image:
    """A bundled scikit-image photo as an RGB Pillow image (grey, binary and RGBA images converted)."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {sorted(PHOTOS)}")
    from skimage import data  # imported here: scikit-image is only needed when a photo is drawn

    pixels = np.asarray(getattr(data, name)())
    if pixels.dtype == np.bool_:
        pixels = np.where(pixels, 255, 0).astype(np.uint8)  # the horse: white background
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return Image.fromarray(np.ascontiguousarray(pixels[..., :3].astype(np.uint8)), "RGB")


@lru_cache(maxsize=32)
def _cover(name: str, width: int, height: int) -> Image.Image:
    """The photo scaled to cover ``width`` x ``height`` and cropped around its centre."""
    photo = load_photo(name)
    scale = max(width / photo.width, height / photo.height)
    size = (max(width, round(photo.width * scale)), max(height, round(photo.height * scale)))
    scaled = photo.resize(size, Image.Resampling.BILINEAR)
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


@dataclass(frozen=True)
class PhotoScene(VideoSpec):
    """Frames showing a photo (``photo``: a key of :data:`PHOTOS`) with a slow left-to-right pan.

    ``pan`` is the fraction of extra width the photo is scaled to, so the window can travel across it.
    The drawn shape and caption of :class:`VideoSpec` are not used.
    """

    shape: Literal["circle", "square", "none"] = "none"
    photo: str = "astronaut"
    pan: float = 0.15

    def draw(self, t: float, duration_s: float) -> Image.Image:
        wide = _cover(self.photo, round(self.width * (1 + self.pan)), round(self.height * (1 + self.pan)))
        progress = 0.0 if duration_s <= 0 else min(max(t / duration_s, 0.0), 1.0)
        left = round((wide.width - self.width) * progress)
        top = (wide.height - self.height) // 2
        return wide.crop((left, top, left + self.width, top + self.height))
