"""ArtStore ingester: uploads (streaming and resumable), placement and sagas."""
