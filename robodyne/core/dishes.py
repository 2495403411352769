"""What a dish says of itself to guests (docs/api.md, "Menu"): the guest languages, the fixed
list of allergens, its names and descriptions, and the menu's order on the guest page."""

from __future__ import annotations

import unicodedata

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field

from .text import PlainText


class Language(StrEnum):
    """The languages the guest pages speak, and a dish's names and descriptions may be in."""

    KO = "ko"
    EN = "en"
    ZH = "zh"
    JA = "ja"


class Allergen(StrEnum):
    """The EU's 14 allergens and Korea's labelled ones: a dish may name only these."""

    EGGS = "eggs"
    MILK = "milk"
    BUCKWHEAT = "buckwheat"
    PEANUTS = "peanuts"
    SOYBEANS = "soybeans"
    WHEAT = "wheat"
    GLUTEN = "gluten"
    MACKEREL = "mackerel"
    FISH = "fish"
    CRAB = "crab"
    SHRIMP = "shrimp"
    CRUSTACEANS = "crustaceans"
    MOLLUSCS = "molluscs"
    SHELLFISH = "shellfish"
    SQUID = "squid"
    PORK = "pork"
    BEEF = "beef"
    CHICKEN = "chicken"
    PEACH = "peach"
    TOMATO = "tomato"
    SULPHITES = "sulphites"
    WALNUTS = "walnuts"
    PINE_NUTS = "pine_nuts"
    TREE_NUTS = "tree_nuts"
    CELERY = "celery"
    MUSTARD = "mustard"
    SESAME = "sesame"
    LUPIN = "lupin"


def name_key(name: str) -> str:
    """A name as it is compared: the same dish or option whatever its case, accents composed
    or not ("Crème", "CRÈME", "Cre\u0300me")."""
    return unicodedata.normalize("NFC", name).casefold()


def each_once(values: list[Any]) -> list[Any]:
    """The values, refused if one comes twice (whatever its case)."""
    seen = [name_key(str(value)) for value in values]
    twice = [value for n, value in enumerate(values) if seen[n] in seen[:n]]
    if twice:
        raise ValueError(f"{str(twice[0])!r} is given twice")
    return values


# A dish offers at most this many options; a line may choose any of them.
MAX_OPTIONS: Final = 20
DishName = Annotated[PlainText, Field(min_length=1, max_length=80)]
Description = Annotated[PlainText, Field(min_length=1, max_length=500)]
# A text per language: {"ko": "불고기", "en": "Bulgogi"}; a language left out falls back to `name`.
Names = dict[Language, DishName]
Descriptions = dict[Language, Description]
Allergens = Annotated[list[Allergen], AfterValidator(each_once)]


def unique_names(options: list[Any]) -> list[Any]:
    """Options (anything with a `name`) whose names differ whatever their case."""
    each_once([option.name for option in options])
    return options


def menu_order(dishes: Sequence[dict[str, Any]], categories: Sequence[str]
               ) -> list[dict[str, Any]]:
    """The dishes in the guests' order: their categories as `restaurant.categories` lists them,
    then the others by first appearance (the category's oldest dish, by id); within a
    category by `position`, then by id. The one place that says it (domain/views.py keeps the
    menu topic so)."""
    listed = {category: rank for rank, category in enumerate(categories)}
    first: dict[str, int] = {}
    for dish in sorted(dishes, key=lambda dish: dish["id"]):
        if dish["category"] not in listed:
            first.setdefault(dish["category"], len(listed) + len(first))
    rank = {**first, **listed}
    return sorted(dishes, key=lambda dish: (rank[dish["category"]], dish["position"],
                                            dish["id"]))
