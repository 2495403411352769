"""A pydantic model per REST body (docs/api.md), and reading one from a request."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Final, Literal, TypeVar, cast

import orjson
from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ..core.calls import CallKind
from ..core.dishes import MAX_OPTIONS, Allergens, Descriptions, DishName, Names, unique_names
from ..core.errors import Invalid
from ..core.models import (
    Command,
    CustomerStatus,
    MenuChanges,
    MenuOption,
    OrderPriority,
    OrderStatus,
    PaymentMethod,
    StreamStatus,
    TableStatus,
    TaskKind,
)
from ..core.money import Price
from ..core.numbers import Int, Number
from ..core.stock import MAX_RECIPE_LINES, Amount, Ingredient, MoveReason, staff_delta, unique_skus
from ..core.streams import StreamUrl
from ..core.text import NoteText, PlainText
from ..wire.robot import SQLITE_MAX_INT
from ..wire.validation import first_problem
from .payload import MAX_BODY_BYTES, read_payload

# SQLite stores integers in 64 signed bits; a larger id names no row, and must not reach SQL
# (the driver raises OverflowError there, which would be a 500).
RowId = Annotated[Int, Field(ge=-SQLITE_MAX_INT - 1, le=SQLITE_MAX_INT)]
# A dish's place in its category: any order of magnitude a back office might number by.
Position = Annotated[Int, Field(ge=-1_000_000, le=1_000_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def sent(self) -> frozenset[str]:
        """The fields this body sent, and those of the bodies in it, however deep, as
        "field.field" (an order's "items.price"): what a route's need may ask about
        (web/needs.py), so none of them may hide from it."""
        paths = set(self.model_fields_set)
        for name in self.model_fields_set:
            value = getattr(self, name)
            for inner in value if isinstance(value, list) else [value]:
                if isinstance(inner, Body):
                    paths.update(f"{name}.{field}" for field in inner.sent())
        return frozenset(paths)


# Where a request keeps its body once read as a model (read_body).
_READ_AS: Final = web.RequestKey("robodyne.body", tuple[type[Body], Body])


class Patch(Body):
    """A PATCH body: every field optional; an explicit null only where it clears a value."""

    # The fields a PATCH may set to null (to clear them); any other null is refused.
    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key in cls.model_fields and key not in cls.clearable:
                    raise ValueError(f"{key} may be left out, but not null")
        return data

    def changes(self) -> Any:
        """The fields this PATCH actually sent, as the typed changes of its entity."""
        return {name: getattr(self, name) for name in self.model_fields_set}


B = TypeVar("B", bound=Body)


async def read_body(request: web.Request, model: type[B]) -> B:
    """The JSON body as `model`: 415 if not JSON, 413 over 64 KiB, 400 naming the bad field.
    Parsed and validated once per request: a route's need that reads it (web/needs.py) hands
    the handler the same body."""
    if _READ_AS in request:
        kind, kept = request[_READ_AS]
        if kind is model:
            return cast(B, kept)
    body = await _read(request, model)
    read: tuple[type[Body], Body] = (model, body)
    request[_READ_AS] = read
    return body


async def _read(request: web.Request, model: type[B]) -> B:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="send the body as application/json")
    raw = await read_payload(request, MAX_BODY_BYTES)
    try:
        decoded = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError as err:
        raise Invalid(f"body: not valid JSON ({err})") from err
    try:
        return model.model_validate(decoded)
    except ValidationError as err:
        raise Invalid(str(first_problem(err, whole="body"))) from err


class OrderItemIn(Body):
    """A dish by `name` (any case) or `menu_id`, or a line not on the menu (by name)."""

    name: PlainText = Field("", max_length=200)
    menu_id: RowId | None = None
    qty: Int = Field(1, ge=1, le=999)
    note: NoteText = Field("", max_length=500)
    modifiers: list[PlainText] = Field([], max_length=20)
    options: list[PlainText] = Field([], max_length=MAX_OPTIONS)
    # The unit price of a line not on the menu: admin and floor only (web/routes.py).
    price: Price | None = None

    @model_validator(mode="after")
    def _names_something(self) -> OrderItemIn:
        if not self.name and self.menu_id is None:
            raise ValueError("give the dish's name or menu_id")
        return self


class OrderIn(Body):
    table_id: RowId
    items: list[OrderItemIn] = Field(min_length=1, max_length=100)
    note: NoteText = Field("", max_length=1000)
    priority: OrderPriority = OrderPriority.NORMAL


# A guest's order (SPEC §11.5): dishes of the menu only, at its price, with short notes. The
# number of lines is guest.max_items (a setting, checked by the handler) under this cap.
GUEST_MAX_QTY: Final = 20
GUEST_NOTE_CHARS: Final = 140


class GuestItemIn(Body):
    menu_id: RowId
    qty: Int = Field(ge=1, le=GUEST_MAX_QTY)
    options: list[PlainText] = Field([], max_length=MAX_OPTIONS)
    note: NoteText = Field("", max_length=GUEST_NOTE_CHARS)


class GuestOrderIn(Body):
    items: list[GuestItemIn] = Field(min_length=1, max_length=100)
    note: NoteText = Field("", max_length=GUEST_NOTE_CHARS)


class CallIn(Body):
    kind: CallKind


class ItemDone(Body):
    index: Int
    done: bool


class OrderPatch(Patch):
    clearable = frozenset({"robot_id"})
    status: OrderStatus | None = None
    priority: OrderPriority | None = None
    items: list[ItemDone] | None = Field(None, max_length=100)
    robot_id: str | None = None


class TableIn(Body):
    label: PlainText = Field(min_length=1, max_length=50)
    seats: Int = Field(ge=1, le=100)
    status: TableStatus = TableStatus.AVAILABLE
    x: Number | None = None
    y: Number | None = None


class TablePatch(Patch):
    clearable = frozenset({"customer_id", "x", "y"})
    label: PlainText | None = Field(None, min_length=1, max_length=50)
    seats: Int | None = Field(None, ge=1, le=100)
    status: TableStatus | None = None
    customer_id: RowId | None = None
    x: Number | None = None
    y: Number | None = None


class PlaceIn(Body):
    """Where a place stands: metres in the robots' map frame, finite numbers (robots drive
    there: a quoted number is more likely a mistake than a position)."""

    x: float = Field(strict=True, allow_inf_nan=False)
    y: float = Field(strict=True, allow_inf_nan=False)


class CustomerIn(Body):
    name: PlainText = Field(min_length=1, max_length=100)
    phone: PlainText = Field("", max_length=40)
    party_size: Int = Field(1, ge=1, le=100)
    note: PlainText = Field("", max_length=500)
    status: CustomerStatus = CustomerStatus.WAITING
    table_id: RowId | None = None


class CustomerPatch(Patch):
    clearable = frozenset({"table_id"})
    name: PlainText | None = Field(None, min_length=1, max_length=100)
    phone: PlainText | None = Field(None, max_length=40)
    party_size: Int | None = Field(None, ge=1, le=100)
    note: PlainText | None = Field(None, max_length=500)
    status: CustomerStatus | None = None
    table_id: RowId | None = None


class SeatIn(Body):
    """Seating a party of the waitlist (SPEC §12.4)."""

    table_id: RowId


class VisitIn(Body):
    """Seating a party at a table (SPEC §12.1)."""

    table_id: RowId
    party_size: Int | None = Field(None, ge=1, le=100)
    customer_id: RowId | None = None


class PaymentIn(Body):
    """A payment recorded against a visit (SPEC §12.3): the terminal or the till took it."""

    amount: Int = Field(ge=1, le=SQLITE_MAX_INT)
    method: PaymentMethod
    # The card slip's or the POS's number, for whoever reconciles the day.
    reference: PlainText = Field("", max_length=100)


class InventoryIn(Body):
    sku: PlainText = Field(min_length=1, max_length=64)
    name: PlainText = Field(min_length=1, max_length=100)
    quantity: Number = Field(ge=0)
    unit: PlainText = Field("", max_length=20)
    low_threshold: Number = Field(0, ge=0)


class InventoryPatch(Patch):
    quantity: Number | None = Field(None, ge=0)
    delta: Number | None = None
    low_threshold: Number | None = Field(None, ge=0)
    name: PlainText | None = Field(None, min_length=1, max_length=100)
    unit: PlainText | None = Field(None, max_length=20)


class AdjustIn(Body):
    """A staff move of a line (docs/api.md, "Stock"): a signed `delta` with its reason, or the
    `quantity` counted."""

    reason: Literal[MoveReason.RECEIVED, MoveReason.WASTE, MoveReason.CORRECTION,
                    MoveReason.COUNT]
    delta: Amount | None = None
    quantity: Amount | None = Field(None, ge=0)
    note: NoteText = Field("", max_length=140)

    @model_validator(mode="after")
    def _amount(self) -> AdjustIn:
        if self.reason is MoveReason.COUNT:
            if self.quantity is None or self.delta is not None:
                raise ValueError("a count gives the quantity counted, and no delta")
        elif self.delta is None or self.quantity is not None:
            raise ValueError(f"a {self.reason} move gives a delta, and no quantity")
        else:
            staff_delta(self.reason, self.delta)
        return self


class RecipeIn(Body):
    """What one portion of a dish uses; an empty list clears it."""

    ingredients: Annotated[list[Ingredient], AfterValidator(unique_skus)] = Field(
        max_length=MAX_RECIPE_LINES)


class VideoStreamIn(Body):
    name: PlainText = Field(min_length=1, max_length=100)
    url: StreamUrl
    robot_id: str | None = None
    status: StreamStatus = StreamStatus.INACTIVE


class VideoStreamPatch(Patch):
    clearable = frozenset({"robot_id"})
    name: PlainText | None = Field(None, min_length=1, max_length=100)
    url: StreamUrl | None = None
    robot_id: str | None = None
    status: StreamStatus | None = None


class CommandIn(Body):
    command: Command
    table_id: RowId | None = None
    order_id: RowId | None = None


class TaskIn(Body):
    kind: TaskKind
    table_id: RowId | None = None
    order_ids: list[RowId] = Field([], max_length=100)
    robot_id: str | None = Field(None, min_length=1, max_length=64)
    priority: Int = Field(0, ge=-1000, le=1000)


class TaskPatch(Patch):
    clearable = frozenset({"robot_id"})
    priority: Int | None = Field(None, ge=-1000, le=1000)
    robot_id: str | None = Field(None, min_length=1, max_length=64)


class MenuOptionIn(MenuOption):
    """An option as staff write it: its name and names as a dish's, a price in range."""

    model_config = Body.model_config
    name: DishName
    names: Names = {}
    price: Price = 0


