"""The vocabulary: models, errors, topics, roles and the order lifecycle. No I/O at all."""
