"""Inbound flows: one module per flow, and `HANDLERS`, the table of contents of the system.

Each handler maps an event's data to a canonical command (pure parsing in `domain`), checks
what needs state, writes state changes and outbox rows on the batch's connection, and returns
an outcome (applied, parked on a missing prerequisite, failed with problems). Handlers are
idempotent on natural keys, so a replay changes nothing. A new inbound event type is a module
here, a line in `HANDLERS` and its schema in `schemas/events/v1/`.
"""

from syncline.services.handlers.activations import activate_project
from syncline.services.handlers.adjustments import record_adjustment
from syncline.services.handlers.amendments import amend_contract
from syncline.services.handlers.customers import upsert_customer
from syncline.services.handlers.estimates import open_contract_recognized, revise_estimate
from syncline.services.handlers.expenses import record_expense, reverse_expense
from syncline.services.handlers.fx_rates import publish_fx_rates
from syncline.services.handlers.milestones import complete_milestone
from syncline.services.handlers.payments import record_payment
from syncline.services.handlers.projects import close_project
from syncline.services.handlers.rate_cards import publish_rate_card
from syncline.services.handlers.staffing import confirm_assignment, request_resource
from syncline.services.handlers.time import record_time, record_time_set, reverse_time
from syncline.services.handlers.workers import terminate_worker, upsert_worker
from syncline.services.messaging.unit_of_work import Handler

HANDLERS: dict[str, Handler] = {
    # CRM / CPQ
    "deal.closed_won": open_contract_recognized,  # deals.open_contract_with_terms + recognition
    "contract.amended": amend_contract,
    "customer.upserted": upsert_customer,
    # HR
    "worker.upserted": upsert_worker,
    "worker.terminated": terminate_worker,
    # PSA
    "time.approved": record_time,
    "time.rejected": reverse_time,
    "expense.approved": record_expense,
    "expense.rejected": reverse_expense,
    "milestone.completed": complete_milestone,
    "estimate.revised": revise_estimate,
    "project.activated": activate_project,
    "project.closed": close_project,
    "resource.requested": request_resource,
    "assignment.confirmed": confirm_assignment,
    # billing and finance reference data
    "rate_card.published": publish_rate_card,
    "fx.rates_published": publish_fx_rates,
    "billing.adjustment.requested": record_adjustment,
    # ERP
    "payment.received": record_payment,
}

# Types whose state is versioned per subject: an older sequence is recorded, never applied over
# newer state. Worker history is kept by its handler (effective-dated cost rates).
SEQUENCED_STATE = {"deal.closed_won", "milestone.completed", "customer.upserted",
                   "project.activated"}

__all__ = ["HANDLERS", "SEQUENCED_STATE", "record_time", "record_time_set"]