MenuOptions = Annotated[list[MenuOptionIn], Field(max_length=MAX_OPTIONS),
                        AfterValidator(unique_names)]


class MenuItemIn(Body):
    name: PlainText = Field(min_length=1, max_length=100)
    category: PlainText = Field("", max_length=50)
    station: PlainText | None = Field(None, min_length=1, max_length=50)
    prep_target_s: Number | None = Field(None, gt=0, le=24 * 3600)
    available: bool = True
    price: Price = 0
    names: Names = {}
    descriptions: Descriptions = {}
    allergens: Allergens = []
    options: MenuOptions = []
    position: Position = 0

    def dish(self) -> MenuChanges:
        """Everything but its name, as a new dish's fields."""
        return {"category": self.category, "station": self.station,
                "prep_target_s": self.prep_target_s, "available": self.available,
                "price": self.price, "names": self.names, "descriptions": self.descriptions,
                "allergens": self.allergens, "options": self.options, "position": self.position}


class MenuItemPatch(Patch):
    clearable = frozenset({"station", "prep_target_s"})
    name: PlainText | None = Field(None, min_length=1, max_length=100)
    category: PlainText | None = Field(None, max_length=50)
    station: PlainText | None = Field(None, min_length=1, max_length=50)
    prep_target_s: Number | None = Field(None, gt=0, le=24 * 3600)
    available: bool | None = None
    price: Price | None = None
    names: Names | None = None
    descriptions: Descriptions | None = None
    allergens: Allergens | None = None
    options: MenuOptions | None = None
    position: Position | None = None
