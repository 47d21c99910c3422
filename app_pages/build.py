"""Build: edit named models layer by layer, with live validation, shape trace, diagram and code."""

from typing import Any

import pandas as pd
import streamlit as st

from app_pages.parts.services import current_dataset
from app_pages.parts.sharing import share_link, share_note
from app_pages.parts.visitor import entry, models_for, new_uid, spec_of, unique_name
from app_pages.parts.widgets import dataset_title, literal, param_widgets, sentence
from core.errors import SpecError, UserError
from core.model.codegen import model_code
from core.model.diagram import to_dot
from core.model.layers import KINDS
from core.model.param_match import SMALLEST, TOLERANCE, match_models
from core.model.presets import presets_for
from core.model.receptive_field import receptive_field, step_unit
from core.model.spec import ModelSpec
from core.model.trace import Limits, TraceRow, trace_model

EMPTY = "(empty)"
ACTION_POPOVERS = ("build:popover:new", "build:popover:rename", "build:popover:delete")
ROW_MARKS = {"input": "in", "adapter": "+", "head": "out"}
MATCH_TARGETS = ("The smallest of them", "A number")
COUNT = st.column_config.NumberColumn(format="localized")


def short_label(row: TraceRow) -> str:
    """The kind of a trace row, with its role where the builder added it."""
    if row.role == "layer":
        return row.kind
    if row.role == "input":
        return "Input"
    return f"{row.call.cls} ({'output head' if row.role == 'head' else 'input adapter'})"


dataset = current_dataset()
if dataset is None:
    st.stop()
models = models_for(dataset)
select_key = f"build:model:{dataset.info.id}"
match_key = f"build:match:result:{dataset.info.id}"


# ---- actions (run as callbacks, before the page redraws) ------------------------------------


def select(name: str) -> None:
    """Show this model, with the popover of the action that chose it closed."""
    st.session_state[select_key] = name
    for key in ACTION_POPOVERS:
        st.session_state[key] = False


def create(name: str, preset: str) -> None:
    spec = presets_for(dataset.signature)[preset] if preset != EMPTY else ModelSpec(name)
    name = unique_name(name.strip() or "Model", models)
    spec.name = name
    models[name] = entry(spec)
    select(name)


def duplicate(name: str) -> None:
    copy = unique_name(f"{name} copy", models)
    spec = ModelSpec.from_dict({**models[name]["spec"], "name": copy})
    models[copy] = entry(spec)
    select(copy)


def rename(name: str, key: str) -> None:
    new = st.session_state[key].strip()
    if new and new != name and new not in models:
        renamed = [(new if key == name else key, model) for key, model in models.items()]
        models.clear()
        models.update(renamed)  # in place, so the model keeps its place in the list
        models[new]["spec"]["name"] = new
        select(new)


def delete(name: str) -> None:
    models.pop(name)
    select(next(iter(models), None))


def move(model: dict[str, Any], index: int, offset: int) -> None:
    layers, uids = model["spec"]["layers"], model["uids"]
    target = index + offset
    if 0 <= target < len(layers):
        layers[index], layers[target] = layers[target], layers[index]
        uids[index], uids[target] = uids[target], uids[index]


def copy_layer(model: dict[str, Any], index: int) -> None:
    model["spec"]["layers"].insert(index + 1, dict(model["spec"]["layers"][index]))
    model["uids"].insert(index + 1, new_uid())


def remove_layer(model: dict[str, Any], index: int) -> None:
    del model["spec"]["layers"][index]
    del model["uids"][index]


def add_layer(model: dict[str, Any], key: str) -> None:
    kind = KINDS[st.session_state[key]]
    model["spec"]["layers"].append({"kind": kind.name, **{p.name: p.default for p in kind.params}})
    model["uids"].append(new_uid())


