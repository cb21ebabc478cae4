"""Bad input: one exception, one message naming the file, the dotted key and the allowed values.

The CLI turns `BadInput` into exit code 2 before Ray or MLflow are touched.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from trainers.registry import UNKNOWN_NAME, registry_of


class BadInput(Exception):
    """A user error in a sweep file or on the command line; the message is the whole report."""


def shown(key: Any) -> str:
    """A key as an error line shows it: as written, or quoted where it holds a line break, a control
    character or nothing (a key "\\r" must not split the one line of its error in two)."""
    text = str(key)
    return text if text and text.isprintable() else repr(text)


def dotted(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{shown(part)}" if out else shown(part))
    return out


def resolve(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], type[BaseModel] | None, str]:
    """Walk a pydantic error location through `model`: the location as the user wrote it (the tags
    pydantic adds for a registry variant, e.g. ('loss', 'CrossEntropy', 'gamma'), left out), the
    model holding its last key, and a label for that model ("loss 'ce'") when it is a variant."""
    clean: list[Any] = []
    holder: type[BaseModel] | None = model
    label, parts = "", list(loc)
    while parts and holder is not None:
        part = parts.pop(0)
        clean.append(part)
        if not parts:
            break
        field = holder.model_fields.get(part) if isinstance(part, str) else None
        registry = registry_of(field)
        if registry is not None:
            tag = parts.pop(0)
            holder = next((cls for cls in registry.variants() if cls.__qualname__ == tag), None)
            label = f"{registry.kind} {holder.names()[0]!r}" if holder and len(holder.names()) == 1 else registry.kind
            continue
        annotation = field.annotation if field else None
        if typing.get_origin(annotation) is dict and parts:  # dict[str, Model]: the key, then the model
            clean.append(parts.pop(0))
            annotation = typing.get_args(annotation)[1]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # Model | None
            annotation = next(
                (a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)), None
            )
        holder = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        label = ""
    return (*clean, *parts), holder, label


def describe(error: dict[str, Any], model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """One pydantic error as 'message (allowed: ...)'; unknown keys list the keys that exist."""
    if error["type"] == "extra_forbidden":
        _, holder, label = resolve(model, loc)
        keys = sorted(holder.keys() if hasattr(holder, "keys") else holder.model_fields) if holder else []
        return f"unknown key{' for ' + label if label else ''}" + (f"; allowed keys: {', '.join(keys)}" if keys else "")
    if error["type"] == UNKNOWN_NAME:
        got = error["input"].get("name") if isinstance(error["input"], dict) else error["input"]
        return f"{error['msg']} (got {got!r})"
    message = error["msg"].removeprefix("Value error, ")
    if "input" in error and error["type"] != "missing" and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    return message


def user_loc(error: dict[str, Any], model: type[BaseModel]) -> tuple[Any, ...]:
    """Where the user put the offending value: tags left out; an unknown variant name is at `.name`."""
    loc, _, _ = resolve(model, tuple(error["loc"]))
    return (*loc, "name") if error["type"] == UNKNOWN_NAME else loc


def from_validation(error: ValidationError, source: str, model: type[BaseModel], where=dotted) -> BadInput:
    """Turn a pydantic ValidationError into BadInput, one line per problem: 'file: key: message'."""
    lines = []
    for item in error.errors():
        key = where(user_loc(item, model)) or "(top level)"
        lines.append(f"{source}: {key}: {describe(item, model, tuple(item['loc']))}")
    return BadInput("\n".join(lines))


OK, TRIAL_FAILED, BAD_INPUT, INTERRUPTED = 0, 1, 2, 130  # 130: stopped by a signal (128 + SIGINT)
