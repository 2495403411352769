"""The aiosqlite store and its migrations: every read and write of the SQLite file."""
