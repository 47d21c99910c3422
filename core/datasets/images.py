"""Image classification sets: the ones shipped in data/, and the decoding of uploaded images."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core import budget
from core.datasets.base import DATA_DIR, Dataset, DatasetInfo, Split, shuffled_splits
from core.errors import UserError
from core.params import ParamValues
from core.shapes import IMAGE, Shape, Signature

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")  # the only decoders an upload can reach
WIDE_SCALE = {  # greyscale wider than 8 bits, scaled to 0-255 instead of clipped (32-bit read as 16-bit)
    **dict.fromkeys(("I;16", "I;16B", "I;16L", "I;16N", "I"), 255 / 65535),
    "F": 255.0,  # floating point, 0 to 1
}
GREY_MODES = {"1", "L", "LA", *WIDE_SCALE}


@dataclass(frozen=True)
class ImageHeader:
    """What an image file says about itself before any pixel is decoded."""

    size: tuple[int, int]
    colour: bool
    animated: bool
    transparent: bool


@contextmanager
def _opened(data: bytes, filename: str) -> Iterator[Image.Image]:
    """The image in ``data``, opened lazily; whatever fails while it is read becomes one sentence."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(filename, f"over {Image.MAX_IMAGE_PIXELS:,} pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise UserError(f"The file {filename!r} is not a readable image.") from None


def _too_large(filename: str, size: str) -> UserError:
    return UserError(
        f"The image {filename!r} is too large ({size}); at most {budget.IMAGE_PIXELS:,} pixels are "
        "allowed per image."
    )


def read_header(data: bytes, filename: str) -> ImageHeader:
    """The image's header, refused over ``budget.IMAGE_PIXELS`` before anything is decoded."""
    with _opened(data, filename) as image:
        width, height = image.size
        if width * height > budget.IMAGE_PIXELS:
            raise _too_large(filename, f"{width}x{height} pixels")
        animated = bool(getattr(image, "is_animated", False))
        return ImageHeader(image.size, image.mode not in GREY_MODES, animated, image.has_transparency_data)


def decode_image(data: bytes, filename: str, size: tuple[int, int], mode: str) -> np.ndarray:
    """The first frame as uint8 pixels of ``size`` in ``mode`` ("L" or "RGB"): a JPEG decoded at the
    smallest scale that covers ``size``, wide greyscale scaled to 8 bits, transparency laid over white.
    """
    with _opened(data, filename) as image:
        image.draft(mode, size)
        return np.asarray(_flatten(_narrow(image).resize(size, reducing_gap=3.0), mode))


def _narrow(image: Image.Image) -> Image.Image:
    """The image in a mode that resizes correctly: L, RGB, or RGBA when it has transparency."""
    if image.mode in WIDE_SCALE:
        scaled = np.asarray(image, dtype=np.float32) * WIDE_SCALE[image.mode]
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8))
    if image.has_transparency_data:
        return image.convert("RGBA")
    return image.convert("L" if image.mode in GREY_MODES else "RGB")


def _flatten(image: Image.Image, mode: str) -> Image.Image:
    """Transparent parts laid over white, then the set's mode."""
    if image.mode == "RGBA":
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image)
    return image.convert(mode)


def image_dataset(
    info: DatasetInfo,
    settings: ParamValues,
    pixels: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    notes: list[str] | None = None,
) -> Dataset:
    """Scale uint8 images to [0, 1], add a channel axis if needed, and split them seeded."""
    budget.check_values(len(pixels), pixels[0].size if len(pixels) else 0, "Use fewer images.")
    images = pixels.astype(np.float32) / 255.0
    if images.ndim == 3:
        images = images[..., np.newaxis]
    labels = labels.astype(np.int32)
    train, validation, test = shuffled_splits(len(images), settings.get("seed", 0))
    return Dataset(
        info=info,
        settings=settings,
        signature=Signature(Shape(IMAGE, images.shape[1:]), "classification", len(class_names)),
        train=Split(images[train], labels[train]),
        validation=Split(images[validation], labels[validation]),
        test=Split(images[test], labels[test]),
        class_names=class_names,
        notes=notes or [],
    )


def load_npz_images(info: DatasetInfo, settings: ParamValues) -> Dataset:
    with np.load(DATA_DIR / f"{info.id}.npz") as archive:
        pixels, labels = archive["x"], archive["y"]
    return image_dataset(info, settings, pixels, labels, [str(d) for d in range(10)])
