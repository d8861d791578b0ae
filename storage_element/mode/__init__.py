"""The SE's mode (edit, rw, ro, ar): persisted, enforced, changed, announced."""
