"""Settings = built-in defaults < TOML file < ROBODYNE_<SECTION>__<KEY> < flags.

Unit level: robodyne.settings.load_settings(argv, environ) with a real TOML file in tmp_path.
"""

from __future__ import annotations

import json
from datetime import date, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from robodyne.core.days import day_range
from robodyne.settings import SettingsError, load_settings, local_zone

# The product contract's keys and defaults (config/robodyne.toml) — written out, not imported.
SPEC_DEFAULTS = {
    "server": {"host": "0.0.0.0", "port": 8000, "timezone": "", "public_url": ""},
    "restaurant": {"name": "Robodyne", "currency": "KRW", "tax_rate": 0.10,
                   "prices_include_tax": True, "service_charge_pct": 0,
                   "languages": ["ko", "en", "zh", "ja"], "categories": []},
    "tcp": {"host": "0.0.0.0", "port": 8001, "heartbeat_s": 5, "max_line_bytes": 65536,
            "max_robots": 200, "max_pending": 64, "max_lines_per_min": 600},
    "database": {"path": "data/robodyne.db"},
    "backup": {"dir": "data/backups", "interval_h": 24, "keep": 7},
    "websocket": {
        "max_connections_per_topic": 100,
        "ping_interval_s": 20,
        "pong_timeout_s": 10,
        "send_queue_max": 1024,
        "send_timeout_s": 10,
        "max_message_bytes": 65536,
        "history_size": 1000,
        "snapshot_limit": 100,
    },
    "polling": {"interval_s": 10},
    "guest": {"self_seat": True, "max_items": 20, "max_orders_per_10min": 6},
    "host": {"default_turn_min": 45, "escort": False},
    "dispatch": {"auto_deliver": True, "max_stops": 3, "min_battery": 30, "charge_below": 25,
                 "resume_battery": 80, "return_when_idle": True, "robot_speed_mps": 0.5,
                 "stop_dwell_s": 20, "bus_on_close": True},
    "auth": {"allowed_origins": [], "tls_cert": "", "tls_key": "",
             "max_connections_per_token": 20, "tokens": {}},
    "demo": False,
}
# Ours, beyond the product contract (documented in config/robodyne.toml and docs/operations.md).
EXTRA_DEFAULTS = {
    "retention": {"events": 100_000, "systemlogs": 100_000, "events_mb": 100,
                  "systemlogs_mb": 100},
    "kitchen": {"stations": ["kitchen"], "default_station": "kitchen", "amber_after_s": 600,
                "red_after_s": 1200},
    "simulation": {"robots": 4, "order_every_s": 8, "cook_s": 12, "fail_rate": 0.0},
    "media": {"dir": ""},
    # run.py --demo --ros2 (docs/ros2.md): a flag, not a key of the file
    "demo_ros2": False,
}
ALL_DEFAULTS = {**SPEC_DEFAULTS, **EXTRA_DEFAULTS}


@pytest.fixture
def config(tmp_path: Path):
    """Write a TOML file and return the argv that points at it."""
    def write(text: str = "", *flags: str) -> list[str]:
        path = tmp_path / "robodyne.toml"
        path.write_text(text)
        return ["--config", str(path), *flags]
    return write


def as_plain(settings) -> dict:
    return settings.model_dump(mode="json")


# --- defaults -------------------------------------------------------------------------------

def test_empty_file_gives_every_spec_default(config) -> None:
    assert as_plain(load_settings(config(""), {})) == ALL_DEFAULTS


def test_no_config_flag_and_no_default_file_gives_the_defaults(tmp_path, monkeypatch) -> None:
    # config/robodyne.toml is optional; only an explicit --config must exist.
    monkeypatch.chdir(tmp_path)
    assert as_plain(load_settings([], {})) == ALL_DEFAULTS


