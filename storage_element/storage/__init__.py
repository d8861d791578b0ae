"""Bytes and sidecars on a backend, the write-ahead log, the write protocol and recovery."""
