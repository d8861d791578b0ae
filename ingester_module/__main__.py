"""``python -m ingester_module``: serve the ingester with uvicorn."""

from ingester_module.app import create_app
from ingester_module.settings import Settings
from shared.runner import serve


def main() -> None:
    serve(create_app, Settings())  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