def test_default_file_is_config_robodyne_toml(tmp_path, monkeypatch) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "robodyne.toml").write_text("[server]\nport = 8123\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings([], {}).server.port == 8123


def test_file_values_are_read_for_every_section(config) -> None:
    text = """
[server]
host = "127.0.0.1"
port = 9100
public_url = "https://robodyne.local/"
[restaurant]
name = "Han River"
currency = "USD"
tax_rate = 0.08
prices_include_tax = false
service_charge_pct = 10
languages = ["en", "ko"]
categories = ["starters", "mains"]
[tcp]
host = "127.0.0.2"
port = 9101
heartbeat_s = 2.5
max_line_bytes = 4096
[database]
path = "/var/lib/robodyne/x.db"
[backup]
dir = "/var/lib/robodyne/backups"
interval_h = 0.5
keep = 3
[websocket]
max_connections_per_topic = 7
ping_interval_s = 3
pong_timeout_s = 4
send_queue_max = 5
send_timeout_s = 6
max_message_bytes = 1024
history_size = 8
snapshot_limit = 9
[polling]
interval_s = 0.5
[guest]
self_seat = false
max_items = 5
max_orders_per_10min = 2
[host]
default_turn_min = 30
[dispatch]
auto_deliver = false
max_stops = 2
min_battery = 35
charge_below = 20
resume_battery = 90
return_when_idle = false
[auth]
allowed_origins = ["http://tablet.local:8080"]
[auth.tokens]
"secret-admin-0123456" = "admin"
"secret-floor-0123456" = "floor"
"secret-robot-0123456" = "robot:bot-7"
"""
    got = as_plain(load_settings(config(text), {}))
    assert got == {
        "server": {"host": "127.0.0.1", "port": 9100, "timezone": "",
                   "public_url": "https://robodyne.local"},
        "tcp": {"host": "127.0.0.2", "port": 9101, "heartbeat_s": 2.5, "max_line_bytes": 4096,
                "max_robots": 200, "max_pending": 64, "max_lines_per_min": 600},
        "database": {"path": "/var/lib/robodyne/x.db"},
        "backup": {"dir": "/var/lib/robodyne/backups", "interval_h": 0.5, "keep": 3},
        "websocket": {"max_connections_per_topic": 7, "ping_interval_s": 3, "pong_timeout_s": 4,
                      "send_queue_max": 5, "send_timeout_s": 6, "max_message_bytes": 1024,
                      "history_size": 8, "snapshot_limit": 9},
        "polling": {"interval_s": 0.5},
        "guest": {"self_seat": False, "max_items": 5, "max_orders_per_10min": 2},
        "host": {"default_turn_min": 30, "escort": False},
        "dispatch": {"auto_deliver": False, "max_stops": 2, "min_battery": 35,
                     "charge_below": 20, "resume_battery": 90, "return_when_idle": False,
                     "robot_speed_mps": 0.5, "stop_dwell_s": 20, "bus_on_close": True},
        "auth": {"allowed_origins": ["http://tablet.local:8080"], "tls_cert": "", "tls_key": "",
                 "max_connections_per_token": 20,
                 "tokens": {"secret-admin-0123456": "admin", "secret-floor-0123456": "floor",
                            "secret-robot-0123456": "robot:bot-7"}},
        "restaurant": {"name": "Han River", "currency": "USD", "tax_rate": 0.08,
                       "prices_include_tax": False, "service_charge_pct": 10,
                       "languages": ["en", "ko"], "categories": ["starters", "mains"]},
        "demo": False,
        **EXTRA_DEFAULTS,
    }


# --- precedence -----------------------------------------------------------------------------

FILE_LAYER = """
[server]
host = "127.0.0.1"
port = 1111
[tcp]
port = 2111
[database]
path = "file.db"
[websocket]
send_queue_max = 11
history_size = 12
"""


def test_flags_beat_environment_beat_file_beat_defaults(config) -> None:
    environ = {
        "ROBODYNE_SERVER__PORT": "1222",
        "ROBODYNE_TCP__PORT": "2222",
        "ROBODYNE_DATABASE__PATH": "env.db",
        "ROBODYNE_WEBSOCKET__SEND_QUEUE_MAX": "22",
        "ROBODYNE_POLLING__INTERVAL_S": "2.5",
    }
    argv = config(FILE_LAYER, "--port", "1333", "--tcp-port", "2333", "--db", "flag.db")
    s = load_settings(argv, environ)
    # flags > environment
    assert (s.server.port, s.tcp.port, str(s.database.path)) == (1333, 2333, "flag.db")
    # environment > file
    assert s.websocket.send_queue_max == 22
    # environment > defaults, for a key the file does not set
    assert s.polling.interval_s == 2.5
    # file > defaults; an environment override of one key keeps the file's other keys
    assert s.server.host == "127.0.0.1"
    assert s.websocket.history_size == 12
    # untouched keys keep their defaults
    assert s.websocket.snapshot_limit == ALL_DEFAULTS["websocket"]["snapshot_limit"]
    assert s.tcp.host == "0.0.0.0"


def test_environment_beats_file_without_flags(config) -> None:
    environ = {"ROBODYNE_SERVER__PORT": "1222", "ROBODYNE_TCP__PORT": "2222",
               "ROBODYNE_DATABASE__PATH": "env.db"}
    s = load_settings(config(FILE_LAYER), environ)
    assert (s.server.port, s.tcp.port, str(s.database.path)) == (1222, 2222, "env.db")


def test_file_beats_defaults_without_environment(config) -> None:
    s = load_settings(config(FILE_LAYER), {})
    assert (s.server.port, s.tcp.port, str(s.database.path)) == (1111, 2111, "file.db")
    assert s.websocket.send_queue_max == 11


def test_demo_flag(config) -> None:
    assert load_settings(config("", "--demo"), {}).demo is True
    assert load_settings(config(""), {}).demo is False


def test_environment_lists_and_unrelated_variables(config) -> None:
    environ = {
        "ROBODYNE_AUTH__ALLOWED_ORIGINS": "http://a.local,http://b.local:8080",
        "ROBODYNE_WEBSOCKET__PING_INTERVAL_S": "7.5",
        "ROBODYNE_HOME": "/opt/robodyne",  # no "__": not a setting
        "SERVER__PORT": "1",  # no prefix: not ours
        "PATH": "/usr/bin",
    }
    s = load_settings(config(""), environ)
    assert s.auth.allowed_origins == ["http://a.local", "http://b.local:8080"]
    assert s.websocket.ping_interval_s == 7.5
    assert s.server.port == 8000


# --- bad values name their key ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("[websocket]\nsend_queue_max = -1\n", "websocket.send_queue_max"),
    ("[websocket]\nsend_queue_max = 0\n", "websocket.send_queue_max"),
    ('[server]\nport = "abc"\n', "server.port"),
    ("[server]\nport = 70000\n", "server.port"),
    ("[server]\nport = true\n", "server.port"),
    ("[tcp]\nheartbeat_s = 0\n", "tcp.heartbeat_s"),
    ("[tcp]\nmax_line_bytes = 1.5\n", "tcp.max_line_bytes"),
    ("[websocket]\nping_interval_s = false\n", "websocket.ping_interval_s"),
    ("[polling]\ninterval_s = -3\n", "polling.interval_s"),
    ("[backup]\ninterval_h = -1\n", "backup.interval_h"),
    ("[backup]\nkeep = 0\n", "backup.keep"),
    ("[server]\nhost = 5\n", "server.host"),
    ('[auth]\nallowed_origins = "http://a.local"\n', "auth.allowed_origins"),
    ('[auth.tokens]\n"tok-0123456789abcdef" = "superuser"\n', "auth.tokens"),
    ('[auth.tokens]\n"tok-0123456789abcdef" = "robot:bad id"\n', "auth.tokens"),
    ('[auth]\ntls_cert = "/etc/robodyne/cert.pem"\n', "auth"),
    ("server = 5\n", "server"),
    ('[restaurant]\ncurrency = "XYZ"\n', "restaurant.currency"),
    ('[restaurant]\ncurrency = "XAU"\n', "restaurant.currency"),  # gold: no minor unit
    ('[restaurant]\ncurrency = "krw"\n', "restaurant.currency"),
    ('[restaurant]\nlanguages = ["ko", "fr"]\n', "restaurant.languages"),
    ("[restaurant]\nlanguages = []\n", "restaurant.languages"),
    ('[restaurant]\nlanguages = ["en", "en"]\n', "restaurant.languages"),
    ('[restaurant]\ncategories = ["mains", "mains"]\n', "restaurant.categories"),
    ("[restaurant]\ntax_rate = 1.5\n", "restaurant.tax_rate"),
    ("[restaurant]\nservice_charge_pct = -1\n", "restaurant.service_charge_pct"),
    ('[restaurant]\nname = ""\n', "restaurant.name"),
    ('[restaurant]\nname = "Robo\\u202edyne"\n', "restaurant.name"),
])
def test_bad_file_value_names_the_key(config, text: str, key: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(config(text), {})
    assert key in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("name", "value", "key"), [
    ("ROBODYNE_WEBSOCKET__SEND_QUEUE_MAX", "-1", "websocket.send_queue_max"),
    ("ROBODYNE_WEBSOCKET__SEND_QUEUE_MAX", "many", "websocket.send_queue_max"),
    ("ROBODYNE_SERVER__PORT", "abc", "server.port"),
    ("ROBODYNE_TCP__HEARTBEAT_S", "0", "tcp.heartbeat_s"),
    ("ROBODYNE_POLLING__INTERVAL_S", "soon", "polling.interval_s"),
])
def test_bad_environment_value_names_the_key(config, name: str, value: str, key: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(config(""), {name: value})
    assert key in str(err.value)


def test_bad_flag_value_names_the_key(config) -> None:
    with pytest.raises(SettingsError, match=r"server\.port"):
        load_settings(config("", "--port", "70000"), {})


def test_bad_value_in_file_is_reported_even_with_a_flag_for_its_section(config) -> None:
    # `server = 5` plus --port used to crash with a TypeError instead of naming the key.
    with pytest.raises(SettingsError, match=r"\bserver\b"):
        load_settings(config("server = 5\n", "--port", "9000"), {})
    with pytest.raises(SettingsError, match=r"\bserver\b"):
        load_settings(config("server = 5\n"), {"ROBODYNE_SERVER__PORT": "9000"})


def test_a_good_override_does_not_hide_a_bad_value_elsewhere(config) -> None:
    # The environment fixes send_queue_max; the file's bad history_size is still refused.
    text = "[websocket]\nsend_queue_max = -1\nhistory_size = -5\n"
    with pytest.raises(SettingsError, match=r"websocket\.history_size"):
        load_settings(config(text), {"ROBODYNE_WEBSOCKET__SEND_QUEUE_MAX": "5"})
    # …and the good override alone does fix the file's bad value.
    s = load_settings(config("[websocket]\nsend_queue_max = -1\n"),
                      {"ROBODYNE_WEBSOCKET__SEND_QUEUE_MAX": "5"})
    assert s.websocket.send_queue_max == 5


# --- unknown keys, missing or unreadable files ---------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("[websocket]\nsend_queue_maxx = 5\n", "websocket.send_queue_maxx"),
    ("[serverr]\nport = 1\n", "serverr"),
    ("debug = true\n", "debug"),
])
def test_unknown_key_in_file_is_refused_by_name(config, text: str, key: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(config(text), {})
    assert key in str(err.value)


def test_unknown_key_in_environment_is_refused_by_name(config) -> None:
    with pytest.raises(SettingsError, match=r"websocket\.send_queue_maxx"):
        load_settings(config(""), {"ROBODYNE_WEBSOCKET__SEND_QUEUE_MAXX": "5"})


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SettingsError) as err:
        load_settings(["--config", str(missing)], {})
    assert str(missing) in str(err.value)


