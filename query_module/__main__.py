"""``python -m query_module``: serve the query module with uvicorn."""

from query_module.app import create_app
from query_module.settings import Settings
from shared.runner import serve


def main() -> None:
    serve(create_app, Settings())  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
