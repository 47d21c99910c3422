"""Datasets: built-in files, Keras downloads and uploads, all loaded into the same splits."""

from core.datasets.base import Dataset, DatasetInfo, Split
from core.datasets.registry import DATASETS, get_info, load_dataset

__all__ = ["DATASETS", "Dataset", "DatasetInfo", "Split", "get_info", "load_dataset"]
