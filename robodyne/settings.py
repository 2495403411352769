"""Settings: the TOML file, then ROBODYNE_<SECTION>__<KEY> environment, then flags."""

from __future__ import annotations

import argparse
import importlib.util
import os
from contextlib import suppress
from datetime import timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .core.dishes import Language, each_once
from .core.money import Terms, minor_digits
from .core.text import plain
from .core.tokens import Grant, shown, token_problem
from .wire.validation import first_problem

DEFAULT_CONFIG = Path("config/robodyne.toml")
ENV_PREFIX = "ROBODYNE_"
# Keys whose environment value is a comma-separated list.
LIST_KEYS = frozenset({"allowed_origins", "stations", "languages", "categories"})


LOCALTIME = Path("/etc/localtime")


def local_zone(tz: str | None = None, localtime: Path = LOCALTIME) -> tzinfo:
    """The box's own zone, with its rules: the TZ variable if it names a zone, else the zone
    /etc/localtime links to, else that file's rules, else UTC. (A fixed offset taken at start,
    as datetime.astimezone() gives, would put every day an hour off once the clocks change.)"""
    tz = os.environ.get("TZ") if tz is None else tz
    names = [tz.removeprefix(":")] if tz else []
    with suppress(OSError):
        names.append(os.path.realpath(localtime).partition("zoneinfo/")[2])
    for name in filter(None, names):
        with suppress(ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(name)
    try:
        with localtime.open("rb") as rules:
            return ZoneInfo.from_file(rules, key="localtime")
    except (OSError, ValueError):
        return timezone.utc


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode would take `port = true` as port 1; a TOML boolean is never a number.
        if isinstance(value, bool) and info.field_name is not None:
            if cls.model_fields[info.field_name].annotation in (int, float):
                raise ValueError("expected a number, not a boolean")
        return value


class ServerSettings(Section):
    host: str = "0.0.0.0"
    port: int = Field(8000, ge=0, le=65535)
    # IANA name for the restaurant's day (today's prep times, reports); empty: the box's own.
    timezone: str = ""
    # The base of the table links printed as QR codes (docs/guests.md), e.g.
    # "https://robodyne.local"; empty: each request's own scheme and host.
    public_url: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @field_validator("public_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        try:
            parts.port  # a port that is not a number (or out of range) raises here
        except ValueError as err:
            raise ValueError(f"{value!r}: {err}") from err
        # Printable ASCII only: it is printed on paper and read by phones' cameras.
        if (parts.scheme not in ("http", "https") or not parts.hostname
                or parts.username is not None or any(c in "?#" or not "!" <= c <= "~"
                                                     for c in value)):
            raise ValueError(f"{value!r} is not http(s)://host[:port][/path]")
        return value.rstrip("/")

    def zone(self) -> tzinfo:
        """The restaurant's time zone."""
        return ZoneInfo(self.timezone) if self.timezone else local_zone()


class RestaurantSettings(Section):
    """The restaurant as guests see it (docs/api.md, "Menu"; the check's keys are SPEC §12's)."""

    name: str = Field("Robodyne", min_length=1, max_length=80)
    # ISO 4217; every price is an integer in its minor unit (KRW: won; USD: cents).
    currency: str = "KRW"
    tax_rate: float = Field(0.10, ge=0, le=1)
    prices_include_tax: bool = True
    service_charge_pct: float = Field(0, ge=0, le=100)
    # The guest pages' languages, the first the default.
    languages: list[Language] = Field(list(Language), min_length=1)
    # The menu's category order on the guest page; categories not listed follow.
    categories: list[str] = []

    def terms(self) -> Terms:
        """The currency, tax and service charge every check is computed with."""
        return Terms.of(self.currency, self.tax_rate, self.prices_include_tax,
                        self.service_charge_pct)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        minor_digits(value)
        return value

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        return plain(value)

    @field_validator("languages", "categories")
    @classmethod
    def _each_once(cls, values: list[str]) -> list[str]:
        return each_once(values)


class GuestSettings(Section):
    """What a guest at a table may do by themselves (docs/guests.md, "Limits")."""

    # A guest's first order on an available table opens its visit (else staff seat it first).
    self_seat: bool = True
    # Lines in one guest order.
    max_items: int = Field(20, ge=1, le=100)
    # Guest orders per visit in any 10 minutes, however many phones and sessions (429 beyond).
    max_orders_per_10min: int = Field(6, ge=1, le=1000)


class HostSettings(Section):
    """The host stand and the waitlist (docs/api.md, "Waitlist")."""

    # A visit's expected length (minutes) while there are fewer than 5 closed ones to go by.
    default_turn_min: float = Field(45, gt=0, le=24 * 60)
    # Seating a party sends a robot to lead it to its table (not built yet: the seam is
    # domain/waitlist.py's on_seated).
    escort: bool = False


class TcpSettings(Section):
    host: str = "0.0.0.0"
    port: int = Field(8001, ge=0, le=65535)
    heartbeat_s: float = Field(5, gt=0)
    max_line_bytes: int = Field(65536, ge=256)
    # Robots the server knows at most: a new robot id past this is refused at its hello.
    max_robots: int = Field(200, ge=1)
    # Connections that have not said hello yet; one more is closed at once (SPEC §4).
    max_pending: int = Field(64, ge=1)
    # Events and logs (command results among them) one robot may send in any 60 s.
    max_lines_per_min: int = Field(600, ge=1)


class DatabaseSettings(Section):
    path: Path = Path("data/robodyne.db")


class BackupSettings(Section):
    """Scheduled online backups of the database (docs/operations.md, "Backups")."""

    # Relative to the working directory, like database.path.
    dir: Path = Path("data/backups")
    # Hours between scheduled backups; 0 turns them off. A float, so that tests can say seconds.
    interval_h: float = Field(24, ge=0)
    keep: int = Field(7, ge=1)


class MediaSettings(Section):
    """Where uploaded files (the menu's photos) are kept (docs/api.md, "Menu photos")."""

    # Empty: a folder `media` beside database.path (so the systemd unit's one writable place
    # holds it too); else a folder, relative to the working directory like database.path.
    dir: str = ""


class WebsocketSettings(Section):
    max_connections_per_topic: int = Field(100, ge=1)
    ping_interval_s: float = Field(20, gt=0)
    pong_timeout_s: float = Field(10, gt=0)
    send_queue_max: int = Field(1024, ge=1)
    send_timeout_s: float = Field(10, gt=0)
    max_message_bytes: int = Field(65536, ge=64)
    history_size: int = Field(1000, ge=0)
    snapshot_limit: int = Field(100, ge=1)


class PollingSettings(Section):
    interval_s: float = Field(10, gt=0)


class RetentionSettings(Section):
    """Events and system logs kept (docs/operations.md, "Retention"): the newest rows, and of
    those at most so many megabytes of text (floats, so that tests can say less than one)."""

    events: int = Field(100_000, ge=100)
    systemlogs: int = Field(100_000, ge=100)
    events_mb: float = Field(100, gt=0)
    systemlogs_mb: float = Field(100, gt=0)

    def max_bytes(self, topic: str) -> int:
        """The bytes of text kept of events or systemlogs."""
        megabytes: float = getattr(self, f"{topic}_mb")
        return int(megabytes * 2**20)


class KitchenSettings(Section):
    stations: list[str] = Field(["kitchen"], min_length=1)
    default_station: str = "kitchen"
    amber_after_s: float = Field(600, gt=0)
    red_after_s: float = Field(1200, gt=0)

    @model_validator(mode="after")
    def _default_is_a_station(self) -> KitchenSettings:
        if self.default_station not in self.stations:
            raise ValueError(f"default_station {self.default_station!r} is not one of"
                             f" the stations {self.stations}")
        if "expo" in self.stations:
            raise ValueError("'expo' is the expo screen, not a station")
        return self


class DispatchSettings(Section):
    """How the server hands robots their work (docs/protocol.md, "Dispatch")."""

    auto_deliver: bool = True
    max_stops: int = Field(3, ge=1, le=20)
    min_battery: float = Field(30, ge=0, le=100)
    charge_below: float = Field(25, ge=0, le=100)
    resume_battery: float = Field(80, ge=0, le=100)
    return_when_idle: bool = True
    # The guests' "about N s" (domain/eta.py): a robot's speed, and its time at each stop.
    robot_speed_mps: float = Field(0.5, gt=0, le=10)
    stop_dwell_s: float = Field(20, ge=0, le=600)
    # Closing a visit (or staff leaving its table needing cleaning) sends a robot to bus it.
    bus_on_close: bool = True


class SimulationSettings(Section):
    """The demo restaurant's life (`--demo`): guests, cooks and simulated robots."""

    robots: int = Field(4, ge=0, le=50)
    order_every_s: float = Field(8, gt=0)
    cook_s: float = Field(12, gt=0)
    fail_rate: float = Field(0.0, ge=0, le=1)


class AuthSettings(Section):
    allowed_origins: list[str] = []
    tls_cert: str = ""
    tls_key: str = ""
    max_connections_per_token: int = Field(20, ge=1)
    # token = role, or "robot:<id>" for a token bound to one robot.
    tokens: dict[str, str] = {}

    @field_validator("tokens")
    @classmethod
    def _usable_tokens(cls, tokens: dict[str, str]) -> dict[str, str]:
        for token, value in tokens.items():
            problem = token_problem(token)
            if problem is None:
                try:
                    Grant.parse(value)
                except ValueError as err:
                    problem = str(err)
            if problem is not None:
                raise ValueError(f"token {shown(token)!r}: {problem}")
        return tokens

    @model_validator(mode="after")
    def _tls_pair(self) -> AuthSettings:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together: set both or neither")
        return self

    def grants(self) -> dict[str, Grant]:
        return {token: Grant.parse(value) for token, value in self.tokens.items()}


class Settings(Section):
    server: ServerSettings = ServerSettings()
    restaurant: RestaurantSettings = RestaurantSettings()
    guest: GuestSettings = GuestSettings()
    host: HostSettings = HostSettings()
    tcp: TcpSettings = TcpSettings()
    database: DatabaseSettings = DatabaseSettings()
    backup: BackupSettings = BackupSettings()
    media: MediaSettings = MediaSettings()
    websocket: WebsocketSettings = WebsocketSettings()
    polling: PollingSettings = PollingSettings()
    auth: AuthSettings = AuthSettings()
    retention: RetentionSettings = RetentionSettings()
    kitchen: KitchenSettings = KitchenSettings()
    dispatch: DispatchSettings = DispatchSettings()
    simulation: SimulationSettings = SimulationSettings()
    demo: bool = False
    # --ros2: the demo also drives one simulated Nav2 robot through the ROS 2 bridge.
    demo_ros2: bool = False

    def media_dir(self) -> Path:
        """The media dir: media.dir, else `media` beside the database."""
        return Path(self.media.dir) if self.media.dir else self.database.path.parent / "media"


class SettingsError(Exception):
    """A setting that cannot be used; the message names the key."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="robodyne", description=__doc__)
    parser.add_argument("--config", type=Path, help=f"TOML file (default {DEFAULT_CONFIG})")
    parser.add_argument("--port", type=int, help="HTTP/WebSocket port")
    parser.add_argument("--tcp-port", type=int, help="robot TCP port")
    parser.add_argument("--db", type=Path, help="SQLite database file")
    parser.add_argument("--demo", action="store_true", help="seed a demo restaurant")
    parser.add_argument("--ros2", action="store_true",
                        help="with --demo: one simulated Nav2 robot through the ROS 2 bridge"
                        " (needs the [ros2] extra)")
    return parser.parse_args(argv)


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge defaults < file < environment < flags and validate the result."""
    args = parse_args(argv)
    raw = _read_toml(args.config or DEFAULT_CONFIG, required=args.config is not None)
    _merge(raw, _from_environ(os.environ if environ is None else environ))
    flags = {
        ("server", "port"): args.port,
        ("tcp", "port"): args.tcp_port,
        ("database", "path"): args.db,
    }
    for (section, key), value in flags.items():
        # `server = 5` in the file is left for validation to name, not crashed on here.
        if value is not None and isinstance(raw.setdefault(section, {}), dict):
            raw[section][key] = value
    if args.demo:
        raw["demo"] = True
    if args.ros2:
        _check_ros2(args.demo)
        raw["demo_ros2"] = True
    try:
        return Settings.model_validate(raw)
    except ValidationError as err:
        problem = first_problem(err)
        # A token is a secret: its problem names its first characters, never its value.
        got = "" if problem.where.startswith("auth") else f" (got {problem.value!r})"
        raise SettingsError(f"invalid setting {problem.where}: {problem.message}{got}") from err


def _check_ros2(demo: bool) -> None:
    """--ros2 runs the bridge's demo in a child process: it needs --demo and ROS 2's packages
    (looked for, never imported: the server does not load ROS)."""
    if not demo:
        raise SettingsError("--ros2 needs --demo")
    if importlib.util.find_spec("rclpy") is None:
        raise SettingsError("--ros2 needs ROS 2's Python packages: pip install -e \".[ros2]\"")


def _read_toml(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError as err:
        if required:
            raise SettingsError(f"config file {path} does not exist") from err
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SettingsError(f"config file {path} is not valid TOML: {err}") from err
    except OSError as err:
        raise SettingsError(f"config file {path} cannot be read: {err.strerror or err}") from err


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """ROBODYNE_WEBSOCKET__SEND_QUEUE_MAX=5 -> {"websocket": {"send_queue_max": "5"}}."""
    found: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
        if key in LIST_KEYS:
            found.setdefault(section, {})[key] = [v for v in value.split(",") if v]
        else:
            found.setdefault(section, {})[key] = value
    return found


def _merge(into: dict[str, Any], overrides: dict[str, Any]) -> None:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, dict) and key in into:
            continue  # `server = 5` in the file: keep it so validation names it, not mask it
        else:
            into[key] = value
