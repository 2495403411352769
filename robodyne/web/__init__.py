"""The aiohttp adapter: routes, auth, the REST API, WebSocket topics, pages, metrics."""
