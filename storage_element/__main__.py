"""``python -m storage_element``: serve (default) or run a maintenance command (see cli.py)."""

from storage_element.cli import main

if __name__ == "__main__":
    main()
