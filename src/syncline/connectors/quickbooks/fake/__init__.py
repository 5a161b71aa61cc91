"""A stateful fake QuickBooks Online company (Accounting API v3 + Intuit's token endpoint).

Use it as ``httpx.MockTransport(FakeQuickBooks(...))`` for both the API and the token
endpoint. It behaves as connectors.md §6 describes:

- **Token endpoint** (``POST https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer``):
  HTTP Basic ``client_id:client_secret``, ``grant_type=refresh_token``; answers a new access
  token (3600 s) and, with ``rotate`` on (default), a NEW refresh token — the old one is then
  refused (``invalid_grant``), so a client that loses the rotated token is locked out.
- **API** (``/v3/company/<realm>/…``): exactly ``Authorization: Bearer <current token>``
  (else 401 with the lowercase ``fault`` body); ``minorversion`` ≥ 75 on EVERY request (the
  fake is stricter than QBO, which would fall back to the base version: a missing one is a
  400 here, so the tests prove every request carries it); ``requestid`` on a POST: the same
  id again answers the stored first response and writes nothing.
- Reads: ``/companyinfo/<realm>``, ``/preferences``, ``/<entity>/<id>``, ``/query``
  (store.py's grammar; MAXRESULTS ≤ 1000), ``/cdc?entities=&changedSince=`` (refused when
  ``changedSince`` is more than 30 days back; tombstones ``status: Deleted``).
- Faults on demand: ``throttle(n)`` (429, no Retry-After), ``fail(n, status)`` (5xx
  SystemFault), ``expire_token()`` (the next call is a 401: a refresh cures it),
  ``drop_after_accept(n, error)`` (a POST is applied and stored, then the connection fails
  with ``error``: ``httpx.ReadTimeout`` or ``httpx.RemoteProtocolError``),
  ``edit_after_read(entity, id)`` (someone edits between a read and the update: 5010).
- Business: ``record_payment`` applies a payment to an invoice (its Balance falls) at its
  own ``ExchangeRate`` (``realized_gain`` then gives QBO's exchange gain or loss); a POSTed
  ``Payment`` applies invoices and credit memos alike (a credit memo applied to an invoice
  by a zero payment: both fall);
  ``open_balance(customer_id)`` per QBO customer; ``documents(entity)``; ``requests``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx

from syncline.connectors.quickbooks.client import dumps
from syncline.connectors.quickbooks.fake.store import Company, Fault
from syncline.connectors.quickbooks.settings import MIN_MINOR_VERSION

TOKEN_HOST = "oauth.platform.intuit.com"
CDC_DAYS = 30


class FakeQuickBooks:
    def __init__(self, *, realm_id: str = "9341453050071926", client_id: str = "ABqbo-client",
                 client_secret: str = "qbo-secret", refresh_token: str = "qbo-rt-0",
                 home_currency: str = "USD", multicurrency: bool = True,
                 now: Callable[[], datetime] | None = None, rotate: bool = True) -> None:
        self.realm_id, self.client_id, self.client_secret = realm_id, client_id, client_secret
        self.refresh_token, self.rotate = refresh_token, rotate
        self.now = now or (lambda: datetime.now(UTC))
        self.company = Company(self.now, home_currency, multicurrency)
        self.access_token: str | None = None
        self.token_requests: list[dict[str, str]] = []
        self.requests: list[httpx.Request] = []
        self.answers: dict[str, tuple[int, Any]] = {}  # requestid → the first answer
        self.class_tracking = True
        self._issued = 0
        self._throttle = 0
        self._fail: list[int] = []
        self._drop: list[type[httpx.TransportError]] = []
        self._edit_after_read: list[tuple[str, str]] = []

    # -- switches ----------------------------------------------------------------------------
    def throttle(self, times: int) -> None:
        self._throttle += times

    def fail(self, times: int, status: int = 500) -> None:
        self._fail += [status] * times

    def expire_token(self) -> None:
        self.access_token = None

    def edit_after_read(self, entity: str, object_id: str) -> None:
        """Someone edits the object in QBO right after the next read of it: an update sent
        with the SyncToken that read returned is stale (5010)."""
        self._edit_after_read.append((entity, object_id))

    def drop_after_accept(self, times: int = 1,
                          error: type[httpx.TransportError] = httpx.ReadTimeout) -> None:
        self._drop += [error] * times

    # -- business ----------------------------------------------------------------------------
    def seed_demo(self) -> FakeQuickBooks:
        """A small US company: A/R per currency, income, deferred revenue, two service Items
        booking to them, a class, EUR in the currency list (ids as QBO's sample companies
        number them: small integers; classes long)."""
        c = self.company
        for row in ({"Id": "84", "Name": "Accounts Receivable (A/R)",
                     "AccountType": "Accounts Receivable", "CurrencyRef": {"value": "USD"}},
                    {"Id": "85", "Name": "Accounts Receivable (A/R) - EUR",
                     "AccountType": "Accounts Receivable", "CurrencyRef": {"value": "EUR"}},
                    {"Id": "79", "Name": "Services", "AccountType": "Income"},
                    {"Id": "80", "Name": "Deferred Revenue",
                     "AccountType": "Other Current Liability"},
                    {"Id": "90", "Name": "Unbilled Revenue", "AccountType": "Other Current Asset"},
                    {"Id": "91", "Name": "Old Income", "AccountType": "Income",
                     "Active": False}):
            c.add("Account", row)
        c.add("Item", {"Id": "21", "Name": "Consulting", "Type": "Service",
                       "IncomeAccountRef": {"value": "79"}})
        c.add("Item", {"Id": "22", "Name": "Billed in advance", "Type": "Service",
                       "IncomeAccountRef": {"value": "80"}})
        c.add("Class", {"Id": "5000000000000012", "Name": "Implementation"})
        c.add("CompanyCurrency", {"Id": "1", "Code": "EUR", "Name": "Euro"})
        return self

    def documents(self, entity: str) -> list[dict[str, Any]]:
        return list(self.company.objects.get(entity, {}).values())

    def record_payment(self, invoice_id: str, amount: str, on: str,
                       reference: str | None = None, rate: str | None = None
                       ) -> dict[str, Any]:
        """A payment as a person records it in QBO, applied to one invoice (checked as a
        Payment POST is: store.py ``_check_payment``). ``rate``: the payment's own
        ``ExchangeRate`` (home units per 1 foreign unit) for a foreign invoice; by default
        the invoice's."""
        invoice = self.company.get("Invoice", invoice_id)
        paid = Decimal(amount)
        payment = {"CustomerRef": invoice["CustomerRef"], "TotalAmt": paid, "TxnDate": on,
                   "CurrencyRef": invoice["CurrencyRef"], "UnappliedAmt": Decimal(0),
                   "Line": [{"Amount": paid, "LinkedTxn": [{"TxnId": invoice_id,
                                                            "TxnType": "Invoice"}]}]}
        if "ExchangeRate" in invoice:
            payment["ExchangeRate"] = Decimal(rate) if rate else invoice["ExchangeRate"]
        if reference:
            payment["PaymentRefNum"] = reference
        return self.company.write("Payment", payment)

    def realized_gain(self, payment_id: str) -> Decimal:
        """QBO's exchange gain (+) or loss (−) on a foreign payment, in the home currency:
        each invoice line's amount at the payment's ``ExchangeRate`` less at the invoice's
        (to the cent, half up)."""
        payment = self.company.get("Payment", payment_id)
        gain = Decimal(0)
        for line in payment["Line"]:
            for txn in line["LinkedTxn"]:
                if txn["TxnType"] == "Invoice":
                    invoice = self.company.get("Invoice", txn["TxnId"])
                    amount = Decimal(str(line["Amount"]))
                    gain += (_home(amount, payment.get("ExchangeRate"))
                             - _home(amount, invoice.get("ExchangeRate")))
        return gain

    def open_balance(self, customer_id: str) -> Decimal:
        owed = sum((Decimal(str(i["Balance"])) for i in self.documents("Invoice")
                    if i["CustomerRef"]["value"] == customer_id), Decimal(0))
        credit = sum((Decimal(str(c["RemainingCredit"])) for c in self.documents("CreditMemo")
                      if c["CustomerRef"]["value"] == customer_id), Decimal(0))
        return owed - credit

    # -- HTTP --------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == TOKEN_HOST:
            return self._token(request)
        if request.headers.get("Authorization") != f"Bearer {self.access_token}" \
                or self.access_token is None:
            return _json(401, {"fault": {"error": [{
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired", "code": "3200"}], "type": "AUTHENTICATION"},
                "time": self.now().isoformat()})
        try:
            minor = int(request.url.params.get("minorversion", "0"))
        except ValueError:
            minor = 0
        if minor < MIN_MINOR_VERSION:
            return self._fault(Fault(400, "2010", "Request has invalid or unsupported "
                                     "property", "minorversion missing or retired"))
        if self._throttle:
            self._throttle -= 1
            return self._fault(Fault(429, "3001", "message=ThrottleExceeded; errorCode="
                                     "003001; statusCode=429", "The request limit was "
                                     "reached.", "SERVICE"))
        if self._fail:
            return self._fault(Fault(self._fail.pop(0), "10000", "An application error has "
                                     "occurred while processing your request",
                                     "System Failure Error", "SystemFault"))
        try:
            return self._route(request)
        except Fault as fault:
            return self._fault(fault)

    def _route(self, request: httpx.Request) -> httpx.Response:
        prefix = f"/v3/company/{self.realm_id}/"
        path = request.url.path
        if not path.startswith(prefix):
            raise Fault(403, "100", "General Authentication Error", "wrong realm")
        parts = path[len(prefix):].split("/")
        params = request.url.params
        if request.method == "POST":
            return self._post(request, parts[0])
        if parts == ["companyinfo", self.realm_id]:
            return self._ok({"CompanyInfo": {"Id": "1", "CompanyName": "Syncline Demo",
                                             "Country": "US", "SyncToken": "0"}})
        if parts == ["preferences"]:
            return self._ok({"Preferences": self._preferences()})
        if parts == ["query"]:
            entity, rows, first = self.company.query(params.get("query", ""))
            return self._ok({"QueryResponse": {entity: rows, "startPosition": first,
                                               "maxResults": len(rows)} if rows else {}})
        if parts == ["cdc"]:
            return self._cdc(params.get("entities", ""), params.get("changedSince", ""))
        if len(parts) == 2:
            entity = _entity(parts[0])
            answer = self._ok({entity: self.company.get(entity, parts[1])})
            if (entity, parts[1]) in self._edit_after_read:
                self._edit_after_read.remove((entity, parts[1]))
                self.company.bump(entity, parts[1])
            return answer
        raise Fault(404, "4000", "Unsupported operation", path)

    def _post(self, request: httpx.Request, resource: str) -> httpx.Response:
        requestid = request.url.params.get("requestid")
        if requestid and requestid in self.answers:
            status, body = self.answers[requestid]
            return self._maybe_drop(request, _json(status, body))
        entity = _entity(resource)
        try:
            body = json.loads(request.content, parse_float=Decimal)
            stored = self.company.write(entity, body)
            status, answer = 200, {entity: stored, "time": self.now().isoformat()}
        except Fault as fault:
            status, answer = fault.status, self._fault_body(fault)
        if requestid:
            self.answers[requestid] = (status, json.loads(dumps(answer), parse_float=Decimal))
        return self._maybe_drop(request, _json(status, answer))

    def _maybe_drop(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if self._drop:
            raise self._drop.pop(0)("the connection dropped after the write", request=request)
        return response

    def _cdc(self, entities: str, changed_since: str) -> httpx.Response:
        since = datetime.fromisoformat(changed_since.replace("Z", "+00:00"))
        if self.now() - since > timedelta(days=CDC_DAYS):
            raise Fault(400, "4001", "Invalid query", "changedSince is more than 30 days "
                        "in the past")
        parts = [{_entity(e): self.company.changed(_entity(e), since), "startPosition": 1}
                 for e in entities.split(",") if e]
        return self._ok({"CDCResponse": [{"QueryResponse": parts}]})

    def _preferences(self) -> dict[str, Any]:
        return {"CurrencyPrefs": {"MultiCurrencyEnabled": self.company.multicurrency,
                                  "HomeCurrency": {"value": self.company.home}},
                "AccountingInfoPrefs": {"ClassTrackingPerTxnLine": self.class_tracking,
                                        "ClassTrackingPerTxn": False,
                                        "TrackDepartments": False}}

    def _token(self, request: httpx.Request) -> httpx.Response:
        pair = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.token_requests.append(form)
        if request.headers.get("Authorization") != f"Basic {pair}":
            return _json(401, {"error": "invalid_client"})
        if form.get("grant_type") != "refresh_token" or \
                form.get("refresh_token") != self.refresh_token:
            return _json(400, {"error": "invalid_grant"})
        self._issued += 1
        self.access_token = f"qbo-at-{self._issued}"
        if self.rotate:
            self.refresh_token = f"qbo-rt-{self._issued}"
        return _json(200, {"access_token": self.access_token, "token_type": "bearer",
                           "expires_in": 3600, "refresh_token": self.refresh_token,
                           "x_refresh_token_expires_in": 8726400})

    def _ok(self, body: dict[str, Any]) -> httpx.Response:
        return _json(200, {**body, "time": self.now().isoformat()})

    def _fault_body(self, fault: Fault) -> dict[str, Any]:
        return {"Fault": {"Error": [{"Message": fault.message, "Detail": fault.detail,
                                     "code": fault.code, "element": ""}], "type": fault.kind},
                "time": self.now().isoformat()}

    def _fault(self, fault: Fault) -> httpx.Response:
        return _json(fault.status, self._fault_body(fault))


_ENTITIES = {"customer": "Customer", "invoice": "Invoice", "creditmemo": "CreditMemo",
             "journalentry": "JournalEntry", "payment": "Payment", "account": "Account",
             "item": "Item", "taxcode": "TaxCode", "class": "Class",
             "department": "Department", "companycurrency": "CompanyCurrency"}


def _home(amount: Decimal, rate: Any) -> Decimal:
    return (amount * Decimal(str(rate or 1))).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _entity(resource: str) -> str:
    if resource.lower() not in _ENTITIES and resource not in _ENTITIES.values():
        raise Fault(400, "4000", "Unsupported entity", resource)
    return _ENTITIES.get(resource.lower(), resource)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=dumps(body), headers={
        "Content-Type": "application/json", "intuit_tid": "1-fake-tid", **(headers or {})})
