"""customer.upserted: a CRM/ERP customer account, created or changed, with its billing
e-mail, legal entity, tax profile and whether it is active (``customer_profiles``).

The customer is the one deals name by ``customer.external_id`` (created the same way:
``deals.ensure_customer``); a later version changes its name and country too. Versions are
ordered by sequence per subject (``SEQUENCED_STATE``): an older one is stale. A legal entity
or tax profile the firm does not have, or has inactive, fails the message with one exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from syncline.adapters.db.masterdata_tables import customer_profiles
from syncline.adapters.db.tables import customers
from syncline.domain.master_checks import parse_customer
from syncline.domain.model import Customer
from syncline.services.clock import iso
from syncline.services.handlers.deals import ensure_customer
from syncline.services.messaging.outcomes import Applied, Failed, Outcome
from syncline.services.messaging.unit_of_work import Batch


def upsert_customer(b: Batch, data: Mapping[str, Any]) -> Outcome:
    cmd = parse_customer(data, b.ref)
    if isinstance(cmd, list):
        return Failed(tuple(cmd))
    customer_id = ensure_customer(b, Customer(cmd.external_id, cmd.name, cmd.country))
    b.conn.execute(update(customers).where(customers.c.id == customer_id).values(
        name=cmd.name, country=cmd.country))
    profile = {"billing_email": cmd.billing_email, "entity_code": cmd.entity_code,
               "tax_profile": cmd.tax_profile, "active": cmd.active, "updated_at": iso(b.now)}
    known = b.conn.execute(select(customer_profiles.c.customer_id).where(
        customer_profiles.c.customer_id == customer_id)).first()
    if known is None:
        b.conn.execute(customer_profiles.insert().values(customer_id=customer_id, **profile))
    else:
        b.conn.execute(update(customer_profiles).where(
            customer_profiles.c.customer_id == customer_id).values(**profile))
    return Applied(provides=(f"customer:{cmd.external_id}",))
