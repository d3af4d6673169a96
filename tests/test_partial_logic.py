"""Partial structured output without I/O: partial JSON in the shapes models send it (prose,
fences, the constrained protocol's wrapper), partial objects of nested models, lists,
enums and aliases, and the parse schedule of a large answer."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from mbxai._partial import PartialParser, partial_object


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    street: str
    number: int


class Person(BaseModel):
    full_name: str = Field(alias="fullName")
    favourite: Color
    home: Address | None = None
    past: list[Address] = Field(default_factory=list)


def feed_all(parser: PartialParser[Person], text: str, size: int = 3) -> list[Person]:
    seen = []
    for start in range(0, len(text), size):
        obj = parser.feed(text[start : start + size])
        if obj is not None:
            seen.append(obj)
    return seen


PERSON = {
    "fullName": "Ada Lovelace",
    "favourite": "green",
    "home": {"street": "St James's Square", "number": 12},
    "past": [{"street": "Marylebone", "number": 1}, {"street": "Ockham", "number": 2}],
}


def test_a_partial_object_has_what_arrived_and_none_elsewhere() -> None:
    obj = partial_object(Person, {"fullName": "Ada Lov", "home": {"street": "St J"}})
    assert obj.full_name == "Ada Lov"
    assert obj.favourite is None  # type: ignore[comparison-overlap]
    assert obj.model_fields_set == {"full_name", "home"}
    assert obj.home is not None
    assert obj.home.street == "St J"
    assert obj.home.number is None  # type: ignore[comparison-overlap]
    assert obj.home.model_fields_set == {"street"}


def test_an_enum_value_half_written_stays_none_until_it_validates() -> None:
    assert partial_object(Person, {"favourite": "gre"}).favourite is None
    assert partial_object(Person, {"favourite": "green"}).favourite is Color.GREEN


def test_lists_of_models_are_partial_item_by_item() -> None:
    obj = partial_object(Person, {"past": [{"street": "Marylebone", "number": 1}, {"stre": ""}]})
    assert len(obj.past) == 2
    assert obj.past[0] == Address(street="Marylebone", number=1)
    assert obj.past[1].model_fields_set == set()


def test_json_in_prose_and_a_fence_streams_like_bare_json() -> None:
    text = "Here you go:\n```json\n" + json.dumps(PERSON) + "\n```\nHope it helps {smile}."
    seen = feed_all(PartialParser(Person), text)
    assert seen[0].full_name is not None
    assert seen[-1] == Person.model_validate(PERSON)
    assert [len(o.model_fields_set) for o in seen] == sorted(len(o.model_fields_set) for o in seen)


def test_the_constrained_protocol_answer_is_read_under_its_key() -> None:
    text = json.dumps({"final_answer": PERSON})
    seen = feed_all(PartialParser(Person, key="final_answer"), text)
    assert seen[-1] == Person.model_validate(PERSON)
    assert seen[0].home is None


def test_no_json_yet_and_broken_json_give_no_object() -> None:
    parser = PartialParser(Person)
    assert parser.feed("Let me think") is None
    assert parser.feed("...") is None
    assert parser.feed("{]]]") is None
    assert parser.text == "Let me think...{]]]"


def test_json_nested_too_deeply_gives_no_object_rather_than_an_error() -> None:
    parser = PartialParser(Person)
    assert parser.feed('{"home": ' + "[" * 100_000) is None


def test_a_large_answer_is_reparsed_only_as_it_grows() -> None:
    parser = PartialParser(Person)
    big = '{"fullName": "' + "x" * 200_000
    objects = [parser.feed(big[i : i + 100]) for i in range(0, len(big), 100)]
    shown = [o for o in objects if o is not None]
    # every chunk up to 16 KiB, then only at each sixteenth of growth
    assert 150 < len(shown) < 300
    assert shown[-1].full_name is not None
    assert len(shown[-1].full_name) > 180_000


class Tagged(BaseModel):
    tags: list[Annotated[str, Field(min_length=1)]]
    note: Annotated[str, Field(max_length=5)]


def test_constraints_are_checked_on_the_final_object_only() -> None:
    obj = partial_object(Tagged, {"tags": ["a", "b"], "note": "longer than five"})
    assert obj.tags == ["a", "b"]
    assert obj.note == "longer than five"  # constraints are checked on the final object
