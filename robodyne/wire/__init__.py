"""Sans-I/O codecs: NDJSON framing, robot lines, WebSocket frames, validation messages."""
