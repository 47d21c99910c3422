"""A dataset from its plain description: a visitor's choice or a run's config."""

from __future__ import annotations

from typing import Any

from core.datasets import keras_classics, uploads
from core.datasets.base import Dataset
from core.datasets.registry import get_info, load_dataset
from core.errors import UserError

UPLOAD_READERS = {
    "series": uploads.series_upload,
    "text": uploads.text_upload,
    "images": uploads.images_upload,
}


def load_described(
    description: dict[str, Any], upload_data: bytes | None = None, fetch_missing: bool = False
) -> Dataset:
    """Load ``{"id", "settings", "limit"?, "upload"?}``; an upload's bytes come from the caller.

    A Keras classic not downloaded yet raises ``NotFetched``, or with ``fetch_missing`` (in a
    process that may import Keras) is downloaded first.
    """
    upload = description.get("upload")
    settings = description.get("settings", {})
    if upload:
        if upload_data is None:
            raise UserError(f"The uploaded file {upload['name']} is gone; upload it again on the Data page.")
        dataset = UPLOAD_READERS[upload["kind"]](
            upload_data, upload["name"], **upload["options"], settings=settings
        )
    else:
        try:
            dataset = load_dataset(description["id"], settings)
        except keras_classics.NotFetched:
            if not fetch_missing:
                raise
            keras_classics.fetch(description["id"])
            dataset = load_dataset(description["id"], settings)
    limit = description.get("limit")
    return dataset.head(limit) if limit else dataset


def described_kind(description: dict[str, Any]) -> tuple[str, str]:
    """The name and the kind of data (images, text or series) a description names, without loading it."""
    upload = description.get("upload")
    if upload:
        return upload["name"], upload["kind"]
    info = get_info(description["id"])
    return info.name, info.modality
