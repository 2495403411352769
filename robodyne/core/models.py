"""The data model (docs/api.md, `GET /api/{topic}`) as pydantic models and enums; no I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from .dishes import Allergen, Language
from .money import Check
from .stock import Ingredient


def iso(moment: datetime) -> str:
    """A UTC moment as an ISO 8601 string with millisecond precision, as every record has it."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utcnow() -> str:
    """Now as an ISO 8601 UTC string with millisecond precision."""
    return iso(datetime.now(timezone.utc))


class RobotStatus(StrEnum):
    OFFLINE = "offline"
    IDLE = "idle"
    DELIVERING = "delivering"
    RETURNING = "returning"
    CHARGING = "charging"
    PAUSED = "paused"
    ERROR = "error"
    EMERGENCY_STOP = "emergency_stop"
    MAINTENANCE = "maintenance"


class TableStatus(StrEnum):
    AVAILABLE = "available"
    OCCUPIED = "occupied"
    RESERVED = "reserved"
    NEEDS_CLEANING = "needs_cleaning"
    OUT_OF_SERVICE = "out_of_service"


class OrderStatus(StrEnum):
    PLACED = "placed"
    PREPARING = "preparing"
    READY = "ready"
    DELIVERING = "delivering"
    SERVED = "served"
    CANCELLED = "cancelled"


class CustomerStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SEATED = "seated"
    LEFT = "left"
    NO_SHOW = "no_show"


class StockStatus(StrEnum):
    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class StreamStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ERROR = "error"


class Command(StrEnum):
    """What the server may tell a robot to do."""

    GO_TO = "go_to"
    DELIVER = "deliver"
    BUS = "bus"
    SUMMON = "summon"
    ESCORT = "escort"
    RETURN = "return"
    CHARGE = "charge"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pose(Item):
    x: float
    y: float
    yaw: float = 0.0
    map: str = "floor"


class RobotIssue(Item):
    category: str
    detail: str = ""


class Robot(Item):
    id: str
    name: str
    model: str = ""
    status: RobotStatus = RobotStatus.OFFLINE
    battery: float | None = Field(None, ge=0, le=100)
    pose: Pose | None = None
    order_id: int | None = None
    table_id: int | None = None
    connected: bool = False
    last_seen: str | None = None
    issues: list[RobotIssue] = []


class Table(Item):
    id: int
    label: str
    seats: int = Field(ge=1)
    status: TableStatus = TableStatus.AVAILABLE
    customer_id: int | None = None
    open_order_ids: list[int] = []
    # Where the table stands on the floor map, in metres.
    x: float | None = None
    y: float | None = None
    updated_at: str


class OrderPriority(StrEnum):
    NORMAL = "normal"
    RUSH = "rush"


class OrderSource(StrEnum):
    """Who placed an order: staff (POST /api/orders), a guest at the table, an integration."""

    STAFF = "staff"
    GUEST = "guest"
    INTEGRATION = "integration"


class OrderLine(Item):
    """A line as its caller asks for it: a dish by `name` (any case) or `menu_id`, or a line
    not on the menu; the menu names, routes and prices it (domain/menu.py)."""

    name: str = ""
    menu_id: int | None = None
    qty: int = Field(1, ge=1)
    note: str = ""
    modifiers: list[str] = []
    # The names of the dish's options chosen.
    options: list[str] = []
    # The unit price of a line not on the menu; a dish's is the menu's.
    price: int | None = None


class OrderItem(Item):
    name: str
    qty: int = Field(1, ge=1)
    note: str = ""
    # What the kitchen is told: the chosen options' names first, then the caller's own.
    modifiers: list[str] = []
    done: bool = False
    # The kitchen station that cooks it, taken from the menu when the order was placed.
    station: str = ""
    # When it was crossed off: a station's time is from placed until its last item's.
    done_at: str | None = None
    # The dish it is, if on the menu; its unit price with its options, fixed at placement
    # (a later menu change never alters a placed order); the options chosen, by name.
    menu_id: int | None = None
    price: int = Field(0, ge=0)
    options: list[str] = []


