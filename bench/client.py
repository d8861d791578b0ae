"""The one HTTP client used for both systems: aiohttp, chosen by :mod:`bench.clientcost`.

S3 requests are signed with SigV4 by ``minio``'s signer (a maintained implementation);
payloads are sent as ``UNSIGNED-PAYLOAD`` so the client never hashes the body, the same
as ArtStore's uploads, which carry no client-side checksum here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from minio.credentials.credentials import Credentials
from minio.signer import sign_v4_s3
from minio.time import to_amz_date

READ_CHUNK = 1024 * 1024
Body = bytes | AsyncIterator[bytes]


def session(limit: int = 64) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=600)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False)


async def drain(response: aiohttp.ClientResponse) -> int:
    total = 0
    async for chunk in response.content.iter_chunked(READ_CHUNK):
        total += len(chunk)
    return total


class Failed(RuntimeError):
    pass


async def _check(response: aiohttp.ClientResponse, expected: tuple[int, ...], what: str) -> None:
    if response.status not in expected:
        text = (await response.read())[:500].decode(errors="replace")
        raise Failed(f"{what}: HTTP {response.status}: {text}")


class S3:
    """PUT and GET of objects in one bucket of an S3 server."""

    def __init__(self, http: aiohttp.ClientSession, endpoint: str, access: str, secret: str) -> None:
        self.http = http
        self.endpoint = endpoint.rstrip("/")
        self.credentials = Credentials(access, secret)
        self.region = "us-east-1"

    def _signed(self, method: str, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        parts = urlsplit(url)
        date = datetime.now(UTC)
        headers: dict[str, str | list[str] | tuple[str]] = {
            "Host": parts.netloc,
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "x-amz-date": to_amz_date(date),
        }
        signed = sign_v4_s3(
            method=method,
            url=parts,
            region=self.region,
            headers=headers,
            credentials=self.credentials,
            content_sha256="UNSIGNED-PAYLOAD",
            date=date,
        )
        return {**{k: str(v) for k, v in signed.items()}, **(extra or {})}

    def url(self, bucket: str, key: str = "") -> str:
        return f"{self.endpoint}/{bucket}" + (f"/{quote(key)}" if key else "")

    async def create_bucket(self, bucket: str) -> None:
        url = self.url(bucket)
        async with self.http.put(url, headers=self._signed("PUT", url)) as resp:
            await _check(resp, (200, 409), f"create bucket {bucket}")

    async def put(self, bucket: str, key: str, body: Body, size: int) -> None:
        url = self.url(bucket, key)
        headers = self._signed(
            "PUT", url, {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
        )
        async with self.http.put(url, data=body, headers=headers) as resp:
            await _check(resp, (200,), f"PUT {key}")
            await resp.read()

    async def get(self, bucket: str, key: str) -> int:
        url = self.url(bucket, key)
        async with self.http.get(url, headers=self._signed("GET", url)) as resp:
            await _check(resp, (200,), f"GET {key}")
            return await drain(resp)


class ArtStore:
    """Uploads through the ingester, searches and downloads through the query module."""

    def __init__(self, http: aiohttp.ClientSession, admin: str, ingester: str, query: str) -> None:
        self.http = http
        self.admin, self.ingester, self.query = admin, ingester, query
        self.token = ""
        self._password = ""
        self._token_at = 0.0

    async def login(self, username: str, password: str) -> None:
        self._password = password
        form = {"grant_type": "password", "username": username, "password": password}
        async with self.http.post(f"{self.admin}/api/v1/auth/token", data=form) as resp:
            await _check(resp, (200,), "login")
            self.token = (await resp.json())["access_token"]
        self._token_at = time.monotonic()

    async def fresh_token(self) -> None:
        """Log in again when the token is older than 10 minutes (they live 30)."""
        if time.monotonic() - self._token_at > 600:
            await self.login("admin", self._password)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def put_raw(self, name: str, body: Body, size: int) -> dict[str, Any]:
        return await self.put_raw_fields(name, body, size)

    async def put_raw_fields(
        self, name: str, body: Body, size: int, description: str = "", tags: list[str] | None = None
    ) -> dict[str, Any]:
        headers = {
            **self.auth,
            "Content-Length": str(size),
            "Content-Type": "application/octet-stream",
        }
        params = [("filename", name)] + [("tags", t) for t in tags or []]
        if description:
            params.append(("description", description))
        url = f"{self.ingester}/api/v1/files"
        async with self.http.put(url, params=params, data=body, headers=headers) as resp:
            await _check(resp, (201,), f"PUT {name}")
            record: dict[str, Any] = await resp.json()
            return record

    async def post_multipart(self, name: str, body: Body, size: int) -> dict[str, Any]:
        boundary = uuid.uuid4().hex
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        headers = {
            **self.auth,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        }
        data: Body
        data = head + body + tail if isinstance(body, bytes) else _framed(head, body, tail)
        async with self.http.post(f"{self.ingester}/api/v1/files", data=data, headers=headers) as resp:
            await _check(resp, (201,), f"POST {name}")
            record: dict[str, Any] = await resp.json()
            return record

    async def download(self, file_id: str) -> int:
        url = f"{self.query}/api/v1/files/{file_id}/download"
        async with self.http.get(url, headers=self.auth) as resp:
            await _check(resp, (200,), f"download {file_id}")
            return await drain(resp)

    async def record(self, file_id: str) -> int:
        async with self.http.get(f"{self.query}/api/v1/files/{file_id}", headers=self.auth) as resp:
            await resp.read()
            return resp.status

    async def search(self, params: list[tuple[str, str]]) -> dict[str, Any]:
        async with self.http.get(f"{self.query}/api/v1/search", params=params, headers=self.auth) as resp:
            await _check(resp, (200,), f"search {params}")
            page: dict[str, Any] = json.loads(await resp.read())
            return page


async def _framed(head: bytes, body: AsyncIterator[bytes], tail: bytes) -> AsyncIterator[bytes]:
    yield head
    async for chunk in body:
        yield chunk
    yield tail
