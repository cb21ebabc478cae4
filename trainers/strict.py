"""The base of every config model (sweep spec, trial sections, plug-in variants): what a sweep file
may not say, checked where pydantic names the dotted key.

- Unknown keys are errors, values are frozen.
- Floats are finite: `optim.lr: .inf` or `classifier.bias_init_mean: .inf` validate under plain
  pydantic and the trial then diverges; no ncsweep key means anything with an infinity.
- A number is never a boolean: YAML's `true` is Python's 1, so plain pydantic takes
  `train.batch_size: true` as a batch of 1 and `seeds: [true, false]` as seeds 1 and 0. A field
  whose type is int or float (alone, optional, or in a list or tuple) refuses booleans; a field
  that admits bool itself (`train.channels_last: auto | true | false`) is left alone.
- A key that applies only with another key's value (`optim.base_batch_size` with linear lr scaling,
  `train.crop_padding` with DA1) is None when it does not apply, and left out of every dump (the
  MLflow params, the config tag): a trial records only what it used.
"""

from __future__ import annotations

import types
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_serializer


def expects_numbers(annotation: Any) -> bool:
    """True for int, float, their Optional, and lists/tuples of them; False where bool is allowed."""
    if annotation in (int, float):
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return expects_numbers(args[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return bool(members) and bool not in members and all(expects_numbers(a) for a in members)
    if origin in (list, tuple, set, frozenset):
        return any(expects_numbers(a) for a in args if a is not Ellipsis)
    return False


def has_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, (list, tuple)) and any(has_boolean(v) for v in value)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    omitted_when_none: ClassVar[tuple[str, ...]] = ()  # fields left out of dumps while None (they do not apply)

    @model_serializer(mode="wrap")
    def _without_keys_that_do_not_apply(self, handler):
        out = handler(self)
        for key in self.omitted_when_none:
            if isinstance(out, dict) and key in out and out[key] is None:
                del out[key]
        return out

    @classmethod
    def keys(cls) -> dict[str, Any]:
        """The keys a config file writes (a field's alias where it has one: `lambda` is a Python
        keyword) -> their pydantic fields."""
        return {field.alias or name: field for name, field in cls.model_fields.items()}

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and has_boolean(value) and expects_numbers(field.annotation):
            raise ValueError("expected a number, not a boolean")
        return value