@pytest.mark.parametrize("content", [b"[server\nport = 1\n", b"port = \n", b"\xff\xfe = 1\n"])
def test_invalid_toml_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    with pytest.raises(SettingsError, match="broken.toml"):
        load_settings(["--config", str(path)], {})


def test_config_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(["--config", str(tmp_path)], {})


def test_an_unknown_time_zone_stops_the_start_naming_the_key(config) -> None:
    with pytest.raises(SettingsError, match="server.timezone"):
        load_settings(config('[server]\ntimezone = "Mars/Olympus"\n'), {})
    assert load_settings(config('[server]\ntimezone = "Asia/Seoul"\n'), {}).server.zone()


def test_the_restaurants_lists_come_from_the_environment(config) -> None:
    restaurant = load_settings(config(""), {"ROBODYNE_RESTAURANT__LANGUAGES": "en,ko",
                                            "ROBODYNE_RESTAURANT__CATEGORIES": "soups,mains",
                                            "ROBODYNE_RESTAURANT__CURRENCY": "JPY"}).restaurant
    assert (restaurant.languages, restaurant.categories, restaurant.currency) == (
        ["en", "ko"], ["soups", "mains"], "JPY")


def test_kitchen_stations_come_as_a_list_from_the_environment(config) -> None:
    settings = load_settings(config(""), {"ROBODYNE_KITCHEN__STATIONS": "grill,bar",
                                          "ROBODYNE_KITCHEN__DEFAULT_STATION": "bar"})
    kitchen = settings.kitchen
    assert (kitchen.stations, kitchen.default_station) == (["grill", "bar"], "bar")
    with pytest.raises(SettingsError, match="default_station"):
        load_settings(config('[kitchen]\nstations = ["grill"]\ndefault_station = "bar"\n'), {})


