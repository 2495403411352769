"""Helpers the tests share: real clients, real server processes, the browser."""
