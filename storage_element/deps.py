"""Dependencies of the storage element's routers: the store and who may call what.

File endpoints accept service tokens only, each with its scope (API.md); mode and
maintenance endpoints accept OPERATOR+ people or services holding the scope. Tokens
carrying a scope this fleet does not know are refused (403): never upgraded, never ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from shared.auth import KNOWN_SCOPES, Principal, PrincipalDep
from shared.errors import Forbidden
from storage_element.storage.store import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]


def _known(principal: Principal) -> None:
    unknown = principal.scopes - KNOWN_SCOPES
    if unknown:
        raise Forbidden(f"unknown scope: {' '.join(sorted(unknown))}")


async def any_principal(principal: PrincipalDep) -> Principal:
    _known(principal)
    return principal


def service_scope(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        _known(principal)
        if principal.kind != "service":
            raise Forbidden("storage elements serve the fleet: a service token is required")
        missing = [s for s in scopes if not principal.has_scope(s)]
        if missing:
            raise Forbidden(f"missing scope: {' '.join(missing)}")
        return principal

    return check


def operator_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        _known(principal)
        if not principal.has_scope(scope):
            raise Forbidden(f"missing scope: {scope}")
        if principal.kind == "user" and not principal.at_least("OPERATOR"):
            raise Forbidden("requires role OPERATOR or higher")
        return principal

    return check


Reader = Annotated[Principal, Depends(service_scope("files:read"))]
Writer = Annotated[Principal, Depends(service_scope("files:write"))]
Deleter = Annotated[Principal, Depends(service_scope("files:delete"))]
FeedReader = Annotated[Principal, Depends(service_scope("feed:read"))]
StorageReader = Annotated[Principal, Depends(operator_scope("storage:read"))]
StorageAdmin = Annotated[Principal, Depends(operator_scope("storage:admin"))]
AnyPrincipal = Annotated[Principal, Depends(any_principal)]
