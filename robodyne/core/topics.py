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
    EVENTS = "events"
    SYSTEMLOGS = "systemlogs"
    STATUS = "status"


# Topics whose snapshot is every item (orders and visits: the open ones and the recently
# closed).
STATE_TOPICS: Final = (Topic.ROBOTS, Topic.TABLES, Topic.ORDERS, Topic.CUSTOMERS,
                       Topic.INVENTORY, Topic.VIDEO_STREAMS, Topic.TASKS, Topic.MENU,
                       Topic.VISITS)
# Topics that append records; their snapshot is the newest snapshot_limit of them.
LOG_TOPICS: Final = (Topic.EVENTS, Topic.SYSTEMLOGS)
# Every topic's name, for checking a name from a URL (`in` on the enum needs a member).
TOPIC_NAMES: Final = frozenset(Topic)
