"""``python -m admin_module``: serve the admin module with uvicorn."""

from admin_module.app import create_app
from admin_module.settings import Settings
from shared.runner import serve


def main() -> None:
    serve(create_app, Settings())  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
