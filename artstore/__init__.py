"""The ``artstore`` command: run the whole fleet on one machine (``make run``)."""
