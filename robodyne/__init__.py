"""Robodyne: the real-time server of a restaurant that runs serving robots."""

__version__ = "0.1.0"