# --- tokens: long, printable, never printed whole -------------------------------------------

@pytest.mark.parametrize(("token", "why"), [
    ("", "shorter than 16"),
    ("short-token", "shorter than 16"),
    ("0123456789abcde", "shorter than 16"),
    ("a-token with-space", "whitespace"),
    ("a-token\twith-a-tab", "whitespace"),
    ("a-token-with-nul\x00", "control"),
])
def test_an_unusable_token_stops_the_start_naming_its_first_4_characters(
        config, token: str, why: str) -> None:
    text = f'[auth.tokens]\n{json.dumps(token)} = "admin"\n'
    with pytest.raises(SettingsError) as err:
        load_settings(config(text), {})
    line = str(err.value)
    assert why in line and "auth.tokens" in line and "\n" not in line
    assert f"'{token[:4]}…'" in line
    if len(token) > 4:
        assert token not in line, "the whole token was printed"


def test_sixteen_printable_characters_make_a_token(config) -> None:
    settings = load_settings(config('[auth.tokens]\n"0123456789abcdef" = "kitchen"\n'), {})
    assert settings.auth.tokens == {"0123456789abcdef": "kitchen"}


def test_with_no_timezone_the_box_zone_keeps_its_clock_changes(tmp_path: Path) -> None:
    """The default (server.timezone = ""): a zone with rules, never the offset of the day the
    server started, so that July's days still start at local midnight."""
    july = date(2026, 7, 1)
    berlin = local_zone("Europe/Berlin")
    assert berlin == ZoneInfo("Europe/Berlin")
    assert day_range(july, july, berlin)[0] == "2026-06-30T22:00:00.000Z"
    assert day_range(date(2026, 1, 1), date(2026, 1, 1), berlin)[0] == "2025-12-31T23:00:00.000Z"
    linked = tmp_path / "localtime"
    linked.symlink_to("/usr/share/zoneinfo/America/New_York")
    assert local_zone("", linked) == ZoneInfo("America/New_York")
    copied = tmp_path / "copied"
    copied.write_bytes(Path("/usr/share/zoneinfo/Europe/Berlin").read_bytes())
    assert day_range(july, july, local_zone("", copied))[0] == "2026-06-30T22:00:00.000Z"
    assert local_zone("CET-1CEST", tmp_path / "missing") == timezone.utc
