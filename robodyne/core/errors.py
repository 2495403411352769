"""Domain errors; the REST and TCP layers each map them to their wire errors in one place."""


class DomainError(Exception):
    """Something the caller asked for that the restaurant's rules refuse."""


class NotFound(DomainError):
    """The entity does not exist."""


class Conflict(DomainError):
    """The request clashes with the current state (e.g. an order status move not allowed)."""


class ConstraintFailed(Conflict):
    """The database refused a write that breaks one of its constraints (a unique name, sku)."""


class ConfigToken(Conflict):
    """A token of the config file's [auth.tokens]: only an edit of that file changes it."""


class TableClosed(Conflict):
    """The table takes no party now (out of service), so no visit opens there."""


class Overpaid(Conflict):
    """A payment larger than what the visit still owes."""


class CheckOpen(Conflict):
    """A visit that still owes money: it may not close, nor its table be freed."""


class SoldOut(Conflict):
    """An order the stock cannot make: a dish sold out, or more portions than are left."""


class RobotOffline(Conflict):
    """The robot has no live TCP session to carry a command."""


class StorageUnavailable(DomainError):
    """The database refused the write (read-only, disk full) or could not be read."""


class Invalid(DomainError):
    """A request that is well-formed JSON but names something impossible; maps to 400."""


class Unauthorized(DomainError):
    """No token, or a token nobody issued."""


class Forbidden(DomainError):
    """The token's role may not do this."""


class VisitClosed(Forbidden):
    """A guest session whose visit has closed: it may write nothing more (SPEC §11.3)."""


class RateLimited(DomainError):
    """More writes than a limit allows in its window (a guest's orders per visit)."""
