"""The firm's master data over HTTP (mounted under /v1): read by every role, set by an admin
only — validated (422 naming every problem with its place), stored as a new version and
audited with the document before and after (services/masterdata)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException

from syncline.api.auth import Requires, needs
from syncline.bootstrap import Syncline
from syncline.services.governance.roles import ADMIN, READERS, Principal
from syncline.services.masterdata import (
    MasterDataInvalid,
    current_document,
    set_master_data,
    stored_versions,
)


def router(system: Syncline) -> APIRouter:
    api = APIRouter(tags=["master data"])

    @api.get("/master-data", dependencies=needs(*READERS))
    def master_data() -> dict[str, Any]:
        """The current master data (``master_data``: the document PUT takes) and where it
        comes from: a stored ``version``, or the seed (SYNCLINE_MASTER_DATA or the built-in
        firm) while none is stored."""
        with system.engine.connect() as conn:
            return current_document(conn, system.master.seed)

    @api.get("/master-data/versions", dependencies=needs(*READERS))
    def master_data_versions() -> list[dict[str, Any]]:
        """Every stored version: who set it, when, from where (the documents: GET
        /v1/audit, action master_data.set)."""
        with system.engine.connect() as conn:
            return stored_versions(conn)

    @api.put("/master-data")
    def put_master_data(principal: Annotated[Principal, Depends(Requires(ADMIN))],
                        document: Annotated[dict[str, Any], Body(
                            description="The whole master-data document (docs/master-data.md)"
                        )]) -> dict[str, Any]:
        """Replace the master data: the whole document, validated; 422 lists every problem
        (``where``, ``message``). Applies to messages applied from now on; a document equal
        to the current one stores nothing (``changed``: false)."""
        try:
            with system.engine.begin() as conn:
                return set_master_data(conn, document, actor=principal.name, source="api",
                                       now=system.clock(), seed=system.master.seed)
        except MasterDataInvalid as invalid:
            raise HTTPException(422, {"message": "the master data is invalid",
                                      "problems": invalid.as_list()}) from None

    return api
