"""Roles and what each may read and write (docs/protocol.md, "Roles"); a token's role is
looked up in core/tokens.py."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from .topics import Topic


class Role(StrEnum):
    ADMIN = "admin"
    KITCHEN = "kitchen"
    FLOOR = "floor"
    MAINTENANCE = "maintenance"
    ROBOT = "robot"


class Scope(StrEnum):
    """What a REST write changes; each role may write some of them."""

    ORDERS = "orders"
    # Pricing an order's line that is not on the menu (a dish's price is the menu's).
    ORDER_PRICES = "order_prices"
    TABLES = "tables"
    CUSTOMERS = "customers"
    INVENTORY = "inventory"
    VIDEO_STREAMS = "video_streams"
    EVENT_ACK = "event_ack"
    ROBOT_COMMANDS = "robot_commands"
    TASKS = "tasks"
    MENU = "menu"
    # Only whether a dish is available ("86" it): what the kitchen may change of the menu.
    MENU_AVAILABLE = "menu_available"
    # Making pairing codes, hence new tokens: admin only.
    TOKENS = "tokens"
    # Making a table's link anew (the old one then opens nothing): admin only.
    TABLE_LINKS = "table_links"
    # Seating a party: opening a visit (and, later, its payments and closing).
    VISITS = "visits"
    # Answering a table's call.
    CALLS = "calls"
    # Setting where the dock, the pass and the host stand are: admin only.
    PLACES = "places"
    # Forgetting a robot that is not connected (its tcp.max_robots slot then free): admin only.
    ROBOTS = "robots"
    # Taking a table off the floor (DELETE /api/tables/{id}): admin only.
    FLOOR_PLAN = "floor_plan"


T = Topic
READABLE: Final[dict[Role, frozenset[Topic]]] = {
    Role.ADMIN: frozenset(Topic),
    Role.KITCHEN: frozenset({T.ORDERS, T.TABLES, T.INVENTORY, T.EVENTS, T.STATUS, T.TASKS,
                             T.MENU}),
    Role.FLOOR: frozenset({T.ROBOTS, T.TABLES, T.ORDERS, T.CUSTOMERS, T.EVENTS, T.STATUS,
                           T.VIDEO_STREAMS, T.TASKS, T.MENU, T.VISITS, T.CALLS, T.PLACES}),
    Role.MAINTENANCE: frozenset({T.ROBOTS, T.EVENTS, T.STATUS, T.SYSTEMLOGS, T.VIDEO_STREAMS,
                                 T.TASKS, T.PLACES}),
    Role.ROBOT: frozenset(),
}
S = Scope
WRITABLE: Final[dict[Role, frozenset[Scope]]] = {
    Role.ADMIN: frozenset(Scope),
    Role.KITCHEN: frozenset({S.ORDERS, S.INVENTORY, S.EVENT_ACK, S.MENU_AVAILABLE}),
    Role.FLOOR: frozenset({S.ORDERS, S.ORDER_PRICES, S.TABLES, S.CUSTOMERS, S.EVENT_ACK,
                           S.ROBOT_COMMANDS, S.TASKS, S.VISITS, S.CALLS}),
    Role.MAINTENANCE: frozenset({S.VIDEO_STREAMS, S.EVENT_ACK}),
    Role.ROBOT: frozenset(),
}
METRICS_ROLES: Final = frozenset({Role.ADMIN, Role.MAINTENANCE})
# The day's report and the orders export are the business's numbers: the owner's.
REPORT_ROLES: Final = frozenset({Role.ADMIN})
# Who may read a table's secret link: the owner, and the floor who set a table up for guests.
LINK_ROLES: Final = frozenset({Role.ADMIN, Role.FLOOR})
# Who may print every table's link at once (the sheet of QR codes).
PRINT_ROLES: Final = frozenset({Role.ADMIN})
# Who may list the tokens (by id, never the tokens themselves): the owner, who makes them.
TOKEN_ROLES: Final = frozenset({Role.ADMIN})
# A robot session's hello may carry these roles: a robot, or an integration peer.
ROBOT_SESSION_ROLES: Final = frozenset({Role.ROBOT, Role.ADMIN})


def may_read(role: Role, topic: str) -> bool:
    return topic in READABLE[role]


def may_write(role: Role, scope: Scope) -> bool:
    return scope in WRITABLE[role]
