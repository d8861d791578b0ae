"""``GET /api/v1/stats`` on a scripted catalog: exact figures per SE, per day, and the latest.

Upload times are chosen (days before today), which uploads through the ingester cannot do;
``test_storage.py`` checks the same endpoint on real uploads and a mode change.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from tests.query_module.conftest import Feed, QueryFactory, apply_feed, bearer, make_record
from tests.support.tokens import TestKeys


def noon(days_before_today: int) -> datetime:
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days_before_today), time(12), UTC)


async def test_stats_per_se_per_day_and_the_twenty_latest(query: QueryFactory, keys: TestKeys) -> None:
    rw, edit = Feed("se-a"), Feed("se-b")
    edit.mode("edit")
    # 24 files on se-a, one every other day back from today (days 0, 2, ..., 46: 15 of
    # them within the last 30 days), 100 + i bytes each.
    on_a = [
        rw.upsert(make_record(name=f"a-{i}.txt", size=100 + i, created_at=noon(2 * i), se_id="se-a"))
        for i in range(24)
    ]
    # One file only on se-b (5 days ago), and se-a's newest file copied there too.
    only_b = edit.upsert(make_record(name="b.txt", size=7, created_at=noon(5), se_id="se-b"))
    edit.upsert({**on_a[0], "storage_element_id": "se-b"})
    async with query() as q:
        await apply_feed(q.app, rw)
        await apply_feed(q.app, edit)
        response = await q.client.get("/api/v1/stats", headers=bearer(keys.user("OPERATOR", "olga")))
    assert response.status_code == 200, response.text
    body = response.json()

    bytes_a = sum(100 + i for i in range(24))
    assert body["totals"] == {"files": 25, "bytes": bytes_a + 7}  # the copied file counted once
    assert body["storage_elements"] == [
        {"storage_element_id": "se-a", "mode": "rw", "files": 24, "bytes": bytes_a},
        {"storage_element_id": "se-b", "mode": "edit", "files": 2, "bytes": 7 + 100},
    ]

    # 30 days, oldest first, today last; se-a's files of days 0..28 and se-b's of day 5.
    today = datetime.now(UTC).date()
    per_day = {2 * i: (1, 100 + i) for i in range(15)} | {5: (1, 7)}
    assert body["uploads_per_day"] == [
        {
            "date": (today - timedelta(days=n)).isoformat(),
            "files": per_day.get(n, (0, 0))[0],
            "bytes": per_day.get(n, (0, 0))[1],
        }
        for n in range(29, -1, -1)
    ]

    latest: list[dict[str, Any]] = body["latest_uploads"]
    newest_first = sorted([*on_a, only_b], key=lambda r: str(r["created_at"]), reverse=True)
    assert [r["file_id"] for r in latest] == [r["file_id"] for r in newest_first[:20]]
    assert len(latest) == 20 and latest[0]["file_id"] == on_a[0]["file_id"]
    assert {c["storage_element_id"] for c in latest[0]["copies"]} == {"se-a", "se-b"}  # file records
