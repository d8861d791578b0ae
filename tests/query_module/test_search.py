"""Search over a generated corpus: morphology, ranking, filters, facets, pages, rights."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from query_module.search import repository as repo
from query_module.search.schemas import Cursor, SearchQuery, encode_cursor
from shared.db import unit_of_work
from tests.query_module.conftest import Feed, QueryFactory, apply_feed, bearer, make_record
from tests.support.tokens import TestKeys

OWNERS = ["alice", "bob", "carol"]
TYPES = ["application/pdf", "text/plain", "image/png", "image/jpeg"]
TAGS = ["finance", "legal", "hr", "q1", "q2", "archive"]


def corpus(seed: int = 7, n: int = 60) -> tuple[Feed, Feed, list[dict[str, Any]]]:
    rnd = random.Random(seed)
    a, b = Feed("se-a"), Feed("se-b")
    records = []
    for i in range(n):
        se = "se-a" if i % 3 else "se-b"
        rec = make_record(
            name=f"doc-{i:03d}.{rnd.choice(['pdf', 'txt', 'png'])}",
            owner=rnd.choice(OWNERS),
            size=rnd.randint(1, 10_000),
            content_type=rnd.choice(TYPES),
            tags=rnd.sample(TAGS, rnd.randint(0, 3)),
            metadata={"dept": rnd.choice(["sales", "ops"]), "year": rnd.choice([2024, 2025])},
            retention_policy=rnd.choice(["temporary", "permanent"]),
            created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rnd.randint(0, 700), seconds=i),
            se_id=se,
        )
        (a if se == "se-a" else b).upsert(rec)
        records.append(rec)
    return a, b, records


async def search(qm: Any, token: str, **params: Any) -> dict[str, Any]:
    response = await qm.client.get("/api/v1/search", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_pages(qm: Any, token: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = await search(qm, token, **params, **({"cursor": cursor} if cursor else {}))
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["file_id"] for i in items}


async def test_russian_and_english_morphology_and_exact_codes(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    doc = feed.upsert(make_record(name="документ.pdf", description="годовой отчёт"))
    contract = feed.upsert(make_record(name="contract_2024-03.pdf"))
    code = feed.upsert(make_record(name="scan.tif", description="invoice INV-2024-0042 paid"))
    other = feed.upsert(make_record(name="invoice INV-2024-0043.pdf"))
    token = keys.user("OPERATOR", "olga")
    async with query() as q:
        await apply_feed(q.app, feed)
        assert ids((await search(q, token, q="документы"))["items"]) == {doc["file_id"]}
        assert ids((await search(q, token, q="отчёты"))["items"]) == {doc["file_id"]}
        assert ids((await search(q, token, q="contracts"))["items"]) == {contract["file_id"]}
        assert ids((await search(q, token, q="INV-2024-0042"))["items"]) == {code["file_id"]}
        assert ids((await search(q, token, q='"INV-2024-0043"'))["items"]) == {other["file_id"]}
        # Web-search syntax: OR and negation.
        both = await search(q, token, q="документ or contract")
        assert ids(both["items"]) == {doc["file_id"], contract["file_id"]}
        assert ids((await search(q, token, q="invoice -scan"))["items"]) == {other["file_id"]}


async def test_ranking_weights_name_over_tags_over_description_over_metadata(
    query: QueryFactory, keys: TestKeys
) -> None:
    feed = Feed("se-a")
    in_meta = feed.upsert(make_record(name="a.bin", metadata={"note": "zebra"}))
    in_description = feed.upsert(make_record(name="b.bin", description="a zebra"))
    in_tags = feed.upsert(make_record(name="c.bin", tags=["zebra"]))
    in_name = feed.upsert(make_record(name="zebra.bin"))
    async with query() as q:
        await apply_feed(q.app, feed)
        body = await search(q, keys.user("OPERATOR", "olga"), q="zebra")
        order = [i["file_id"] for i in body["items"]]
        assert order == [r["file_id"] for r in (in_name, in_tags, in_description, in_meta)]
        scores = [i["score"] for i in body["items"]]
        assert scores == sorted(scores, reverse=True) and scores[-1] > 0


FILTERS: list[tuple[dict[str, Any], Any]] = [
    ({"content_type": "image/png"}, lambda r: r["content_type"] == "image/png"),
    ({"content_type": "image/*"}, lambda r: r["content_type"].startswith("image/")),
    ({"tag": ["finance", "q1"]}, lambda r: {"finance", "q1"} <= set(r["tags"])),
    ({"owner": "bob"}, lambda r: r["owner"]["username"] == "bob"),
    ({"size_min": 2000, "size_max": 6000}, lambda r: 2000 <= r["size"] <= 6000),
    (
        {"created_from": "2024-06-01T00:00:00Z", "created_to": "2025-01-01T00:00:00Z"},
        lambda r: "2024-06-01" <= r["created_at"][:10] < "2025-01-01",
    ),
    ({"retention_policy": "temporary"}, lambda r: r["retention_policy"] == "temporary"),
    ({"storage_element_id": "se-b"}, lambda r: r["storage_element_id"] == "se-b"),
    ({"meta.dept": "sales"}, lambda r: r["metadata"]["dept"] == "sales"),
    ({"meta.year": "2025", "meta.dept": "ops"}, lambda r: r["metadata"] == {"dept": "ops", "year": 2025}),
    ({"filename": "DOC-01"}, lambda r: "doc-01" in r["original_filename"]),
]


async def test_filters_on_a_generated_corpus(query: QueryFactory, keys: TestKeys) -> None:
    a, b, records = corpus()
    token = keys.user("OPERATOR", "olga")
    async with query() as q:
        await apply_feed(q.app, a)
        await apply_feed(q.app, b)
        for params, predicate in FILTERS:
            expected = {r["file_id"] for r in records if predicate(r)}
            assert expected, params
            found = await all_pages(q, token, limit=7, **params)
            assert ids(found) == expected, params
            assert len(found) == len(expected)
            body = await search(q, token, **params)
            assert body["total"] == len(expected) and body["total_is_estimate"] is False


async def test_facets_on_a_generated_corpus(query: QueryFactory, keys: TestKeys) -> None:
    a, b, records = corpus(seed=11)
    async with query() as q:
        await apply_feed(q.app, a)
        await apply_feed(q.app, b)
        body = await search(q, keys.user("OPERATOR", "olga"), facets="true", retention_policy="permanent")
        chosen = [r for r in records if r["retention_policy"] == "permanent"]

        def facet(name: str) -> dict[str, int]:
            return {f["value"]: f["count"] for f in body["facets"][name]}

        assert facet("content_type") == Counter(r["content_type"] for r in chosen)
        assert facet("tag") == Counter(t for r in chosen for t in r["tags"])
        assert facet("storage_element_id") == Counter(r["storage_element_id"] for r in chosen)
        assert facet("retention_policy") == {"permanent": len(chosen)}
        assert facet("year") == Counter(r["created_at"][:4] for r in chosen)
        assert "facets" not in (await search(q, keys.user("OPERATOR", "olga"))) or (
            (await search(q, keys.user("OPERATOR", "olga")))["facets"] is None
        )


@pytest.mark.parametrize("sort", ["created_at", "size", "filename", "relevance"])
async def test_keyset_pages_return_each_file_once_while_files_arrive(
    query: QueryFactory, keys: TestKeys, sort: str
) -> None:
    a, b, records = corpus(seed=3, n=40)
    token = keys.user("OPERATOR", "olga")
    async with query() as q:
        await apply_feed(q.app, a)
        await apply_feed(q.app, b)
        params: dict[str, Any] = {"sort": sort, "limit": 6}
        if sort == "relevance":
            params["q"] = "doc"
        seen: list[str] = []
        cursor = None
        arrived = 0
        while True:
            body = await search(q, token, **params, **({"cursor": cursor} if cursor else {}))
            seen += [i["file_id"] for i in body["items"]]
            # New files arrive between pages, sorting before and after the cursor.
            for offset in (-1, 1):
                arrived += 1
                a.upsert(
                    make_record(
                        name=f"doc-new-{arrived}.txt",
                        size=5000 + offset * arrived,
                        created_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=offset * arrived),
                    )
                )
            await apply_feed(q.app, a)
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen))
        assert {r["file_id"] for r in records} <= set(seen)


async def test_total_is_exact_up_to_the_cap_then_estimated(query: QueryFactory, keys: TestKeys) -> None:
    a, b, _ = corpus(n=30)
    token = keys.user("OPERATOR", "olga")
    async with query(search_total_cap=10) as q:
        await apply_feed(q.app, a)
        await apply_feed(q.app, b)
        body = await search(q, token, limit=5)
        assert body["total_is_estimate"] is True and body["total"] > 10
        small = await search(q, token, owner="alice", content_type="image/png")
        assert small["total_is_estimate"] is False and small["total"] == len(small["items"]) <= 10
        # The estimate comes from the planner (not the cap fallback) for every kind of filter,
        # and with fresh statistics it is near the exact count.
        query_all = SearchQuery(
            q="doc",
            tags=["finance"],
            meta={"year": "2024"},
            created_from=datetime(2024, 1, 1, tzinfo=UTC),
            size_min=1,
            storage_element_id="se-a",
            filename="doc",
        )
        async with unit_of_work(q.app.state.sessions) as session:
            await session.execute(sa.text("ANALYZE catalog_files"))
            await session.execute(sa.text("ANALYZE catalog_copies"))
            assert await repo.estimate_rows(session, repo.conditions(SearchQuery(), None)) == 30
            for probe, owner in (
                (query_all, None),
                (query_all, "someone"),
                (SearchQuery(storage_element_id="se-a", size_min=1), None),
                (SearchQuery(q="doc", content_type="image/png"), None),
            ):
                exact, _ = await repo.total(session, probe, owner, cap=1_000)
                estimate = await repo.estimate_rows(session, repo.conditions(probe, owner))
                # Close to the true count (the planner never estimates fewer than 1 row).
                assert abs(estimate - exact) <= max(1, exact // 2), (probe, owner, exact, estimate)


async def test_like_wildcards_are_escaped(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    percent = feed.upsert(make_record(name="100%_done.txt"))
    feed.upsert(make_record(name="1000 done.txt"))
    feed.upsert(make_record(name="abc.txt"))
    token = keys.user("OPERATOR", "olga")
    async with query() as q:
        await apply_feed(q.app, feed)
        assert ids((await search(q, token, filename="%"))["items"]) == {percent["file_id"]}
        assert ids((await search(q, token, filename="0_d"))["items"]) == set()
        assert ids((await search(q, token, filename="%_d"))["items"]) == {percent["file_id"]}
        suggest = await q.client.get(
            "/api/v1/search/suggest", params={"prefix": "100%"}, headers=bearer(token)
        )
        assert [s["value"] for s in suggest.json()["items"]] == ["100%_done.txt"]


async def test_suggest_filenames_and_tags(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    feed.upsert(make_record(name="Report 2024.pdf", owner="alice", tags=["reporting"]))
    feed.upsert(make_record(name="report-draft.txt", owner="bob", tags=["review"]))
    feed.upsert(make_record(name="summary.txt", owner="alice", tags=["repo"]))
    async with query() as q:
        await apply_feed(q.app, feed)
        response = await q.client.get(
            "/api/v1/search/suggest", params={"prefix": "rep"}, headers=bearer(keys.user("OPERATOR", "olga"))
        )
        items = {(s["kind"], s["value"]) for s in response.json()["items"]}
        assert items == {
            ("filename", "Report 2024.pdf"),
            ("filename", "report-draft.txt"),
            ("tag", "reporting"),
            ("tag", "repo"),
        }
        mine = await q.client.get(
            "/api/v1/search/suggest", params={"prefix": "rep"}, headers=bearer(keys.user("USER", "alice"))
        )
        assert {(s["kind"], s["value"]) for s in mine.json()["items"]} == {
            ("filename", "Report 2024.pdf"),
            ("tag", "reporting"),
            ("tag", "repo"),
        }


async def test_users_see_only_their_own_files(query: QueryFactory, keys: TestKeys) -> None:
    a, b, records = corpus(n=24)
    alice, bob = keys.user("USER", "alice"), keys.user("USER", "bob")
    async with query() as q:
        await apply_feed(q.app, a)
        await apply_feed(q.app, b)
        mine = await all_pages(q, alice, limit=50)
        assert ids(mine) == {r["file_id"] for r in records if r["owner"]["username"] == "alice"}
        # Asking for someone else's files as owner finds nothing.
        assert (await search(q, alice, owner="bob"))["items"] == []
        bobs = next(r for r in records if r["owner"]["username"] == "bob")
        for path in (f"/api/v1/files/{bobs['file_id']}", f"/api/v1/files/{bobs['file_id']}/download"):
            response = await q.client.get(path, headers=bearer(alice))
            assert response.status_code == 404, path
        link = await q.client.post(f"/api/v1/files/{bobs['file_id']}/download-link", headers=bearer(alice))
        assert link.status_code == 404
        assert (
            await q.client.get(f"/api/v1/files/{bobs['file_id']}", headers=bearer(bob))
        ).status_code == 200
        everyone = await all_pages(q, keys.user("ADMIN", "root"), limit=50)
        assert len(everyone) == len(records)
        assert (await q.client.get("/api/v1/search")).status_code == 401
        no_scope = keys.token(scope="files:write")
        assert (await q.client.get("/api/v1/search", headers=bearer(no_scope))).status_code == 403


async def test_bad_cursor_is_422(query: QueryFactory, keys: TestKeys) -> None:
    async with query() as q:
        token = keys.user("OPERATOR", "olga")
        response = await q.client.get("/api/v1/search", params={"cursor": "garbage"}, headers=bearer(token))
        assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


def zebras(feed: Feed) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Twelve files matching ``zebra``, a day apart: the four oldest have it in their name
    (the best scores), the newest five (a window of 5) a mix of name, tag and description."""
    old: list[dict[str, Any]] = []
    recent: list[dict[str, Any]] = []
    for i in range(12):
        field: dict[str, Any] = {"description": "a zebra"}
        if i < 4 or i == 10:
            field = {"name": f"zebra-{i}.txt"}
        elif i == 9:
            field = {"tags": ["zebra"]}
        created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=i)
        record = feed.upsert(make_record(**{"name": f"file-{i}.txt", **field}, created_at=created))
        (recent if i >= 7 else old).append(record)
    return old, recent


