"""docs/asyncapi.yaml is generated from the event schemas (src/syncline/schemas/events/v1)
and the outbound kinds (syncline.schemas.asyncapi.OUTBOUND); an unreviewed change fails
here, and so does an outbox kind the code emits that the document does not list.
Regenerate: python -m syncline.schemas.asyncapi > docs/asyncapi.yaml
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from syncline.schemas import EVENT_TYPES_V1
from syncline.schemas.asyncapi import OUTBOUND, document, dumps

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.yaml"


def test_the_committed_asyncapi_document_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == dumps(document()), (
        "docs/asyncapi.yaml differs from the schemas: review, then regenerate with "
        "python -m syncline.schemas.asyncapi > docs/asyncapi.yaml")


def test_every_inbound_type_and_outbound_kind_is_in_it() -> None:
    doc = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert set(EVENT_TYPES_V1) <= names
    emitted = set()
    for source in (ROOT / "src" / "syncline").rglob("*.py"):
        emitted |= set(re.findall(r"emit\(\s*\"([a-z_]+\.[a-z_.]+)\"",
                                  source.read_text(encoding="utf-8")))
    assert emitted, "no outbox kinds found: has emit() been renamed?"
    assert emitted <= set(OUTBOUND), f"emitted but not documented: {emitted - set(OUTBOUND)}"
    assert set(OUTBOUND) <= names
