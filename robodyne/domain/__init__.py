"""The restaurant's rules: orders, the fleet, events and logs, status, polling."""
