"""Clients of the services the ingester calls (the storage elements)."""
