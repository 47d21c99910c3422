"""Errors a person can cause, each told in one plain sentence."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what someone gave us (data, a model, a link); its message is one sentence."""


class SpecError(UserError):
    """A model or setting that fails validation; carries every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))
