"""Frozen value classes without the ``dataclasses`` module, for commands that must start fast.

``@dataclass(frozen=True)`` writes each class's methods as source code and compiles them with
``exec`` when the class is created (about 0.5-2 ms a class), and importing ``dataclasses``
loads ``inspect``, ``ast`` and ``dis``. check_galera paid that on every run for the value
types it touches: some 40 % of what it added to its libraries' start-up.
:func:`record` gives a class what those types rely on -- construction by position or keyword
with defaults, ``__post_init__``, equality and hashing by field values, a dataclass-style
``repr()`` and immutability -- with methods shared by every record class, so creating one
costs what a plain class costs.

Fields are those of a record base class, then the class's own annotations, in order (one
declared again keeps its place and takes the new default), as with dataclasses; a class
attribute of the same name is the default. :func:`field` gives a default factory or keeps a
field out of ``repr()``. :func:`fields`, :func:`asdict` and :func:`replace` stand in for
their ``dataclasses`` namesakes (``asdict`` is shallow).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing would cost more than this module saves
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    R = TypeVar("R")
else:

    def dataclass_transform(**_options: object) -> Callable[[R], R]:
        return lambda decorator: decorator


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a record (as dataclasses' own error, an AttributeError)."""


class _Field:
    __slots__ = ("default", "factory", "repr")

    def __init__(self, default: object, factory: Callable[[], object] | None, repr: bool) -> None:
        self.default, self.factory, self.repr = default, factory, repr


_NO_DEFAULT = object()


def field(*, default: Any = _NO_DEFAULT, default_factory: Callable[[], Any] | None = None, repr: bool = True) -> Any:
    """A field's default, or a factory for a fresh default (a mutable value); ``repr=False`` for
    secrets."""
    return _Field(default, default_factory, repr)


def _is_class_var(annotation: object) -> bool:
    """``ClassVar[...]``, as text (``from __future__ import annotations``) or as the object."""
    return str(annotation).startswith(("ClassVar", "typing.ClassVar"))


class _Spec:
    """What the shared methods need to know about one record class."""

    __slots__ = ("defaults", "factories", "names", "repr_names")

    def __init__(self, cls: type) -> None:
        # a record base's fields first, in their order (as a dataclass inherits its bases' fields)
        names: dict[str, None] = {}
        self.defaults: dict[str, object] = {}
        self.factories: dict[str, Callable[[], object]] = {}
        hidden: set[str] = set()
        for base in reversed(cls.__mro__[1:]):
            spec: _Spec | None = base.__dict__.get("__record__")
            if spec is not None:
                names.update(dict.fromkeys(spec.names))
                self.defaults.update(spec.defaults)
                self.factories.update(spec.factories)
                hidden.update(name for name in spec.names if name not in spec.repr_names)
        # then the class's own annotations (Python >= 3.10), but not ClassVar ones: those are no
        # fields; one it declares again keeps its place and takes its new default
        annotations = cls.__annotations__.items()
        own = [name for name, kind in annotations if not _is_class_var(kind)]
        names.update(dict.fromkeys(own))
        self.names: tuple[str, ...] = tuple(names)
        for name in own:
            self.defaults.pop(name, None)
            self.factories.pop(name, None)
            hidden.discard(name)
            value = cls.__dict__.get(name, _NO_DEFAULT)
            if isinstance(value, _Field):
                if not value.repr:
                    hidden.add(name)
                if value.factory is not None:
                    self.factories[name] = value.factory
                    delattr(cls, name)
                    continue
                value = value.default
                if value is _NO_DEFAULT:
                    delattr(cls, name)
                else:
                    setattr(cls, name, value)
            if isinstance(value, list | dict | set):  # one instance shared by every record: use field()
                raise TypeError(f"{cls.__name__}: mutable default for field {name!r}: use field(default_factory=...)")
            if value is not _NO_DEFAULT:
                self.defaults[name] = value
        defaulted = False
        for name in self.names:
            if name in self.defaults or name in self.factories:
                defaulted = True
            elif defaulted:
                raise TypeError(f"{cls.__name__}: field {name!r} without a default follows one with a default")
        self.repr_names = tuple(name for name in self.names if name not in hidden)


def _init(self: object, *args: object, **kwargs: object) -> None:
    spec: _Spec = type(self).__record__  # type: ignore[attr-defined]
    names = spec.names
    if len(args) > len(names):
        raise TypeError(f"{type(self).__name__}() takes {len(names)} arguments, {len(args)} given")
    values = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name in values or name not in names:
            why = "got multiple values for" if name in values else "got an unexpected keyword"
            raise TypeError(f"{type(self).__name__}() {why} argument {name!r}")
        values[name] = value
    if len(values) < len(names):
        for name in names:
            if name not in values:
                if name in spec.defaults:
                    values[name] = spec.defaults[name]
                elif name in spec.factories:
                    values[name] = spec.factories[name]()
                else:
                    raise TypeError(f"{type(self).__name__}() missing argument {name!r}")
    self.__dict__.update(values)
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:
        post_init()


def _astuple(self: object) -> tuple[object, ...]:
    values = self.__dict__
    return tuple([values[name] for name in type(self).__record__.names])  # type: ignore[attr-defined]


def _eq(self: object, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _astuple(self) == _astuple(other)


def _hash(self: object) -> int:
    return hash(_astuple(self))


def _repr(self: object) -> str:
    values = self.__dict__
    names = type(self).__record__.repr_names  # type: ignore[attr-defined]
    return f"{type(self).__qualname__}({', '.join(f'{name}={values[name]!r}' for name in names)})"


def _setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[R]) -> type[R]:
    """Make ``cls`` a frozen record (see the module's docstring)."""
    spec = _Spec(cls)
    cls.__record__ = spec  # type: ignore[attr-defined]
    cls.__match_args__ = spec.names  # type: ignore[attr-defined]
    if "__eq__" in cls.__dict__ and cls.__dict__.get("__hash__") is None:
        raise TypeError(f"{cls.__name__}: a record's equality is its fields'; define no __eq__ of its own")
    for name, method in (
        ("__init__", _init),
        ("__repr__", _repr),
        ("__eq__", _eq),
        ("__hash__", _hash),
        ("__setattr__", _setattr),
        ("__delattr__", _delattr),
    ):
        if name not in cls.__dict__:
            setattr(cls, name, method)
    return cls


def fields(item: object) -> tuple[str, ...]:
    """The field names of a record or record class, in order."""
    return (item if isinstance(item, type) else type(item)).__record__.names  # type: ignore[attr-defined]


def asdict(item: R) -> dict[str, Any]:
    """A record's fields as a dict (values as they are: records inside stay records)."""
    return {name: item.__dict__[name] for name in fields(item)}


def replace(item: R, **changes: Any) -> R:
    """A copy of a record with some fields changed; built through ``__init__``, so checked again."""
    return type(item)(**(asdict(item) | changes))