def match(chosen: list[str], number: int | None) -> None:
    """Scale the chosen models' widths to one parameter count; the scaled specs replace theirs (with new
    layer ids, so the layer widgets show the new widths), and the before/after rows are kept to show.
    """
    try:
        specs = [spec_of(models[name]) for name in chosen]
        matched = match_models(specs, dataset.signature, SMALLEST if number is None else number)
    except UserError as error:
        st.session_state[match_key] = str(error)
        return
    rows = []
    for name, scaled in zip(chosen, matched, strict=True):
        models[name] = entry(scaled.spec)
        rows.append(
            {
                "Model": name,
                "Parameters before": scaled.before,
                "Parameters after": scaled.after,
                "Change %": round(scaled.change, 1),
            }
        )
    st.session_state[match_key] = rows


def match_parameters(names: list[str]) -> None:
    """The Match parameters control: which models, to what target, and the last match's before/after."""
    st.caption(
        "Scales the widths (units, filters, embedding sizes) of each model by one factor so its parameter "
        f"count lands within {TOLERANCE:.0%} of the target; layers and other settings stay as they are."
    )
    row = st.columns([2.6, 2.8, 1.5, 1], vertical_alignment="bottom")
    chosen = row[0].multiselect("Models to match", names, default=names)
    target = row[1].radio(
        "Target", MATCH_TARGETS, horizontal=True, key=f"build:match:target:{dataset.info.id}"
    )
    number = row[2].number_input(
        "Parameters",
        min_value=1,
        max_value=Limits.from_env().max_params,
        value=10_000,
        step=1_000,
        disabled=target != MATCH_TARGETS[1],
        key=f"build:match:number:{dataset.info.id}",
    )
    row[3].button(
        "Match",
        type="primary",
        key="build:match",
        on_click=match,
        args=(chosen, number if target == MATCH_TARGETS[1] else None),
        disabled=not chosen,
        width="stretch",
    )
    result = st.session_state.get(match_key)
    if isinstance(result, str):
        st.error(literal(result))
    elif result:
        st.dataframe(
            pd.DataFrame(result),
            hide_index=True,
            column_config={
                "Parameters before": COUNT,
                "Parameters after": COUNT,
                "Change %": st.column_config.NumberColumn(format="%+.1f%%"),
            },
        )


# ---- page ----------------------------------------------------------------------------------

st.title("Build")
st.caption(f"{dataset_title(dataset)} · each sample is {dataset.signature.input}")

bar = st.columns([2, 1, 1.4, 1.3, 1.1, 1.1], vertical_alignment="bottom")
names = list(models)
if st.session_state.get(select_key) not in names:
    st.session_state[select_key] = names[0] if names else None
with bar[0]:
    name = st.selectbox("Model", names, key=select_key, placeholder="No model yet: create one")
with bar[1].popover("New", icon=":material/add:", width="stretch", key=ACTION_POPOVERS[0], on_change="rerun"):
    presets = [*presets_for(dataset.signature), EMPTY]
    preset = st.selectbox("Start from", presets, key="build:new:preset")
    new_name = st.text_input(
        "Name", value=preset if preset != EMPTY else "My model", key=f"build:new:name:{preset}"
    )
    st.button("Create", type="primary", on_click=create, args=(new_name, preset))
if name is not None:
    bar[2].button(
        "Duplicate", icon=":material/content_copy:", on_click=duplicate, args=(name,), width="stretch"
    )
    with bar[3].popover(
        "Rename", icon=":material/edit:", width="stretch", key=ACTION_POPOVERS[1], on_change="rerun"
    ):
        rename_key = f"build:rename:{name}"
        st.text_input("New name", value=name, key=rename_key, on_change=rename, args=(name, rename_key))
    with bar[4].popover(
        "Delete", icon=":material/delete:", width="stretch", key=ACTION_POPOVERS[2], on_change="rerun"
    ):
        st.markdown(f"Delete **{literal(name)}** and its layers? This cannot be undone.")
        st.button("Delete it", type="primary", on_click=delete, args=(name,), key="build:delete")
    with bar[5].popover("Share", icon=":material/share:", width="stretch"):
        try:
            link = share_link(dataset, models)
        except (UserError, SpecError) as error:
            st.error(literal(error))
        else:
            st.markdown(share_note(dataset, len(models)))
            st.code(link, language=None, wrap_lines=True)
    with st.expander("Match parameters: give the models equal parameter budgets", icon=":material/balance:"):
        match_parameters(names)