async def test_a_broad_relevance_query_ranks_the_window_then_lists_older_matches(
    query: QueryFactory, keys: TestKeys
) -> None:
    feed = Feed("se-a")
    old, recent = zebras(feed)
    token = keys.user("OPERATOR", "olga")
    async with query(search_relevance_window=5) as q:
        await apply_feed(q.app, feed)
        first = await search(q, token, q="zebra", limit=3)
        assert first["total"] == 12 and first["total_is_estimate"] is False
        assert ids(first["items"]) <= ids(recent)
        items = await all_pages(q, token, q="zebra", limit=3)
        ascending = await all_pages(q, token, q="zebra", limit=3, order="asc")
    # Each match exactly once: the window (the five most recent) by score, then the older
    # matches newest first.
    for found, descending in ((items, True), (ascending, False)):
        assert [i["file_id"] for i in found[5:]] == [r["file_id"] for r in reversed(old)]
        assert ids(found[:5]) == ids(recent)
        ranked = [(i["score"], i["file_id"]) for i in found[:5]]
        assert ranked == sorted(ranked, reverse=descending)
    window = items[:5]
    assert window[0]["original_filename"] == "zebra-10.txt" and window[1]["tags"] == ["zebra"]
    assert all(i["score"] > 0 for i in items)
    async with query(search_relevance_window=100) as q:
        # Ranked in full, the old name matches come first: the window above did change the order.
        everything = await search(q, token, q="zebra", limit=5)
        assert ids(everything["items"]) == ids(old[:4]) | {recent[3]["file_id"]}


