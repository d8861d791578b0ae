"""ArtStore query module: the search catalog, cached metadata and verified downloads."""
