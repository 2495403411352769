"""The pub/sub core: topics, seq, history, per-topic views and bounded client queues."""