if name is None:
    st.info("Create a model from a preset, or start from empty.")
    st.stop()

model = models[name]
stack, side = st.columns([11, 9], gap="large")
problem_slots = []
with stack:
    st.subheader("Layers")
    st.caption("Input → " + str(dataset.signature.input))
    layers = model["spec"]["layers"]
    for index, (layer, uid) in enumerate(zip(layers, model["uids"], strict=True)):
        kind = KINDS[layer["kind"]]
        with st.container(border=True):
            head = st.columns([6, 1, 1, 1, 1], vertical_alignment="center")
            head[0].markdown(f"**{index + 1}. {kind.name}** &nbsp; :gray[{kind.description}]")
            actions = [
                ("arrow_upward", "up", "Move up", move, (model, index, -1), index == 0),
                ("arrow_downward", "down", "Move down", move, (model, index, 1), index == len(layers) - 1),
                ("content_copy", "copy", "Duplicate", copy_layer, (model, index), False),
                ("close", "remove", "Remove", remove_layer, (model, index), False),
            ]
            for cell, (icon, action, label, callback, args, disabled) in zip(head[1:], actions, strict=True):
                cell.button(
                    "",
                    icon=f":material/{icon}:",
                    key=f"{action}:{uid}",
                    help=label,
                    on_click=callback,
                    args=args,
                    disabled=disabled,
                )
            layer.update(param_widgets(kind.params, layer, key=f"layer:{uid}", columns=4))
            problem_slots.append(st.empty())
    add = st.columns([3, 1], vertical_alignment="bottom")
    kind_key = f"build:add:{name}"
    add[0].selectbox(
        "Add a layer", list(KINDS), key=kind_key, format_func=lambda k: f"{k} · {KINDS[k].description}"
    )
    add[1].button("Add", icon=":material/add:", on_click=add_layer, args=(model, kind_key), width="stretch")

try:
    spec = ModelSpec.from_dict(model["spec"])
except SpecError as error:
    for problem in error.problems:
        st.error(literal(problem))
    st.stop()
trace = trace_model(spec, dataset.signature)
for row in trace.rows:
    if row.number and row.problem:
        problem_slots[row.number - 1].error(literal(sentence(row.problem)), icon=":material/error:")

with side:
    if trace.ok:
        st.success(
            f"**{literal(name)}** is valid: {trace.total_params:,} parameters, family **{spec.family}**."
        )
    else:
        for problem in trace.problems:
            if not problem.startswith("Layer "):
                st.error(literal(problem))
        st.warning(f"{len(trace.problems)} problem(s) to fix before this model can train.")
    shapes, diagram, code = st.tabs(["Shapes", "Diagram", "Keras code"])
    with shapes:
        for row in trace.rows:  # one line per layer: it wraps at any width, so nothing is cut
            shape = f"`{row.shape}`" if row.shape else "–"
            note = f"  \n:gray[{literal(row.note or row.problem)}]" if row.note or row.problem else ""
            mark = ROW_MARKS.get(row.role, str(row.number))
            st.markdown(f"**{mark}** {literal(short_label(row))} → {shape} · {row.params:,} parameters{note}")
        st.metric("Parameters in total", f"{trace.total_params:,}")
        st.caption(receptive_field(spec).sentence(step_unit(dataset.signature)))
    with diagram:
        st.graphviz_chart(to_dot(trace), width="stretch")
    with code:
        st.code(model_code(trace, dataset.signature), language="python")
    st.page_link("app_pages/train.py", label="Next: train these models", icon=":material/arrow_forward:")
