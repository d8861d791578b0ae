"""The change feed: ``GET /api/v1/changes`` (op upsert, delete, mode; seq within feed_epoch)."""
