"""Registries of plug-in variants (losses, models, datasets): the one list of their names.

A variant is a frozen pydantic model whose `name` field is a `Literal` of the names it answers to;
defining the class registers it (as timm's `@register_model` does, without the decorator). The
registry then gives the config field type: a pydantic discriminated union on `name`, so each
variant validates only its own keys (`loss: {name: ce, gamma: 2}` is an unknown key for `ce`), and
an unknown name is one error that lists every registered name. Config validation, the CLI
(`ncsweep list`) and the generated tables of docs/ read these registries; nothing else spells the names out.

Nothing here imports torch: reading a sweep file must not pay torch's seconds of import time, so
variants import their implementation inside their methods.
"""

from __future__ import annotations

import importlib
import pkgutil
import typing
from collections.abc import Iterable
from typing import Any, ClassVar, Union

from pydantic import Discriminator, Tag

from trainers.strict import StrictModel

UNKNOWN_NAME = "unknown_variant_name"  # pydantic error type of an unregistered name


class Variant(StrictModel):
    """Base of a registered config variant. Subclasses set `registry` (on the family's base class)
    and a `name: Literal[...]` field; a `prefix` ClassVar instead claims every name starting with
    it (`timm:` for any timm model). Strict as every config model (trainers/strict.py)."""

    registry: ClassVar[Registry | None] = None
    prefix: ClassVar[str | None] = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.registry is not None and "name" in cls.__annotations__:
            cls.registry.add(cls)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The names this variant answers to (its Literal's values, or its prefix)."""
        if cls.prefix:
            return (f"{cls.prefix}<name>",)
        return typing.get_args(cls.model_fields["name"].annotation)


class Registry:
    """Name -> variant class of one family; `field()` is the config field's type."""

    def __init__(self, kind: str, default: str):
        self.kind, self.default = kind, default
        self._by_name: dict[str, type[Variant]] = {}
        self._by_prefix: dict[str, type[Variant]] = {}

    def add(self, cls: type[Variant]) -> None:
        if cls.prefix:
            self._by_prefix[cls.prefix] = cls
            return
        for name in cls.names():
            if name in self._by_name and self._by_name[name] is not cls:
                raise ValueError(
                    f"{self.kind} name {name!r} is registered twice: {self._by_name[name].__qualname__} and "
                    f"{cls.__qualname__}"
                )
            self._by_name[name] = cls

    def names(self) -> list[str]:
        """Every registered name, in registration order (prefixes shown as `prefix<name>`)."""
        return [*self._by_name, *(f"{p}<name>" for p in self._by_prefix)]

    def variants(self) -> list[type[Variant]]:
        return list(dict.fromkeys([*self._by_name.values(), *self._by_prefix.values()]))

    def lookup(self, name: Any) -> type[Variant] | None:
        if not isinstance(name, str):
            return None
        if name in self._by_name:
            return self._by_name[name]
        return next((cls for prefix, cls in self._by_prefix.items() if name.startswith(prefix)), None)

    def tag(self, name: Any) -> str | None:
        cls = self.lookup(name)
        return None if cls is None else cls.__qualname__

    def _tag_of(self, value: Any) -> str | None:
        name = value.get("name", self.default) if isinstance(value, dict) else getattr(value, "name", None)
        return self.tag(name)

    def field(self) -> Any:
        """The discriminated union of every variant registered so far (call it after they are)."""
        members = tuple(typing.Annotated[cls, Tag(cls.__qualname__)] for cls in self.variants())
        message = f"unknown {self.kind} name; registered: {', '.join(self.names())}"
        return typing.Annotated[
            Union[members],  # noqa: UP007 - a runtime-built union needs the subscript form
            Discriminator(self._tag_of, custom_error_type=UNKNOWN_NAME, custom_error_message=message),
            self,
        ]

    def default_value(self) -> Variant:
        return self._by_name[self.default]()

    def make(self, **values: Any) -> Variant:
        """The variant named by values['name'] (default: the registry's), validated."""
        cls = self.lookup(values.get("name", self.default))
        if cls is None:
            raise ValueError(f"unknown {self.kind} name {values.get('name')!r}; registered: {', '.join(self.names())}")
        return cls.model_validate(values)


def registry_of(field: Any) -> Registry | None:
    """The Registry behind a pydantic field whose type `Registry.field` made, if any."""
    return next((m for m in getattr(field, "metadata", ()) if isinstance(m, Registry)), None)


def import_plugins(package: str, path: Iterable[str], first: Iterable[str] = (), helpers: Iterable[str] = ()) -> None:
    """Import every plug-in module of a family's package, so that each registers itself: `first` in
    that order (the order `ncsweep list` and the docs show), then the others by name. `base`,
    `helpers` (modules that are not plug-ins, often importing torch) and `_private` modules are
    skipped. Every family (losses, heads, models, datasets, metrics, optimizers, schedules,
    augmentations) discovers its plug-ins through this one function."""
    skip = {"base", *helpers}
    for module in dict.fromkeys([*first, *sorted(m.name for m in pkgutil.iter_modules(path))]):
        if module not in skip and not module.startswith("_"):
            importlib.import_module(f"{package}.{module}")
