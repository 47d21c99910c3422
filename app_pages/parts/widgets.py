"""Widgets made from Params, and text made safe and readable for the screen."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from core.datasets import DATASETS, Dataset
from core.datasets.registry import column_unit
from core.datasets.series import written_unit
from core.params import Param

MARKDOWN_MARKS = re.compile(r"([\\`*_{}\[\]()#+\-!|~<>$:])")


def dataset_title(dataset: Dataset) -> str:
    return f"{dataset.info.name} · {dataset.info.modality} · {dataset.signature.task}"


def with_unit(name: str, unit: str | None) -> str:
    """A name with its unit in brackets ("co2 (ppm)"), unless the unit is unknown or the name ends with it."""
    if not unit or written_unit(name) == unit:
        return name
    return f"{name} ({unit})"


def target_unit(record: dict[str, Any]) -> str:
    """The unit of a forecasting run's target, or "<target> units" where the data does not say it."""
    target = record["metrics"]["forecast"]["target"]
    return column_unit(record["dataset"], target) or f"{target} units"


def param_widget(param: Param, value: Any, key: str, disabled: bool = False) -> Any:
    """One widget for one Param: bounds, choices and help text come from its definition."""
    common = {"help": param.help, "key": key, "disabled": disabled}
    if param.kind == "bool":
        return st.toggle(param.label, value=bool(value), **common)
    if param.kind == "choice":
        return st.selectbox(param.label, param.choices, index=param.choices.index(value), **common)
    cast = int if param.kind == "int" else float
    step = {"step": 1} if param.kind == "int" else {"format": "%g"}
    return cast(
        st.number_input(
            param.label,
            min_value=cast(param.min),
            max_value=cast(param.max),
            value=cast(value),
            **step,
            **common,
        )
    )


def param_widgets(
    params: tuple[Param, ...], values: dict[str, Any], key: str, columns: int = 3
) -> dict[str, Any]:
    """A row of widgets for a group of Params; returns the values the visitor set."""
    if not params:
        return {}
    slots = st.columns(min(columns, len(params)))
    result = {}
    for index, param in enumerate(params):
        with slots[index % len(slots)]:
            result[param.name] = param_widget(
                param, values.get(param.name, param.default), f"{key}:{param.name}"
            )
    return result


def held_values(params: tuple[Param, ...], values: dict[str, Any], key: str) -> dict[str, Any]:
    """What the widgets ``param_widgets`` drew under ``key`` hold now: in a button's callback, a value
    changed in the same click is already there, before the page reruns. ``values`` fills any not drawn.
    """
    return {param.name: st.session_state.get(f"{key}:{param.name}", values[param.name]) for param in params}


def format_number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def dataset_names(modality: str, origin: str) -> list[str]:
    return [name for name, info in DATASETS.items() if info.modality == modality and info.origin == origin]


def literal(text: Any) -> str:
    """Text from a visitor, a link, a bundle or a file, shown as itself where Streamlit reads Markdown:
    the marks that make links, images, emphasis, code, headings, lists, tables, maths and Streamlit's
    directives are escaped, so none of them can form.
    """
    return MARKDOWN_MARKS.sub(r"\\\1", str(text))


def sentence(text: str) -> str:
    """A phrase as a sentence: first letter up, a full stop at the end, the rest untouched."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""
