"""CORS as ``build_app`` configures it: listed browser origins only, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.shared.conftest import preserved_logging, probe_app, serve

UI = "http://ui.artstore.test:4200"
OTHER_UI = "http://localhost:4200"
STRANGER = "http://evil.example"


def preflight(origin: str, method: str = "GET", headers: str = "authorization") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    with preserved_logging():
        async with (
            serve(probe_app(cors_origins=[UI, OTHER_UI])) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as c,
        ):
            yield c


async def test_listed_origin_passes_the_preflight(client: httpx.AsyncClient) -> None:
    for origin in (UI, OTHER_UI):
        response = await client.options(
            "/probe", headers=preflight(origin, "PUT", "authorization,content-type")
        )
        assert response.status_code == 200, response.text
        # With credentials allowed the origin is echoed exactly, never "*".
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "PUT" in response.headers["access-control-allow-methods"]
        allowed = response.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed


async def test_listed_origin_gets_the_header_on_a_normal_request(client: httpx.AsyncClient) -> None:
    response = await client.get("/probe", headers={"Origin": UI})
    assert response.status_code == 200 and response.json() == {"ok": "yes"}
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "etag", "content-disposition", "artstore-file-id"} <= exposed
    # An error the UI must read (a 401 problem document) carries the header as well.
    denied = await client.get("/probe/denied", headers={"Origin": UI})
    assert denied.status_code == 401 and denied.json()["code"] == "unauthorized"
    assert denied.headers["access-control-allow-origin"] == UI
    # So does a 500: the UI shows its problem document and request id, not a network error.
    broken = await client.get("/probe/broken", headers={"Origin": UI, "X-Request-ID": "req-cors-500"})
    assert broken.status_code == 500 and broken.json()["code"] == "internal_error"
    assert broken.json()["request_id"] == "req-cors-500"
    assert broken.headers["access-control-allow-origin"] == UI
    assert "x-request-id" in broken.headers["access-control-expose-headers"].lower()


async def test_unlisted_origin_gets_no_allow_origin(client: httpx.AsyncClient) -> None:
    response = await client.options("/probe", headers=preflight(STRANGER))
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    normal = await client.get("/probe", headers={"Origin": STRANGER})
    assert normal.status_code == 200  # the server answers; the browser withholds it from the page
    assert "access-control-allow-origin" not in normal.headers
    # A listed origin's suffix or prefix is not the origin.
    for near_miss in (UI + ".evil.example", "https://ui.artstore.test:4200", "http://ui.artstore.test"):
        response = await client.get("/probe", headers={"Origin": near_miss})
        assert "access-control-allow-origin" not in response.headers, near_miss


async def test_no_origins_configured_means_no_cors_at_all() -> None:
    with preserved_logging():
        async with serve(probe_app()) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            response = await client.options("/probe", headers=preflight(UI))
            assert "access-control-allow-origin" not in response.headers
            assert response.status_code == 405
            normal = await client.get("/probe", headers={"Origin": UI})
            assert normal.status_code == 200 and "access-control-allow-origin" not in normal.headers
