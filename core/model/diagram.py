"""An architecture diagram (Graphviz DOT) of a traced model: one box per layer, shapes on the edges."""

from __future__ import annotations

from core.model.layers import KINDS
from core.model.trace import Trace

COLOURS = {
    "input": "#E8EEF7",
    "adapter": "#F3F3F3",
    "head": "#E8EEF7",
    "convolution": "#D6E9D0",
    "pooling": "#EAF4E6",
    "recurrent": "#F6DFC8",
    "embedding": "#F9EDD8",
    "dense": "#DDE4F0",
    "regularization": "#F1F1F1",
    "reshape": "#F1F1F1",
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(trace: Trace) -> str:
    lines = [
        "digraph model {",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, color="#9AA5B1"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#6B7785"];',
    ]
    for index, row in enumerate(trace.rows):
        category = KINDS[row.kind].category if row.kind else row.role
        name = f"{row.number}. {row.label}" if row.number else row.label
        border = ', color="#C0392B", penwidth=2' if row.problem else ""
        fill = _quote(COLOURS.get(category, "#FFFFFF"))
        lines.append(f"  n{index} [label={_quote(name)}, fillcolor={fill}{border}];")
        if index:
            previous = trace.rows[index - 1].shape
            lines.append(f"  n{index - 1} -> n{index} [label={_quote(' ' + str(previous or '?'))}];")
    lines.append("}")
    return "\n".join(lines)
