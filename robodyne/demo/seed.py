"""The demo restaurant's rows, seeded once into an empty database."""

from __future__ import annotations

import logging
import secrets
from typing import Any, NamedTuple

from ..core.dishes import Allergen, Language
from ..core.models import (
    MenuOption,
    OrderStatus,
    StreamStatus,
    TableStatus,
    utcnow,
)
from ..core.money import Terms, check
from ..core.roles import Role
from ..domain.menu import ordered
from ..settings import KitchenSettings, Settings
from ..store.store import Store
from .floor import PLACES, TABLES

log = logging.getLogger(__name__)

ROBOT_HZ = 5.0
# Which of the six seeded orders are ready when the demo starts.
READY_AT_START = (1, 4)
# The demo kitchen's stations, used when the configuration names none of its own.
STATIONS = ["grill", "fry", "cold", "bar"]


class Dish(NamedTuple):
    """A dish of the demo's menu, and the modifiers its guests ask for besides its options."""

    name: str
    category: str
    station: str
    prep_target_s: float
    price: int
    names: dict[Language, str]
    allergens: list[Allergen]
    options: list[MenuOption] = []
    modifiers: list[str] = []
    descriptions: dict[Language, str] = {}


L, A = Language, Allergen
EGG = MenuOption(name="Extra egg", names={L.KO: "계란 추가", L.EN: "Extra egg"}, price=1000)
CHEESE = MenuOption(name="Extra cheese", names={L.KO: "치즈 추가", L.EN: "Extra cheese"},
                    price=1500)
LARGE = MenuOption(name="Large", names={L.KO: "곱빼기", L.EN: "Large"}, price=3000)
# Korean and Western dishes in won (KRW has no minor unit), so a newcomer sees orders split
# across the stations at once and prices, names and allergens on the guest page.
MENU = [
    Dish("Bulgogi 불고기", "mains", "grill", 480, 18000,
         {L.KO: "불고기", L.EN: "Bulgogi", L.ZH: "烤牛肉", L.JA: "プルコギ"},
         [A.BEEF, A.SOYBEANS, A.WHEAT, A.SESAME], [EGG, LARGE], ["extra garlic"],
         {L.KO: "간장 양념에 재운 소고기 구이", L.EN: "Soy-marinated grilled beef"}),
    Dish("Galbi 갈비", "mains", "grill", 600, 25000,
         {L.KO: "갈비", L.EN: "Galbi", L.JA: "カルビ"}, [A.BEEF, A.SOYBEANS, A.SESAME]),
    Dish("Cheeseburger", "mains", "grill", 420, 14000,
         {L.KO: "치즈버거", L.EN: "Cheeseburger"}, [A.BEEF, A.WHEAT, A.MILK, A.EGGS],
         [CHEESE, EGG], ["no onions", "medium rare"]),
    Dish("Grilled salmon", "mains", "grill", 540, 22000,
         {L.KO: "연어 구이", L.EN: "Grilled salmon", L.JA: "サーモングリル"}, [A.FISH],
         modifiers=["sauce on the side"]),
    Dish("Yangnyeom chicken 양념치킨", "mains", "fry", 600, 19000,
         {L.KO: "양념치킨", L.EN: "Yangnyeom chicken", L.ZH: "韩式炸鸡"},
         [A.CHICKEN, A.WHEAT, A.SOYBEANS], [LARGE], ["extra spicy"]),
    Dish("Kimchi fries", "sides", "fry", 300, 8000,
         {L.KO: "김치 감자튀김", L.EN: "Kimchi fries"}, [A.MILK], [CHEESE]),
    Dish("Fish and chips", "mains", "fry", 480, 17000,
         {L.KO: "피시 앤 칩스", L.EN: "Fish and chips"}, [A.FISH, A.WHEAT],
         modifiers=["no vinegar"]),
    Dish("Naengmyeon 냉면", "mains", "cold", 300, 12000,
         {L.KO: "냉면", L.EN: "Naengmyeon", L.ZH: "冷面", L.JA: "冷麺"},
         [A.BUCKWHEAT, A.WHEAT, A.BEEF, A.EGGS], [EGG, LARGE], ["no egg"]),
    Dish("Caesar salad", "starters", "cold", 240, 11000,
         {L.KO: "시저 샐러드", L.EN: "Caesar salad"}, [A.MILK, A.EGGS, A.WHEAT, A.FISH],
         [EGG], ["no croutons"]),
    Dish("Kimchi 김치", "sides", "cold", 60, 8000,
         {L.KO: "김치", L.EN: "Kimchi", L.ZH: "泡菜", L.JA: "キムチ"}, [A.SHRIMP]),
    Dish("Soju 소주", "drinks", "bar", 60, 9000, {L.KO: "소주", L.EN: "Soju"}, []),
    Dish("Sikhye 식혜", "drinks", "bar", 60, 8000,
         {L.KO: "식혜", L.EN: "Sikhye", L.JA: "シッケ"}, []),
    Dish("Lemonade", "drinks", "bar", 90, 8000, {L.KO: "레모네이드", L.EN: "Lemonade"}, [],
         modifiers=["no ice"]),
]
# The guest page's categories, in the order a Korean menu board lists them.
CATEGORIES = ["starters", "mains", "sides", "drinks"]

