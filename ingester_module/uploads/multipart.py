"""A streaming ``multipart/form-data`` reader on python-multipart's push parser.

Starlette's form parsing spools files to disk; this reader never holds more than one
received chunk of the file: the caller pulls the file part's data as the storage element
asks for it, and the parser is fed from the request stream only on demand.

Fields before the file part travel to the storage element in the upload's headers. Fields
after it (curl ``-F file=@x -F description=...`` and many libraries send them so) are
collected while the file's bytes are still in flight and handed to :attr:`on_late_fields`
once the body has ended, *before* the generator returns: the SE commits only when the body
ends, so a late field that the callback refuses (422) aborts the upload and nothing is
stored. Accepted late fields are applied after the commit by the uploads service (ADR 0003).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ingester_module.errors import InvalidField

MAX_FIELDS_BYTES = 64 * 1024
FILE_FIELD = "file"


@dataclass
class FilePart:
    filename: str
    content_type: str | None
    chunks: AsyncIterator[bytes]


def _bad(detail: str) -> InvalidField:
    return InvalidField(detail, errors=[{"loc": ["body"], "msg": detail, "type": "multipart"}])


class MultipartReader:
    def __init__(self, stream: AsyncIterator[bytes], content_type: str) -> None:
        ctype, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if ctype != b"multipart/form-data" or not boundary:
            raise _bad("expected multipart/form-data with a boundary")
        self._stream = stream
        self._events: deque[tuple[str, Any]] = deque()
        self._name = bytearray()
        self._value = bytearray()
        self._headers: dict[str, str] = {}
        self._finished = False
        self._fields_size = 0
        # Called with the fields that followed the file part, when the body has ended.
        self.on_late_fields: Callable[[dict[str, list[str]]], None] | None = None
        callbacks: Any = {
            "on_part_begin": self._part_begin,
            "on_part_data": lambda d, s, e: self._events.append(("data", bytes(d[s:e]))),
            "on_part_end": lambda: self._events.append(("part_end", None)),
            "on_header_field": lambda d, s, e: self._name.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": lambda: self._events.append(("headers", dict(self._headers))),
            "on_end": lambda: self._events.append(("end", None)),
        }
        self._parser = MultipartParser(boundary, callbacks)

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._name.decode("latin-1").lower()] = self._value.decode("utf-8", "replace")
        self._name.clear()
        self._value.clear()

    async def _event(self) -> tuple[str, Any]:
        while not self._events:
            if self._finished:
                raise _bad("the multipart body ended early")
            try:
                chunk = await anext(self._stream)
            except StopAsyncIteration:
                self._finished = True
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise _bad(f"malformed multipart body: {exc}") from exc
        return self._events.popleft()

    async def read_until_file(self) -> tuple[dict[str, list[str]], FilePart]:
        """Collect the fields before the file part; return them and the file part."""
        fields: dict[str, list[str]] = {}
        while True:
            kind, value = await self._event()
            if kind == "end":
                raise InvalidField("the form has no file part", errors=[{"loc": ["file"], "msg": "missing"}])
            if kind != "headers":
                continue
            name, filename = _disposition(value)
            if filename is not None:
                return fields, FilePart(filename, value.get("content-type"), self._file_chunks())
            fields.setdefault(name, []).append(await self._field_value())

    async def _field_value(self) -> str:
        """The current field part's value; the form's fields together stay under 64 KiB."""
        data = bytearray()
        while (event := await self._event())[0] == "data":
            data.extend(event[1])
            self._fields_size += len(event[1])
            if self._fields_size > MAX_FIELDS_BYTES:
                raise _bad("the form fields are larger than 64 KiB")
        return data.decode("utf-8", "replace")

    async def _file_chunks(self) -> AsyncIterator[bytes]:
        while (event := await self._event())[0] == "data":
            yield event[1]
        late: dict[str, list[str]] = {}
        while (event := await self._event())[0] != "end":
            if event[0] != "headers":
                continue
            name, filename = _disposition(event[1])
            if filename is not None:
                raise _bad("the form has more than one file part; send one file per upload")
            late.setdefault(name, []).append(await self._field_value())
        async for _ in self._stream:  # the epilogue, if any
            pass
        if late and self.on_late_fields is not None:
            self.on_late_fields(late)  # raising here aborts the SE upload before it commits
        elif late:
            raise _bad("fields after the file part are not accepted here; send them first")


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    """A part's field name, and its file name when it is the file part."""
    _, params = parse_options_header(headers.get("content-disposition", ""))
    name = params.get(b"name", b"").decode("utf-8", "replace")
    if name == FILE_FIELD or b"filename" in params:
        return name, params.get(b"filename", b"").decode("utf-8", "replace")
    return name, None
