"""The storage-element registry: registration, health polling, discovery snapshots."""
