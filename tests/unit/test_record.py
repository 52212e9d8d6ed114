"""Records behave as the frozen dataclasses they replace: construction, equality, hashing,
repr() and immutability."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import ClassVar

import pytest

from galera_snmp.record import FrozenInstanceError, asdict, field, fields, record, replace


@record
class Point:
    x: int
    y: int = 0
    label: str = field(default="", repr=False)
    tags: list[str] = field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class DataPoint:
    x: int
    y: int = 0
    label: str = dataclasses.field(default="", repr=False)
    tags: list[str] = dataclasses.field(default_factory=list)


@record
class Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")
        object.__setattr__(self, "value", self.value * 2)


def test_construction_by_position_keyword_and_default() -> None:
    assert Point(1, 2, "a", ["t"]) == Point(x=1, y=2, label="a", tags=["t"])
    assert Point(1) == Point(1, 0, "", [])
    assert Point(1).tags is not Point(1).tags  # a fresh list from the factory each time


@pytest.mark.parametrize(("args", "kwargs"), [((), {}), ((1, 2, "", [], 5), {}), ((1,), {"x": 1}), ((1,), {"z": 1})])
def test_wrong_arguments_are_type_errors_as_with_a_dataclass(args: tuple, kwargs: dict) -> None:
    with pytest.raises(TypeError):
        DataPoint(*args, **kwargs)
    with pytest.raises(TypeError):
        Point(*args, **kwargs)


def test_equality_hash_and_repr_match_a_dataclass() -> None:
    ours, theirs = Point(1, 2, "secret"), DataPoint(1, 2, "secret")
    assert repr(ours) == repr(theirs).replace("DataPoint", "Point")
    assert "secret" not in repr(ours)
    assert ours != theirs  # another class, as two dataclasses
    assert Point(1, 2, "s") != Point(1, 2, "t")  # repr=False still compares
    assert hash(Checked(3)) == hash(Checked(3))
    with pytest.raises(TypeError):
        hash(Point(1))  # an unhashable field (the list) makes the record unhashable, as a dataclass
    assert len({Checked(1), Checked(1), Checked(2)}) == 2


def test_fields_cannot_be_changed_or_deleted() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.y  # type: ignore[misc]
    assert point.x == 1


def test_post_init_checks_and_may_adjust() -> None:
    assert Checked(2).value == 4
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_helpers_copies_and_pickles() -> None:
    point = Point(1, 2, "a", ["t"])
    assert fields(Point) == fields(point) == ("x", "y", "label", "tags")
    assert asdict(point) == {"x": 1, "y": 2, "label": "a", "tags": ["t"]}
    assert replace(point, y=5) == Point(1, 5, "a", ["t"])
    assert replace(Checked(2), value=1).value == 2  # through __init__, so __post_init__ runs again
    assert copy.deepcopy(point) == point
    assert pickle.loads(pickle.dumps(point)) == point
    assert Point.__match_args__ == ("x", "y", "label", "tags")


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default"):

        @record
        class Bad:
            a: int = 0
            b: int


def test_what_a_dataclass_refuses_or_leaves_out_a_record_does_too() -> None:
    with pytest.raises(TypeError, match="mutable default for field 'items'"):

        @record
        class Shared:
            items: list = []  # noqa: RUF012 - the mistake under test

    @record
    class WithClassVar:
        LIMIT: ClassVar[int] = 3
        value: int = 0

    assert fields(WithClassVar) == ("value",)
    with pytest.raises(TypeError, match="define no __eq__ of its own"):

        @record
        class OwnEquality:  # noqa: PLW1641 - the mistake under test
            value: int = 0

            def __eq__(self, other: object) -> bool:
                return True


@record
class Labelled(Point):
    y: int = 5  # declared again: keeps its place, takes this default
    label: str = "shown"  # declared again without repr=False: shown again
    note: str = ""


@dataclasses.dataclass(frozen=True)
class DataLabelled(DataPoint):
    y: int = 5
    label: str = "shown"
    note: str = ""


def test_a_record_inherits_its_record_bases_fields_as_a_dataclass_does() -> None:
    names = ("x", "y", "label", "tags", "note")
    assert fields(Labelled) == tuple(f.name for f in dataclasses.fields(DataLabelled)) == names
    item, data = Labelled(1, tags=["a"]), DataLabelled(1, tags=["a"])
    assert repr(item).removeprefix("Labelled") == repr(data).removeprefix("DataLabelled")
    assert asdict(item) == dataclasses.asdict(data) == {"x": 1, "y": 5, "label": "shown", "tags": ["a"], "note": ""}
    assert Labelled(1).tags is not Labelled(1).tags  # the base's factory, called for each
    assert item != Point(1, 5, "shown", ["a"])  # another class: never equal
    assert fields(Point) == ("x", "y", "label", "tags")  # the base itself unchanged
    with pytest.raises(TypeError, match="'z' without a default follows"):

        @record
        class Bad(Point):
            z: int
