"""The stock tests' setup through the REST API: an inventory line, a dish with its recipe."""

from __future__ import annotations

from typing import Any

from .api_client import Api


async def line(api: Api, sku: str, quantity: float, low: float = 0) -> dict[str, Any]:
    """A new inventory line, its name the sku in title case, in kg."""
    item: dict[str, Any] = await api.ok("POST", "/api/inventory", {
        "sku": sku, "name": sku.title(), "quantity": quantity, "unit": "kg",
        "low_threshold": low}, 201)
    return item


async def dish(api: Api, name: str, *recipe: tuple[str, float]) -> dict[str, Any]:
    """A new dish at 1000, with the recipe given as (sku, qty) lines, if any."""
    made: dict[str, Any] = await api.ok("POST", "/api/menu", {"name": name, "price": 1000}, 201)
    if not recipe:
        return made
    body = {"ingredients": [{"sku": sku, "qty": qty} for sku, qty in recipe]}
    made = await api.ok("PUT", f"/api/menu/{made['id']}/recipe", body)
    return made


Made = dict[str, Any]


async def tofu_soup(api: Api, tofu: float) -> tuple[Made, Made, Made]:
    """`tofu` kg of TOFU, a Tofu soup of 1 kg a portion, and a table: (line, dish, table)."""
    made = await line(api, "TOFU", tofu)
    soup = await dish(api, "Tofu soup", ("TOFU", 1))
    return made, soup, await api.table()
