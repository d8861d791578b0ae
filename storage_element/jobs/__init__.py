"""Maintenance jobs (reindex, consistency, scrub), the retention runner and the job registry."""
