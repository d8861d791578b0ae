"""``python -m storage_element``: serve the storage element with uvicorn."""

from shared.runner import serve
from storage_element.app import create_app
from storage_element.settings import Settings


def main() -> None:
    serve(create_app, Settings())  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
