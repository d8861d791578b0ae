"""Annotated dependencies of the ingester's routers (objects built in the lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ingester_module.files.service import Files
from ingester_module.sagas.service import Sagas
from ingester_module.tus.service import Tus
from ingester_module.uploads.service import Uploader


def _uploader(request: Request) -> Uploader:
    uploader: Uploader = request.app.state.uploader
    return uploader


def _files(request: Request) -> Files:
    files: Files = request.app.state.files
    return files


def _sagas(request: Request) -> Sagas:
    sagas: Sagas = request.app.state.sagas
    return sagas


def _tus(request: Request) -> Tus:
    store: Tus = request.app.state.tus
    return store


UploaderDep = Annotated[Uploader, Depends(_uploader)]
FilesDep = Annotated[Files, Depends(_files)]
SagasDep = Annotated[Sagas, Depends(_sagas)]
TusDep = Annotated[Tus, Depends(_tus)]