INVENTORY = [("FLOUR-25", "Flour", 40, "kg", 10), ("TOM-CAN", "Canned tomatoes", 24, "can", 8),
             ("MOZZ", "Mozzarella", 6, "kg", 5), ("SALMON", "Salmon fillet", 0, "pc", 4),
             ("LEMON", "Lemons", 60, "pc", 20), ("EGG", "Eggs", 90, "pc", 30)]


async def seed(store: Store, terms: Terms) -> None:
    """Tables, a few orders (each of its table's open visit, whose check the visits compute
    when they load), inventory and two video streams, unless rows already exist; the floor's
    places unless they were set (a demo file of an earlier release has none)."""
    if not await store.places.all():
        for place, (x, y) in PLACES.items():
            await store.places.put(place, x, y)
    if await store.tables():
        return
    tables = [await store.add_table(label, seats, x=x, y=y) for label, seats, x, y in TABLES]
    dishes = [await store.add_menu_item(dish.name, {
        "category": dish.category, "station": dish.station, "prep_target_s": dish.prep_target_s,
        "price": dish.price, "names": dish.names, "descriptions": dish.descriptions,
        "allergens": dish.allergens, "options": dish.options, "position": n})
        for n, dish in enumerate(MENU)]
    for n, table in enumerate(tables[:6]):
        await store.update_table(table.id, {"status": TableStatus.OCCUPIED})
        visit = await store.add_visit(table.id, check([], terms), party_size=min(table.seats, 2))
        first, second = dishes[(n * 4) % len(MENU)], dishes[(n * 4 + 7) % len(MENU)]
        order = await store.add_order(table.id, [
            ordered(first, first.options[:1], name=first.name, qty=1 + n % 2),
            ordered(second, (), name=second.name, note="allergy: nuts" if n == 2 else ""),
        ], visit_id=visit.id)
        if n in READY_AT_START:  # robots have something to carry from the first second
            await store.update_order(order.id, {"status": OrderStatus.READY,
                                                "ready_at": utcnow()})
    for sku, name, quantity, unit, low in INVENTORY:
        await store.stock.add(sku, name, quantity, unit, low)
    await store.add_customer("Garcia", party_size=4, phone="555-0101")
    await store.add_video_stream("Dining room", "rtsp://camera-1.local/stream",
                                 status=StreamStatus.ACTIVE)
    await store.add_video_stream("Kitchen pass", "rtsp://camera-2.local/stream",
                                 status=StreamStatus.ACTIVE)
    log.info("demo restaurant seeded: %d tables, %d dishes, 6 orders, %d inventory items",
             len(tables), len(MENU), len(INVENTORY))


def demo_settings(settings: Settings) -> tuple[Settings, str]:
    """The settings a demo runs with, a new value (the caller's are left as they are), and the
    simulated robots' token: the demo kitchen's stations and menu categories unless the
    configuration names its own, escorts, and a token for this run only (in memory, never in
    tokens.toml) unless a robot token is configured."""
    update: dict[str, Any] = {}
    if settings.kitchen.stations == KitchenSettings().stations:
        update["kitchen"] = settings.kitchen.model_copy(
            update={"stations": STATIONS, "default_station": STATIONS[0]})
    if not settings.restaurant.categories:
        update["restaurant"] = settings.restaurant.model_copy(
            update={"categories": CATEGORIES})
    # The demo's robots lead its parties to their tables (the owner's choice otherwise).
    update["host"] = settings.host.model_copy(update={"escort": True})
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
