"""The SQLite schema as numbered migrations; storage applies the ones a file lacks."""

from typing import Final

# The table that says which migrations a file has had; made before the first of them.
VERSION_TABLE: Final = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)"
# Append only: a released migration is never edited, a change is a new entry.
MIGRATIONS: Final[tuple[str, ...]] = (
    """
    CREATE TABLE robots (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        model TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'offline',
        battery REAL,
        pose TEXT,
        order_id INTEGER,
        table_id INTEGER,
        connected INTEGER NOT NULL DEFAULT 0,
        last_seen TEXT,
        issues TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE dining_tables (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL,
        seats INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'available',
        customer_id INTEGER,
        x REAL,
        y REAL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        table_id INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'placed',
        items TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        robot_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        ready_at TEXT,
        served_at TEXT
    );
    CREATE INDEX orders_by_status ON orders (status, updated_at);
    CREATE INDEX orders_by_table ON orders (table_id, status);
    CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        phone TEXT NOT NULL DEFAULT '',
        party_size INTEGER NOT NULL DEFAULT 1,
        status TEXT NOT NULL DEFAULT 'waiting',
        table_id INTEGER,
        created_at TEXT NOT NULL
    );
    CREATE TABLE inventory (
        id INTEGER PRIMARY KEY,
        sku TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        quantity REAL NOT NULL DEFAULT 0,
        unit TEXT NOT NULL DEFAULT '',
        low_threshold REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        severity TEXT NOT NULL DEFAULT 'info',
        source TEXT NOT NULL DEFAULT 'server',
        message TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        acknowledged_at TEXT
    );
    CREATE TABLE systemlogs (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        level TEXT NOT NULL,
        source TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE TABLE video_streams (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        robot_id TEXT,
        url TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'inactive',
        updated_at TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE orders ADD COLUMN task_id INTEGER;
    CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued',
        priority INTEGER NOT NULL DEFAULT 0,
        robot_id TEXT,
        pinned INTEGER NOT NULL DEFAULT 0,
        stops TEXT NOT NULL DEFAULT '[]',
        source TEXT NOT NULL DEFAULT 'staff',
        detail TEXT NOT NULL DEFAULT '',
        command_id TEXT,
        rejected_by TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        assigned_at TEXT,
        started_at TEXT,
        finished_at TEXT
    );
    CREATE INDEX tasks_by_status ON tasks (status, finished_at);
    """,
    """
    ALTER TABLE orders ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
    CREATE TABLE menu (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL COLLATE NOCASE UNIQUE,
        category TEXT NOT NULL DEFAULT '',
        station TEXT,
        prep_target_s REAL,
        available INTEGER NOT NULL DEFAULT 1
    );
    """,
    """
    ALTER TABLE systemlogs ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
    """,
    # Idempotency-Key records (docs/api.md, "Idempotency"): scope is the SHA-256 of the
    # caller's token, never the token; status is NULL until the request has its answer (still
    # running, or cut by a crash: then created_* says what it had already committed).
    """
    CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        body_sha256 TEXT NOT NULL,
        status INTEGER,
        content_type TEXT,
        body BLOB,
        created_topic TEXT,
        created_id INTEGER,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    """,
    # The day's report and the export read one range of created_at (store/report_queries.py).
    """
    CREATE INDEX orders_by_created ON orders (created_at);
    CREATE INDEX tasks_by_created ON tasks (created_at);
    CREATE INDEX events_by_type ON events (type, created_at);
    """,
    # Table links (SPEC §11.2): a table's secret code, kept apart from dining_tables so that no
    # read of the tables topic can carry it. Existing tables get theirs at the first start
    # (domain/links.py: codes from Python's secrets, not SQLite's randomness).
    """
    CREATE TABLE table_links (
        table_id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        made_at TEXT NOT NULL
    );
    -- SQLite gives a deleted table's id to the next table made: its code must go with it, or
    -- the old card would open the new table. A trigger, so a delete by another program too.
    CREATE TRIGGER table_links_go_with_their_table AFTER DELETE ON dining_tables
    BEGIN
        DELETE FROM table_links WHERE table_id = OLD.id;
    END;
    """,
    # The menu as guests see it and priced orders (docs/api.md, "Menu" and "Orders"). A dish
    # of an earlier release costs 0 and says nothing more; its orders came from staff, and
    # their items (JSON) read as costing 0 with no menu_id, so their total is 0 as well.
    """
    ALTER TABLE menu ADD COLUMN price INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE menu ADD COLUMN names TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE menu ADD COLUMN descriptions TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE menu ADD COLUMN allergens TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE menu ADD COLUMN options TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE menu ADD COLUMN image TEXT;
    ALTER TABLE menu ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT 'staff';
    ALTER TABLE orders ADD COLUMN visit_id INTEGER;
    ALTER TABLE orders ADD COLUMN total INTEGER NOT NULL DEFAULT 0;
    """,
    # Visits (SPEC §12.1): a party's stay at a table. At most one open visit per table, which
    # the partial unique index keeps even against another program writing the file. `bill`
    # is the check as last computed (JSON; "check" is an SQL keyword); its order_ids are the
    # orders naming the visit.
    """
    CREATE TABLE visits (
        id INTEGER PRIMARY KEY,
        table_id INTEGER NOT NULL,
        customer_id INTEGER,
        party_size INTEGER,
        status TEXT NOT NULL DEFAULT 'open',
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        bill TEXT NOT NULL
    );
    CREATE UNIQUE INDEX visits_open_per_table ON visits (table_id) WHERE status = 'open';
    CREATE INDEX visits_by_status ON visits (status, closed_at);
    CREATE INDEX orders_by_visit ON orders (visit_id);
    """,
    # Guests' calls (SPEC §11.5) and guest sessions (§11.3). A session row never changes:
    # what it belongs to is derived. `first_visit_id` is its table's open visit when it was
    # made, else the id the next visit would at least have, so its visit is the table's first
    # with an id at least that; the session ended when that visit is closed, or when its
    # `code` is no longer the table's. Only a hash of the cookie is kept, as of any secret.
    """
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        table_id INTEGER NOT NULL,
        visit_id INTEGER,
        kind TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        task_id INTEGER,
        created_at TEXT NOT NULL,
        answered_at TEXT
    );
    CREATE UNIQUE INDEX calls_open_per_kind ON calls (table_id, kind) WHERE status = 'open';
    CREATE INDEX calls_by_status ON calls (status, created_at);
    CREATE TABLE guest_sessions (
        token_hash TEXT PRIMARY KEY,
        table_id INTEGER NOT NULL,
        code TEXT NOT NULL,
        first_visit_id INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX guest_sessions_by_age ON guest_sessions (created_at);
    CREATE INDEX guest_sessions_by_table ON guest_sessions (table_id, created_at);
    CREATE INDEX visits_by_table ON visits (table_id, id);
    -- A scope's keys, newest first: the 1,000 a scope keeps (store/keys.py).
    CREATE INDEX idempotency_keys_by_scope ON idempotency_keys (scope, created_at);
    """,
    # Payments (SPEC §12.3): what a visit was paid, recorded here and processed elsewhere (the
    # card terminal, the POS). A visit's record reads them as its `payments`, oldest first.
    """
    CREATE TABLE payments (
        id INTEGER PRIMARY KEY,
        visit_id INTEGER NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 1),
        method TEXT NOT NULL,
        reference TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX payments_by_visit ON payments (visit_id, id);
    """,
    # The payments export reads one range of payments' created_at (store/report_queries.py).
    """
    CREATE INDEX payments_by_created ON payments (created_at);
    """,
    # The waitlist (SPEC §12.4): a party's note, its quote, when it was called and seated,
    # its visit, its page's secret code (the item's `link`, /w/{code}) and when it last
    # changed (the snapshot keeps those out of line an hour, like closed orders). Parties of an
    # earlier release have no code (no page; the item's link is null); one seated then was
    # seated when it joined, as far as anyone knows.
    """
    ALTER TABLE customers ADD COLUMN note TEXT NOT NULL DEFAULT '';
    ALTER TABLE customers ADD COLUMN quoted_wait_s INTEGER;
    ALTER TABLE customers ADD COLUMN called_at TEXT;
    ALTER TABLE customers ADD COLUMN seated_at TEXT;
    ALTER TABLE customers ADD COLUMN visit_id INTEGER;
    ALTER TABLE customers ADD COLUMN code TEXT;
    ALTER TABLE customers ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
    UPDATE customers SET seated_at = created_at WHERE status = 'seated';
    UPDATE customers SET updated_at = created_at;
    CREATE UNIQUE INDEX customers_by_code ON customers (code) WHERE code IS NOT NULL;
    CREATE INDEX customers_by_status ON customers (status, updated_at);
    """,
    # The floor's named places (SPEC §13): the dock, the pass, the host stand. A place never
    # set has no row.
    """
    CREATE TABLE places (
        name TEXT PRIMARY KEY,
        x REAL NOT NULL,
        y REAL NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # Cameras (SPEC §13): a robot's stream is one row per name, upserted by its `video` line
    # (store/cameras.py). A robot holding two of one name from before keeps both, the later
    # ones renamed "name #id". Streams of no robot (a NULL robot_id) never collide.
    """
    UPDATE video_streams SET name = name || ' #' || id
        WHERE robot_id IS NOT NULL AND id NOT IN (
            SELECT min(id) FROM video_streams WHERE robot_id IS NOT NULL
            GROUP BY robot_id, name);
    CREATE UNIQUE INDEX video_streams_by_robot ON video_streams (robot_id, name);
    """,
    # Stock (SPEC §13): every change of an inventory line's quantity as a move, written in the
    # transaction that changes it (an order's own, for what it takes); a dish's recipe. The
    # trigger is the last guard of "never below zero", behind the rule that refuses it first.
    """
    CREATE TABLE inventory_moves (
        id INTEGER PRIMARY KEY,
        inventory_id INTEGER NOT NULL,
        delta REAL NOT NULL,
        reason TEXT NOT NULL,
        order_id INTEGER,
        note TEXT NOT NULL DEFAULT '',
        quantity_after REAL NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX inventory_moves_by_item ON inventory_moves (inventory_id, id);
    CREATE INDEX inventory_moves_by_order ON inventory_moves (order_id)
        WHERE order_id IS NOT NULL;
    ALTER TABLE menu ADD COLUMN recipe TEXT NOT NULL DEFAULT '[]';
    CREATE TRIGGER inventory_never_below_zero BEFORE UPDATE OF quantity ON inventory
        WHEN NEW.quantity < 0
        BEGIN SELECT RAISE(ABORT, 'an inventory quantity below zero'); END;
    """,
    # The report's waits read the parties seated on a day (store/report_queries.py).
    """
    CREATE INDEX customers_by_seated ON customers (seated_at) WHERE seated_at IS NOT NULL;
    """,
)
