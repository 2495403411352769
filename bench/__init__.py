"""Benchmarks: real servers in their own processes, driven over real sockets by load processes."""
