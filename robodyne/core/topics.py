"""The topics (docs/protocol.md, "Endpoint") as one StrEnum, and which kind each one is."""

from enum import StrEnum
from typing import Final


class Topic(StrEnum):
    ROBOTS = "robots"
    TABLES = "tables"
    ORDERS = "orders"
    CUSTOMERS = "customers"
    INVENTORY = "inventory"
    VIDEO_STREAMS = "video_streams"
    TASKS = "tasks"
    MENU = "menu"
    VISITS = "visits"
    CALLS = "calls"
    PLACES = "places"
    EVENTS = "events"
    SYSTEMLOGS = "systemlogs"
    STATUS = "status"


# Topics whose snapshot is every item (orders and visits: the open ones and the recently
# closed).
STATE_TOPICS: Final = (Topic.ROBOTS, Topic.TABLES, Topic.ORDERS, Topic.CUSTOMERS,
                       Topic.INVENTORY, Topic.VIDEO_STREAMS, Topic.TASKS, Topic.MENU,
                       Topic.VISITS, Topic.CALLS, Topic.PLACES)
# Topics that append records; their snapshot is the newest snapshot_limit of them.
LOG_TOPICS: Final = (Topic.EVENTS, Topic.SYSTEMLOGS)
# The guest's stream: one per table (a family of keyed streams, live/hub.py), each holding its
# table's guest view; only a guest session's cookie opens it (SPEC §11.3, §11.4).
GUEST_STREAM: Final = "guest"
# A waiting party's stream: one per party (keyed by customer id), holding its place in line;
# only the party's own cookie opens it (SPEC §12.4).
PARTY_STREAM: Final = "party"
# Every topic's name, for checking a name from a URL (`in` on the enum needs a member).
TOPIC_NAMES: Final = frozenset(Topic)
# What an idempotent POST may write besides a topic's item: a visit's payment, kept with the
# visit and no topic of its own. A retry after a crash gets it as its answer (SPEC §5).
PAYMENTS: Final = "payments"