async def test_window_pages_return_each_match_once_while_files_arrive(
    query: QueryFactory, keys: TestKeys
) -> None:
    feed = Feed("se-a")
    old, recent = zebras(feed)
    token = keys.user("OPERATOR", "olga")
    async with query(search_relevance_window=5) as q:
        await apply_feed(q.app, feed)
        seen: list[str] = []
        cursor = None
        arrived = 0
        while True:
            body = await search(q, token, q="zebra", limit=2, **({"cursor": cursor} if cursor else {}))
            seen += [i["file_id"] for i in body["items"]]
            # Between pages: a newer match (it joins the window) and an older one.
            for days in (100 + arrived, -100 - arrived):
                created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=days)
                feed.upsert(make_record(name=f"new-{days}.txt", description="zebra", created_at=created))
            arrived += 1
            await apply_feed(q.app, feed)
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen))
        assert ids(old + recent) <= set(seen)


async def test_queries_within_the_window_keep_the_full_ranking(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    old, recent = zebras(feed)
    token = keys.user("OPERATOR", "olga")
    pages: dict[int, list[tuple[str, float]]] = {}
    for window in (0, 12, 10_000):
        async with query(search_relevance_window=window) as q:
            if window == 0:
                await apply_feed(q.app, feed)
            items = await all_pages(q, token, q="zebra", limit=5)
            pages[window] = [(i["file_id"], i["score"]) for i in items]
    assert pages[0] == pages[12] == pages[10_000]
    assert [s for _, s in pages[0]] == sorted((s for _, s in pages[0]), reverse=True)
    assert {i for i, _ in pages[0]} == ids(old + recent)


async def test_window_cursors_are_checked(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    zebras(feed)
    token = keys.user("OPERATOR", "olga")
    anchor = ["2025-01-08T00:00:00+00:00", "some-id"]
    forged = {
        "an anchor on another order": encode_cursor("created_at", "desc", Cursor([anchor[0], "x"], anchor)),
        "older without an anchor": encode_cursor("relevance", "desc", Cursor([anchor[0], "x"], None, True)),
        "an anchor that is no time": encode_cursor("relevance", "desc", Cursor([0.1, "x"], ["noon", "x"])),
        "an older key that is no time": encode_cursor("relevance", "desc", Cursor([0.1, "x"], anchor, True)),
    }
    async with query(search_relevance_window=5) as q:
        await apply_feed(q.app, feed)
        for what, cursor in forged.items():
            sort = "created_at" if "another order" in what else "relevance"
            params = {"q": "zebra", "sort": sort, "cursor": cursor}
            response = await q.client.get("/api/v1/search", params=params, headers=bearer(token))
            assert response.status_code == 422 and response.json()["code"] == "invalid_cursor", what


def owned(name: str, owner_id: str, username: str) -> dict[str, Any]:
    record = make_record(name=name)
    record["owner"] = {"id": owner_id, "username": username, "kind": "user"}
    return record


async def test_owner_filter_by_id_or_username(query: QueryFactory, keys: TestKeys) -> None:
    alice = str(uuid.uuid5(uuid.NAMESPACE_DNS, "alice"))
    bob = str(uuid.uuid5(uuid.NAMESPACE_DNS, "bob"))
    feed = Feed("se-a")
    records = [
        *(feed.upsert(owned(f"a{i}.txt", alice, "alice")) for i in range(3)),
        # Alice renamed: her id, a new username.
        *(feed.upsert(owned(f"r{i}.txt", alice, "alice2")) for i in range(2)),
        *(feed.upsert(owned(f"b{i}.txt", bob, "bob")) for i in range(2)),
        # Someone whose username is bob's id.
        feed.upsert(owned("c.txt", "carol-id", bob)),
        # More ids under one username than are resolved (the plain OR then).
        *(feed.upsert(owned(f"s{i}.txt", f"shared-{i}", "shared")) for i in range(repo.OWNER_IDS_MAX + 1)),
    ]
    operator = keys.user("OPERATOR", "olga")
    async with query() as q:
        await apply_feed(q.app, feed)
        for owner in ("alice", alice, "alice2", bob, "bob", "carol-id", "shared", "nobody"):
            expected = {r["file_id"] for r in records if owner in (r["owner"]["id"], r["owner"]["username"])}
            found = await all_pages(q, operator, owner=owner, limit=4)
            assert ids(found) == expected and len(found) == len(expected), owner
            body = await search(q, operator, owner=owner)
            assert body["total"] == len(expected) and body["total_is_estimate"] is False, owner
        # Alice (a USER) sees her files under her old and her new name.
        assert len(await all_pages(q, keys.user("USER", "alice"), owner="alice2")) == 2
        assert (await search(q, keys.user("USER", "bob"), owner="alice"))["items"] == []
        async with unit_of_work(q.app.state.sessions) as session:
            assert await repo.owner_ids(session, "alice") == (alice,)
            assert await repo.owner_ids(session, bob) == (bob, "carol-id")
            assert await repo.owner_ids(session, "nobody") == ()
            assert await repo.owner_ids(session, "shared") is None


async def test_window_pages_after_more_arrivals_than_the_window(query: QueryFactory, keys: TestKeys) -> None:
    """More matches arrive between two pages than the window holds: the next page still
    ranks every candidate at or after the anchor (and the arrivals join them)."""
    feed = Feed("se-a")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    first = [
        feed.upsert(make_record(description="okapi", created_at=start + timedelta(days=i))) for i in range(6)
    ]
    token = keys.user("OPERATOR", "olga")
    async with query(search_relevance_window=2) as q:
        await apply_feed(q.app, feed)
        body = await search(q, token, q="okapi", limit=1)
        arrivals = [
            feed.upsert(make_record(description="okapi", created_at=start + timedelta(days=10 + i)))
            for i in range(5)
        ]
        await apply_feed(q.app, feed)
        seen = [i["file_id"] for i in body["items"]]
        while cursor := body["next_cursor"]:
            body = await search(q, token, q="okapi", limit=1, cursor=cursor)
            seen += [i["file_id"] for i in body["items"]]
    assert len(seen) == len(set(seen)) and ids(first) <= set(seen) <= ids(first + arrivals)
    # The window (the two newest at the first page) comes before the older matches.
    window = ids(first[4:])
    assert set(seen[: seen.index(first[3]["file_id"])]) >= window
