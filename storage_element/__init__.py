"""ArtStore storage element: the bytes, their sidecars, the write-ahead log, the index and the change feed."""
