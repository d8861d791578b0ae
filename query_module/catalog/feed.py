"""The change-feed runners: one pull loop per storage element, plus the Redis listener.

:class:`FeedManager` keeps one :class:`FeedRunner` per SE that discovery knows, and
starts a runner for an SE that appears later (no restart needed). Each runner pulls
pages (:func:`query_module.catalog.service.pull_once`) until it has caught up, then
waits for a wake-up (a Redis notification from the SE) or the polling interval, so
that a lost notification only delays a change. Every replica runs the loops; the SE's
advisory lock makes exactly one of them apply each page.

Before a delete that would leave a file with no copy (the source's ``relocated`` delete
at the end of a finalize or transfer saga), a runner reads every other SE's feed to its
end (:func:`catch_up`), so the copy the saga committed on the target is in the catalog
first, however far behind the target's own runner is.

:class:`Notifications` listens on Redis for SE change announcements (waking runners)
and for cache invalidations (evicting this replica's level-1 cache), reconnecting with
backoff while Redis is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from query_module.cache.cache import INVALIDATION_CHANNEL, MetadataCache
from query_module.catalog.service import PullResult, pull_once
from query_module.metrics import QueryMetrics
from shared.db import unit_of_work
from shared.discovery import SE_CHANGES_CHANNEL, Discovery
from shared.service_token import ServiceTokenProvider

log = logging.getLogger("artstore.query.feed")

PEER_WAIT_SECONDS = 10.0  # how long a peer SE's feed may stay locked by another replica's page


class FeedError(Exception):
    pass


class FeedRunner:
    def __init__(
        self,
        se_id: str,
        *,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        tokens: ServiceTokenProvider,
        discovery: Discovery,
        cache: MetadataCache,
        page_size: int,
        poll_interval: float,
        gather: float = 0.0,
        metrics: QueryMetrics | None = None,
    ) -> None:
        self.se_id = se_id
        self.metrics = metrics
        self.sessions = sessions
        self.http = http
        self.tokens = tokens
        self.discovery = discovery
        self.cache = cache
        self.page_size = page_size
        self.poll_interval = poll_interval
        self.gather = gather
        self._wake = asyncio.Event()
        self.passes = 0
        self.peers: Callable[[], list[FeedRunner]] = list  # the other SEs' runners (FeedManager)

    def wake(self) -> None:
        self._wake.set()

    async def fetch(self, after: int) -> dict[str, Any]:
        se = self.discovery.get(self.se_id)
        if se is None:
            raise FeedError(f"storage element {self.se_id} is not in discovery")
        response = await self.http.get(
            f"{se.url}/api/v1/changes",
            params={"after": after, "limit": self.page_size},
            headers=await self.tokens.headers(),
        )
        if response.status_code != 200:
            raise FeedError(f"{self.se_id} changes answered {response.status_code}: {response.text[:200]}")
        page: dict[str, Any] = response.json()
        return page

    async def pull(self, *, hold_last_copies: bool = True) -> PullResult:
        """Pull until caught up (or another replica holds the SE). Invalidates after each commit.

        A delete of a file's last known copy waits until the other SEs' feeds were read
        (``hold_last_copies``; off when this pull is itself such a read)."""
        se = self.discovery.get(self.se_id)
        mode = se.mode if se is not None else "rw"
        hold_after = 0 if hold_last_copies and self.peers() else None
        while True:
            async with unit_of_work(self.sessions) as session:
                result = await pull_once(
                    session,
                    se_id=self.se_id,
                    fetch=self.fetch,
                    page_size=self.page_size,
                    default_mode=mode,
                    hold_last_copies_after=hold_after,
                )
            if self.metrics is not None and not result.busy:
                self.metrics.feed_applied.labels(self.se_id).inc(result.applied)
                if result.caught_up:
                    self.metrics.pulled(self.se_id, 0)
            if result.all_changed:
                await self.cache.invalidate(None)
            elif result.changed:
                await self.cache.invalidate(result.changed)
            if result.held_through is not None:
                await catch_up(self.peers(), hold_last_copies=False)  # no holds within holds
                hold_after = result.held_through
            elif result.busy or result.caught_up:
                return result

    async def catch_up(self, *, hold_last_copies: bool, within: float = PEER_WAIT_SECONDS) -> None:
        """Pull this SE's feed to its end now, in the caller's task (not this runner's loop)."""
        deadline = time.monotonic() + within
        while (await self.pull(hold_last_copies=hold_last_copies)).busy:  # another replica's page
            if time.monotonic() > deadline:
                raise FeedError(f"{self.se_id}'s feed stayed locked for {within} s")
            await asyncio.sleep(0.05)

    async def run(self) -> None:
        backoff = self.poll_interval
        while True:
            self._wake.clear()
            try:
                result = await self.pull()
                self.passes += 1
                backoff = self.poll_interval
                delay = self.poll_interval
                if result.busy:
                    delay = min(self.poll_interval, 1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feed_pull_failed", extra={"se_id": self.se_id, "error": repr(exc)})
                if self.metrics is not None:
                    self.metrics.feed_errors.labels(self.se_id).inc()
                delay = backoff
                backoff = min(backoff * 2, 60.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
                # Woken by a notification: let the changes committed right after it join
                # the same page (under load one pull per upload cost more than the upload's
                # own SE transaction; docs/performance.md).
                await asyncio.sleep(self.gather)


async def catch_up(runners: list[FeedRunner], *, hold_last_copies: bool) -> None:
    """Read the runners' SE feeds to their ends, one after the other, in this task.

    An SE that cannot be read is skipped: its copies come with its own runner, and nothing
    (a delete, a download) waits for an SE that is down."""
    for runner in runners:
        try:
            await runner.catch_up(hold_last_copies=hold_last_copies)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("feed_catch_up_failed", extra={"se_id": runner.se_id, "error": repr(exc)})


class FeedManager:
    def __init__(
        self, discovery: Discovery, make_runner: Callable[[str], FeedRunner], *, interval: float
    ) -> None:
        self.discovery = discovery
        self.make_runner = make_runner
        self.interval = interval
        self.runners: dict[str, FeedRunner] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def reconcile(self) -> None:
        known = {se.id for se in self.discovery.all()}
        for se_id in sorted(known - set(self.runners)):
            runner = self.make_runner(se_id)
            runner.peers = functools.partial(self.peers_of, se_id)
            self.runners[se_id] = runner
            self.tasks[se_id] = asyncio.create_task(runner.run(), name=f"feed:{se_id}")
            log.info("feed_runner_started", extra={"se_id": se_id})
        for se_id in sorted(set(self.runners) - known):
            self.tasks.pop(se_id).cancel()
            self.runners.pop(se_id)
            log.info("feed_runner_stopped", extra={"se_id": se_id})

    def peers_of(self, se_id: str) -> list[FeedRunner]:
        return [runner for runner_id, runner in self.runners.items() if runner_id != se_id]

    async def catch_up(self) -> None:
        """Every SE's feed read to its end now (a download whose every copy was gone)."""
        await catch_up(list(self.runners.values()), hold_last_copies=True)

    def wake(self, se_id: str | None = None) -> None:
        if se_id is not None and se_id not in self.runners:
            self.reconcile()
        for runner_id, runner in self.runners.items():
            if se_id is None or runner_id == se_id:
                runner.wake()

    async def run(self) -> None:
        while True:
            try:
                self.reconcile()
            except Exception as exc:  # discovery hiccups must not end the loop
                log.warning("feed_reconcile_failed", extra={"error": repr(exc)})
            await asyncio.sleep(self.interval)

    async def aclose(self) -> None:
        pending = list(self.tasks.values())
        for _ in range(50):  # a swallowed cancellation (Python 3.11 wait_for) gets another one
            pending = [t for t in pending if not t.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.1)
        self.tasks.clear()
        self.runners.clear()


class Notifications:
    """Redis pub/sub: SE change announcements wake runners; invalidations evict the cache."""

    def __init__(self, redis: Redis, manager: FeedManager, cache: MetadataCache) -> None:
        self.redis = redis
        self.manager = manager
        self.cache = cache
        self.stopped = False

    def stop(self) -> None:
        """Cancelling alone is not enough: redis-py's read timeout can swallow a cancellation."""
        self.stopped = True

    async def run(self) -> None:
        backoff = 0.5
        while not self.stopped:
            try:
                await self._listen()
            except asyncio.CancelledError:
                self.cache.live = False
                raise
            except Exception as exc:
                if self.cache.live:
                    log.warning("notifications_lost", extra={"error": repr(exc)})
            self.cache.live = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub()
        try:
            await pubsub.subscribe(SE_CHANGES_CHANNEL, INVALIDATION_CHANNEL)
            # Anything may have changed while we were not listening.
            await self.cache.reconnected()
            self.cache.live = True
            self.manager.wake()
            log.info("notifications_listening")
            while not self.stopped:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None:
                    await self.redis.ping()
                    continue
                self._handle(message)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _handle(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode()
        if channel == INVALIDATION_CHANNEL:
            self.cache.handle_message(message["data"])
            return
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            body = json.loads(message["data"])
            self.manager.wake(str(body["se_id"]))
