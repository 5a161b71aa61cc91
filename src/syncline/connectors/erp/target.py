"""``ErpTarget``: exactly once, whatever the network does.

The outbox delivers with the outbox id as the idempotency key; a vendor target also keys
each document by an *external id* of Syncline's (the invoice number, the customer's
Syncline id, the journal's source) that the vendor stores on the document. ``deliver``:

1. sends the document (``post``), with the vendor's idempotency mechanism (NetSuite's
   ``eid:`` upsert, QBO's ``requestid``, Xero's ``Idempotency-Key``) keyed on the outbox id;
2. when the send's fate is unknown — a timeout, a connection dropped after the request was
   written, a 5xx — asks the vendor for the document by its external id (``find``): found,
   it is the answer (the vendor had accepted it); not found, the failure is transient and
   the outbox retries later with the same key;
3. a refusal for good (a validation error: an unknown account, a closed period in the ERP)
   is ``Refused`` with the vendor's message: no retry, a finance exception.

Journals of an invoice's or a credit note's release are not sent: the vendor's own invoice
document posts receivables, revenue and tax (``covered_by_document``).

4. once the document is at the vendor (sent or found), ``settle`` finishes what the document
   needs there: a credit note is applied to the invoice it credits (Xero's allocation, QBO's
   zero payment, NetSuite's credit memo ``apply`` line). ``settle`` reads the vendor's state
   first (the credit still unapplied, what the invoice still owes) and is keyed on the
   outbox id (or, at NetSuite, sets an absolute amount from that state), so running it
   again after any failure applies nothing twice;
   its failures are transient (the outbox sends the row again: the document is found, the
   settling resumes) unless the vendor refuses for good.
"""

from __future__ import annotations

from typing import Any

import httpx

from syncline.connectors.sdk.errors import AuthError, RateLimited, VendorError
from syncline.services.messaging.delivery import Refused, TransientFailure

DOCUMENT_SOURCES = ("invoice:", "credit_note:")  # their journals travel as documents


def covered_by_document(kind: str, payload: dict[str, Any]) -> bool:
    return kind == "erp.journal.post" and str(payload.get("source", "")).startswith(
        DOCUMENT_SOURCES)


def external_id(kind: str, payload: dict[str, Any]) -> str:
    """Syncline's key of a document, stored on it at the vendor (and in the xref)."""
    if kind == "erp.customer.upsert":
        return str(payload["customer_id"])
    if kind == "erp.invoice.post":
        return str(payload["number"])
    if kind == "erp.journal.post":
        return str(payload["source"])
    raise Refused(f"no external id for {kind}")


class ErpTarget:
    """Subclasses set ``name`` and implement ``post``, ``find`` and, where the vendor can,
    ``compensate`` (undo a customer created by a provisioning saga that failed later)."""

    name: str = "erp"
    kinds: frozenset[str] = frozenset({"erp.customer.upsert", "erp.invoice.post",
                                       "erp.journal.post"})

    def post(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        raise NotImplementedError

    def find(self, kind: str, payload: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def compensate(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> None:
        return None

    def settle(self, kind: str, payload: dict[str, Any], idempotency_key: str,
               reference: str) -> None:
        """After the document is at the vendor as ``reference``: what else it needs there
        (by default nothing)."""
        return None

    def xref_system(self, payload: dict[str, Any]) -> str | None:
        """The cross-reference system the vendor's ids are kept under (``erp:<name>``)."""
        return f"erp:{self.name}"

    def deliver(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        if kind not in self.kinds:
            raise Refused(f"{self.name} does not take {kind}")
        if covered_by_document(kind, payload):
            return f"covered by the document {payload['source']}"
        reference = self._at_vendor(kind, payload, idempotency_key)
        self._settled(kind, payload, idempotency_key, reference)
        return reference

    def _at_vendor(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> str:
        try:
            return self.post(kind, payload, idempotency_key)
        except (httpx.TimeoutException, httpx.TransportError) as unknown:
            return self._after_unknown(kind, payload, f"{type(unknown).__name__}")
        except RateLimited as slow:
            raise TransientFailure(str(slow)) from None
        except AuthError as denied:
            raise TransientFailure(f"{denied} (fix the credentials; the outbox retries)") \
                from None
        except VendorError as failed:
            if failed.retryable:
                return self._after_unknown(kind, payload, str(failed))
            raise Refused(str(failed)) from None

    def _settled(self, kind: str, payload: dict[str, Any], idempotency_key: str,
                 reference: str) -> None:
        what = f"{external_id(kind, payload)} is at {self.name} as {reference}, but"
        try:
            self.settle(kind, payload, idempotency_key, reference)
        except (httpx.TimeoutException, httpx.TransportError, RateLimited, AuthError) as err:
            raise TransientFailure(f"{what} settling it failed ({type(err).__name__}: {err}); "
                                   "it is read again and finished on the next send") from None
        except VendorError as failed:
            if failed.retryable:
                raise TransientFailure(f"{what} settling it failed: {failed}") from None
            raise Refused(f"{what} {self.name} refused to settle it: {failed}") from None

    def _after_unknown(self, kind: str, payload: dict[str, Any], why: str) -> str:
        try:
            found = self.find(kind, payload)
        except (VendorError, httpx.HTTPError) as lookup_failed:
            raise TransientFailure(f"{why}; the look-up by external id failed too: "
                                   f"{lookup_failed}") from None
        if found is not None:
            return found
        raise TransientFailure(f"{why}; {external_id(kind, payload)} is not at "
                               f"{self.name}: it will be sent again with the same key")
