"""Bad input: one exception, one message naming the file, the dotted key and the allowed values.

The CLI turns `BadInput` into exit code 2 before Ray or MLflow are touched.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


class BadInput(Exception):
    """A user error in a sweep file or on the command line; the message is the whole report."""


def dotted(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(model: type[BaseModel], path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the keys at `path`, for listing allowed keys."""
    for part in path:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def allowed_keys(model: type[BaseModel], parent: tuple[Any, ...]) -> list[str]:
    found = _model_at(model, parent)
    return sorted(found.model_fields) if found else []


def describe(error: dict[str, Any], model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """One pydantic error as 'message (allowed: ...)'; unknown keys list the keys that exist."""
    if error["type"] == "extra_forbidden":
        keys = allowed_keys(model, loc[:-1])
        return "unknown key" + (f"; allowed keys: {', '.join(keys)}" if keys else "")
    message = error["msg"].removeprefix("Value error, ")
    if "input" in error and error["type"] != "missing" and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    return message


def from_validation(error: ValidationError, source: str, model: type[BaseModel], where=dotted) -> BadInput:
    """Turn a pydantic ValidationError into BadInput, one line per problem: 'file: key: message'."""
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        key = where(loc) or "(top level)"
        lines.append(f"{source}: {key}: {describe(item, model, loc)}")
    return BadInput("\n".join(lines))