class Order(Item):
    id: int
    table_id: int
    status: OrderStatus = OrderStatus.PLACED
    priority: OrderPriority = OrderPriority.NORMAL
    items: list[OrderItem]
    note: str = ""
    robot_id: str | None = None
    task_id: int | None = None
    source: OrderSource = OrderSource.STAFF
    # The party's stay it belongs to (SPEC §12); null until visits exist.
    visit_id: int | None = None
    # Σ qty x price of its items (core/money.py), fixed with them at placement.
    total: int = Field(0, ge=0)
    created_at: str
    updated_at: str
    ready_at: str | None = None
    served_at: str | None = None


class VisitStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    OTHER = "other"


class Payment(Item):
    """Money a visit was paid (SPEC §12.3): recorded, never processed here."""

    id: int
    amount: int = Field(ge=1)
    method: PaymentMethod
    reference: str = ""
    created_at: str


class Visit(Item):
    """One party's stay at one table, from seating to paying, and what it owes."""

    id: int
    table_id: int
    customer_id: int | None = None
    # Unknown when an order, not a host, opened it.
    party_size: int | None = Field(None, ge=1)
    status: VisitStatus = VisitStatus.OPEN
    opened_at: str
    closed_at: str | None = None
    # Every order placed for the table while it was open, oldest first.
    order_ids: list[int] = []
    check: Check
    payments: list[Payment] = []

    def paid(self) -> int:
        """What its payments add up to, as stored (its check's `paid` once saved after them)."""
        return sum(payment.amount for payment in self.payments)


class Customer(Item):
    id: int
    name: str
    phone: str = ""
    party_size: int = Field(1, ge=1)
    status: CustomerStatus = CustomerStatus.WAITING
    table_id: int | None = None
    note: str = ""
    quoted_wait_s: int | None = None
    called_at: str | None = None
    seated_at: str | None = None
    visit_id: int | None = None
    # The party's own page, /w/{code} (SPEC §12.4); null for a party added before links were.
    link: str | None = None
    created_at: str
    updated_at: str


class InventoryItem(Item):
    id: int
    sku: str
    name: str
    quantity: float = Field(ge=0)
    unit: str = ""
    low_threshold: float = Field(0, ge=0)
    status: StockStatus = StockStatus.IN_STOCK


def stock_status(quantity: float, low_threshold: float) -> StockStatus:
    if quantity <= 0:
        return StockStatus.OUT_OF_STOCK
    if quantity <= low_threshold:
        return StockStatus.LOW_STOCK
    return StockStatus.IN_STOCK


class Event(Item):
    id: int
    type: str
    severity: Severity = Severity.INFO
    source: str = "server"
    message: str = ""
    data: dict[str, Any] = {}
    created_at: str
    acknowledged_at: str | None = None


class SystemLog(Item):
    id: int
    ts: str
    level: LogLevel
    source: str
    message: str
    # How many times it came within a minute of its first (core/repeats.py).
    repeats: int = Field(1, ge=1)


class VideoStream(Item):
    id: int
    name: str
    robot_id: str | None = None
    url: str
    status: StreamStatus = StreamStatus.INACTIVE
    updated_at: str


class PlaceName(StrEnum):
    """The floor's named places (SPEC §13): where robots dock and charge, where food is
    picked up, and the host stand escorts start from."""

    DOCK = "dock"
    PASS = "pass"
    HOST = "host"


class Place(Item):
    """A named place on the floor map, in metres in the robots' frame."""

    name: PlaceName
    x: float
    y: float


class MenuOption(Item):
    """A choice a dish offers (an extra egg), its price added to the dish's."""

    name: str
    # A text per language, as a dish's names; a language left out shows `name`.
    names: dict[Language, str] = {}
    price: int = Field(0, ge=0)


