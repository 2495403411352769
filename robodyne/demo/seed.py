"""The demo restaurant's rows, seeded once into an empty database."""

from __future__ import annotations

import logging
import secrets

from ..core.models import OrderItem, OrderStatus, StreamStatus, TableStatus, utcnow
from ..core.roles import Role
from ..settings import Settings
from ..store.store import Store
from .floor import TABLES

log = logging.getLogger(__name__)

ROBOT_HZ = 5.0
# Which of the six seeded orders are ready when the demo starts.
READY_AT_START = (1, 4)
MENU = [("Margherita pizza", ["extra basil"]), ("Caesar salad", ["no croutons"]),
        ("Spaghetti carbonara", []), ("Tomato soup", []), ("Tiramisu", []),
        ("Lemonade", ["no ice"]), ("Grilled salmon", ["sauce on the side"])]
INVENTORY = [("FLOUR-25", "Flour", 40, "kg", 10), ("TOM-CAN", "Canned tomatoes", 24, "can", 8),
             ("MOZZ", "Mozzarella", 6, "kg", 5), ("SALMON", "Salmon fillet", 0, "pc", 4),
             ("LEMON", "Lemons", 60, "pc", 20), ("EGG", "Eggs", 90, "pc", 30)]


async def seed(store: Store) -> None:
    """Tables, a few orders, inventory and two video streams, unless rows already exist."""
    if await store.tables():
        return
    tables = [await store.add_table(label, seats, x=x, y=y) for label, seats, x, y in TABLES]
    for n, table in enumerate(tables[:6]):
        await store.update_table(table.id, {"status": TableStatus.OCCUPIED})
        name, modifiers = MENU[n % len(MENU)]
        second, _ = MENU[(n + 3) % len(MENU)]
        order = await store.add_order(table.id, [
            OrderItem(name=name, qty=1 + n % 2, modifiers=modifiers),
            OrderItem(name=second, qty=1, note="allergy: nuts" if n == 2 else ""),
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
    log.info("demo restaurant seeded: %d tables, 6 orders, %d inventory items",
             len(tables), len(INVENTORY))


def robot_token(settings: Settings) -> str:
    """A robot token for the simulated robots: a configured one, or one for this run only."""
    for token, role in settings.auth.tokens.items():
        if role is Role.ROBOT:
            return token
    token = secrets.token_urlsafe(24)
    settings.auth.tokens[token] = Role.ROBOT  # kept in memory, never written to tokens.toml
    return token
