"""ArtStore query module: the search catalog, cached metadata and verified downloads.

A tour of the package (ARCHITECTURE.md sections 2 and 7; API.md "query_module"):

* ``catalog/``: the catalog is a projection of every storage element's change feed:
  copies keyed by ``(file_id, SE)``, file rows holding the winning copy's attributes,
  a cursor per SE applied in the same transaction as the rows (``service.pull_once``),
  one pull loop per SE across replicas (``feed.FeedRunner``, advisory locks), new feed
  epochs re-read and swept, ``GET /api/v1/files/{id}`` through the cache.
* ``search/``: ``GET /api/v1/search`` (web-search syntax under ``simple``, ``russian``
  and ``english``, weighted name > tags > description > metadata; filters, sorting,
  keyset cursors, facets, capped totals) and ``GET /api/v1/search/suggest``.
* ``cache/``: the two-level metadata cache (in-process LRU with TTL, then Redis) with
  invalidations over Redis pub/sub.
* ``downloads/``: streaming downloads from the preferred copy with fallback, circuit
  breakers, sha256 verification of full downloads, audit, and signed links.
* ``stats/``: ``GET /api/v1/stats`` for the dashboard.
"""
