"""Every error code the server sends: the REST API's (docs/api.md, "Errors"), the robot TCP
protocol's (docs/protocol.md) and the WebSocket frames'. Clients act on these strings."""

from enum import StrEnum


class Code(StrEnum):
    # Shared by the REST API and the robot protocol.
    VALIDATION_ERROR = "validation_error"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"
    # The REST API's own.
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # A token of the config file's [auth.tokens]: the API cannot revoke it (SPEC §13).
    CONFIG_TOKEN = "config_token"
    # A table that takes no party now (out of service): no visit opens there.
    TABLE_CLOSED = "table_closed"
    # A payment over what the visit owes; a visit (or its table) closed while it owes.
    OVERPAID = "overpaid"
    CHECK_OPEN = "check_open"
    # An order the stock cannot make (core/stock.py): its message names the dish, and either
    # the ingredient it is out of or how many portions are left.
    SOLD_OUT = "sold_out"
    # A guest session whose visit has closed (the party has paid and gone).
    VISIT_CLOSED = "visit_closed"
    # Past a limit on writes in a window (a guest's orders per visit).
    RATE_LIMITED = "rate_limited"
    # The robot protocol's own (invalid_json also in WebSocket frames).
    INVALID_JSON = "invalid_json"
    UNKNOWN_TYPE = "unknown_type"
    LINE_TOO_LONG = "line_too_long"
    NOT_HELLO = "not_hello"
    REPLACED = "replaced"
    # A WebSocket frame that parses but is not a message a client may send.
    BAD_MESSAGE = "bad_message"
