"""Serve the built admin UI on :4200 with its runtime ``config.json`` (``python -m artstore.ui_server``).

Unknown paths fall back to ``index.html`` so that the Angular router's deep links work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route


def create_ui_app(root: Path, config: dict[str, str]) -> Starlette:
    root = root.resolve()

    async def config_json(_: Request) -> Response:
        return JSONResponse(config, headers={"Cache-Control": "no-store"})

    async def asset(request: Request) -> Response:
        relative = request.path_params.get("path", "")
        candidate = (root / relative).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return FileResponse(candidate)
        return FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})

    async def ready(_: Request) -> Response:
        return JSONResponse({"status": "ok", "checks": {}})

    return Starlette(
        routes=[
            Route("/config.json", config_json),
            Route("/health/ready", ready),
            Route("/{path:path}", asset),
        ]
    )


def main() -> None:
    root = Path(os.environ["ARTSTORE_UI_ROOT"])
    config = json.loads(os.environ["ARTSTORE_UI_CONFIG"])
    port = int(os.environ.get("ARTSTORE_UI_PORT", "4200"))
    uvicorn.run(create_ui_app(root, config), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