class MenuItem(Item):
    id: int
    # The kitchen's name, and the menu's key (unique whatever its case).
    name: str
    category: str = ""
    station: str | None = None
    prep_target_s: float | None = Field(None, gt=0)
    available: bool = True
    # In the minor unit of restaurant.currency.
    price: int = Field(0, ge=0)
    names: dict[Language, str] = {}
    descriptions: dict[Language, str] = {}
    allergens: list[Allergen] = []
    options: list[MenuOption] = []
    # Its photo's path (SPEC §13), null until one is uploaded.
    image: str | None = None
    # Orders it within its category (core/dishes.menu_order).
    position: int = 0
    # What one portion uses (PUT /api/menu/{id}/recipe); sold out when the stock cannot cover
    # one more portion (core/stock.cover, derived as the dish is read), and why.
    recipe: list[Ingredient] = []
    sold_out: bool = False
    sold_out_reason: str | None = None


class TaskKind(StrEnum):
    """One job for one robot (docs/protocol.md, "Dispatch"); each is also the command sent."""

    DELIVER = "deliver"
    BUS = "bus"
    SUMMON = "summon"
    GO_TO = "go_to"
    RETURN = "return"
    CHARGE = "charge"
    # From the host stand, lead a seated party to its table (SPEC §12.4).
    ESCORT = "escort"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    UNDERWAY = "underway"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StopStatus(StrEnum):
    PENDING = "pending"
    ARRIVED = "arrived"
    DONE = "done"
    SKIPPED = "skipped"


class TaskSource(StrEnum):
    AUTO = "auto"
    STAFF = "staff"
    INTEGRATION = "integration"
    GUEST = "guest"


class TaskStop(Item):
    table_id: int
    order_ids: list[int] = []
    status: StopStatus = StopStatus.PENDING


class Task(Item):
    id: int
    kind: TaskKind
    status: TaskStatus = TaskStatus.QUEUED
    priority: int = 0
    robot_id: str | None = None
    pinned: bool = False
    stops: list[TaskStop] = []
    source: TaskSource = TaskSource.STAFF
    detail: str = ""
    # The command that carries it to its robot (its command_result names it), and the
    # robots that refused it, which it is never offered again.
    command_id: str | None = None
    rejected_by: list[str] = []
    created_at: str
    assigned_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


# What a write may change of each entity: typed fields, so no rule names a column by string.
class TableChanges(TypedDict, total=False):
    label: str
    seats: int
    status: TableStatus
    customer_id: int | None
    x: float | None
    y: float | None


class OrderChanges(TypedDict, total=False):
    status: OrderStatus
    priority: OrderPriority
    items: list[OrderItem]
    note: str
    robot_id: str | None
    task_id: int | None
    ready_at: str | None
    served_at: str | None


class VisitChanges(TypedDict, total=False):
    status: VisitStatus
    closed_at: str | None
    check: Check


class CustomerChanges(TypedDict, total=False):
    name: str
    phone: str
    party_size: int
    status: CustomerStatus
    table_id: int | None
    note: str
    called_at: str | None
    seated_at: str | None
    visit_id: int | None


class InventoryChanges(TypedDict, total=False):
    name: str
    quantity: float
    unit: str
    low_threshold: float


class VideoStreamChanges(TypedDict, total=False):
    name: str
    robot_id: str | None
    url: str
    status: StreamStatus


class TaskChanges(TypedDict, total=False):
    status: TaskStatus
    priority: int
    robot_id: str | None
    pinned: bool
    stops: list[TaskStop]
    detail: str
    command_id: str | None
    rejected_by: list[str]
    assigned_at: str | None
    started_at: str | None
    finished_at: str | None


class MenuChanges(TypedDict, total=False):
    name: str
    category: str
    station: str | None
    prep_target_s: float | None
    available: bool
    price: int
    names: dict[Language, str]
    descriptions: dict[Language, str]
    allergens: list[Allergen]
    options: Sequence[MenuOption]
    position: int
    recipe: Sequence[Ingredient]
    # Set only by an upload (domain/photos.py): no REST body has it.
    image: str | None
