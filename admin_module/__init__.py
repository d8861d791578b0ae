"""ArtStore admin module: identities, tokens, signing keys, the storage-element registry and the audit log."""
