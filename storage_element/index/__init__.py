"""The SE's Postgres index: a rebuildable projection of the sidecars, plus the change feed."""
