"""The library every ArtStore service imports.

It holds what each service needs in the same shape: settings, logging, errors, JWT
verification, database and Redis factories, health, metrics, tracing, an HTTP client
factory and the audit outbox. It imports no service (ARCHITECTURE.md section 1).
"""
