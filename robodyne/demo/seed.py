"""The demo restaurant's rows, seeded once into an empty database."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from ..core.models import OrderItem, OrderStatus, StreamStatus, TableStatus, utcnow
from ..core.roles import Role
from ..settings import KitchenSettings, Settings
from ..store.store import Store
from .floor import TABLES

log = logging.getLogger(__name__)

ROBOT_HZ = 5.0
# Which of the six seeded orders are ready when the demo starts.
READY_AT_START = (1, 4)
# The demo kitchen's stations, used when the configuration names none of its own.
STATIONS = ["grill", "fry", "cold", "bar"]
# (name, category, station, prep target in seconds, modifiers guests ask for): Korean and
# Western dishes, so a newcomer sees orders split across the stations at once.
MENU = [
    ("Bulgogi 불고기", "mains", "grill", 480, ["extra garlic"]),
    ("Galbi 갈비", "mains", "grill", 600, []),
    ("Cheeseburger", "mains", "grill", 420, ["no onions", "medium rare"]),
    ("Grilled salmon", "mains", "grill", 540, ["sauce on the side"]),
    ("Yangnyeom chicken 양념치킨", "mains", "fry", 600, ["extra spicy"]),
    ("Kimchi fries", "sides", "fry", 300, []),
    ("Fish and chips", "mains", "fry", 480, ["no vinegar"]),
    ("Naengmyeon 냉면", "mains", "cold", 300, ["no egg"]),
    ("Caesar salad", "starters", "cold", 240, ["no croutons"]),
    ("Kimchi 김치", "sides", "cold", 60, []),
    ("Soju 소주", "drinks", "bar", 60, []),
    ("Sikhye 식혜", "drinks", "bar", 60, []),
    ("Lemonade", "drinks", "bar", 90, ["no ice"]),
]
INVENTORY = [("FLOUR-25", "Flour", 40, "kg", 10), ("TOM-CAN", "Canned tomatoes", 24, "can", 8),
             ("MOZZ", "Mozzarella", 6, "kg", 5), ("SALMON", "Salmon fillet", 0, "pc", 4),
             ("LEMON", "Lemons", 60, "pc", 20), ("EGG", "Eggs", 90, "pc", 30)]


async def seed(store: Store) -> None:
    """Tables, a few orders, inventory and two video streams, unless rows already exist."""
    if await store.tables():
        return
    tables = [await store.add_table(label, seats, x=x, y=y) for label, seats, x, y in TABLES]
    for name, category, station, prep_target_s, _ in MENU:
        await store.add_menu_item(name, category, station, prep_target_s)
    for n, table in enumerate(tables[:6]):
        await store.update_table(table.id, {"status": TableStatus.OCCUPIED})
        name, _, station, _, modifiers = MENU[(n * 4) % len(MENU)]
        second, _, second_station, _, _ = MENU[(n * 4 + 7) % len(MENU)]
        order = await store.add_order(table.id, [
            OrderItem(name=name, qty=1 + n % 2, modifiers=modifiers[:1], station=station),
            OrderItem(name=second, qty=1, note="allergy: nuts" if n == 2 else "",
                      station=second_station),
        ])
        if n in READY_AT_START:  # robots have something to carry from the first second
            await store.update_order(order.id, {"status": OrderStatus.READY,
                                                "ready_at": utcnow()})
    for sku, name, quantity, unit, low in INVENTORY:
        await store.add_inventory(sku, name, quantity, unit, low)
    await store.add_customer("Garcia", party_size=4, phone="555-0101")
    await store.add_video_stream("Dining room", "rtsp://camera-1.local/stream",
                                 status=StreamStatus.ACTIVE)
    await store.add_video_stream("Kitchen pass", "rtsp://camera-2.local/stream",
                                 status=StreamStatus.ACTIVE)
    log.info("demo restaurant seeded: %d tables, %d dishes, 6 orders, %d inventory items",
             len(tables), len(MENU), len(INVENTORY))


def demo_settings(settings: Settings) -> tuple[Settings, str]:
    """The settings a demo runs with, a new value (the caller's are left as they are), and the
    simulated robots' token: the demo kitchen's stations unless the configuration names its
    own, and a token for this run only (in memory, never in tokens.toml) unless a robot token
    is configured."""
    update: dict[str, Any] = {}
    if settings.kitchen.stations == KitchenSettings().stations:
        update["kitchen"] = settings.kitchen.model_copy(
            update={"stations": STATIONS, "default_station": STATIONS[0]})
    token = _robot_token(settings)
    if token is None:
        token = secrets.token_urlsafe(24)
        tokens = {**settings.auth.tokens, token: Role.ROBOT.value}
        update["auth"] = settings.auth.model_copy(update={"tokens": tokens})
    return settings.model_copy(update=update), token


def _robot_token(settings: Settings) -> str | None:
    """The first robot token of the configuration, if any."""
    for token, grant in settings.auth.tokens.items():
        if grant == Role.ROBOT:
            return token
    return None
