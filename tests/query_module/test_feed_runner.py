"""The feed runner's loop: a burst of change notifications is read as one page.

The runner here reads a scripted feed (the SE's ``GET /api/v1/changes`` protocol, ours)
and applies it to the query module's real catalog; the runner against real storage
elements is tested in ``test_storage.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from query_module.catalog import repository as repo
from query_module.catalog.feed import FeedRunner
from shared.db import unit_of_work
from shared.tasks import cancel_and_wait
from tests.query_module.conftest import Feed, Query, QueryFactory, make_record
from tests.support.waiting import eventually


class ScriptedRunner(FeedRunner):
    """A feed runner whose SE is a :class:`Feed`; it keeps the size of every page it read."""

    def __init__(self, feed: Feed, q: Query, *, gather: float) -> None:
        state = q.app.state
        super().__init__(
            feed.se_id,
            sessions=state.sessions,
            http=q.client,
            tokens=state.tokens,
            discovery=state.discovery,
            cache=state.cache,
            page_size=50,
            poll_interval=30.0,  # no polling within the test: only wake-ups pull
            gather=gather,
        )
        self.feed = feed
        self.pages: list[int] = []

    async def fetch(self, after: int) -> dict[str, Any]:
        page = await self.feed.fetch(after, self.page_size)
        self.pages.append(len(page["items"]))
        return page


async def _passes(runner: FeedRunner, count: int) -> None:
    async def reached() -> bool:
        return runner.passes >= count

    await eventually(reached)


async def _in_catalog(q: Query, file_ids: list[str]) -> bool:
    async with unit_of_work(q.app.state.sessions) as session:
        return all([await repo.get_record(session, i) is not None for i in file_ids])


async def test_notifications_arriving_while_the_runner_gathers_are_read_in_one_page(
    query: QueryFactory,
) -> None:
    feed = Feed("rw-1")
    async with query() as q:
        runner = ScriptedRunner(feed, q, gather=1.0)
        task = asyncio.create_task(runner.run())
        try:
            await _passes(runner, 1)  # the first pass, of the empty feed
            assert runner.pages == [0]
            ids = []
            for n in range(5):  # five uploads, one notification each, 20 ms apart
                ids.append(feed.upsert(make_record(name=f"burst-{n}.txt", se_id="rw-1"))["file_id"])
                runner.wake()
                await asyncio.sleep(0.02)
            assert await eventually(lambda: _in_catalog(q, ids))
            await asyncio.sleep(1.3)  # longer than a gather: no pass is still to come
            # One pass for the burst, one page holding all five changes (a runner without
            # the gather delay pulls on the first notification and again for the others).
            assert runner.passes == 2
            assert runner.pages == [0, 5]
        finally:
            await cancel_and_wait([task])


async def test_without_a_gather_delay_the_first_notification_is_read_at_once(query: QueryFactory) -> None:
    feed = Feed("rw-1")
    async with query() as q:
        runner = ScriptedRunner(feed, q, gather=0.0)
        task = asyncio.create_task(runner.run())
        try:
            await _passes(runner, 1)
            first = feed.upsert(make_record(name="alone.txt", se_id="rw-1"))["file_id"]
            runner.wake()
            await _passes(runner, 2)
            assert await _in_catalog(q, [first])
            later = feed.upsert(make_record(name="later.txt", se_id="rw-1"))["file_id"]
            runner.wake()
            await _passes(runner, 3)
            assert await _in_catalog(q, [later])
            # Each notification was its own pass and page.
            assert runner.passes == 3
            assert runner.pages == [0, 1, 1]
        finally:
            await cancel_and_wait([task])
