"""Tax codes per jurisdiction and their computation on an invoice subtotal.

Three treatments: *standard* (subtotal × rate, rounded half-up once on the subtotal),
*exempt* (no tax, with the exemption stated) and *reverse charge* (no tax charged; the
invoice must say the customer accounts for the VAT). An unknown code is ``TaxCodeMissing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from syncline.domain.errors import BusinessDomain, Problem
from syncline.domain.reference import TAX_PROFILES, TaxProfile
from syncline.ledger.money import Money

REVERSE_CHARGE_NOTE = ("Reverse charge: VAT to be accounted for by the customer "
                       "(Council Directive 2006/112/EC, art. 196).")


class TaxTreatment(StrEnum):
    STANDARD = "standard"
    EXEMPT = "exempt"
    REVERSE_CHARGE = "reverse_charge"


@dataclass(frozen=True, slots=True)
class TaxCode:
    code: str
    jurisdiction: str
    rate: Decimal
    treatment: TaxTreatment
    label: str

    @property
    def note(self) -> str:
        if self.treatment is TaxTreatment.REVERSE_CHARGE:
            return REVERSE_CHARGE_NOTE
        if self.treatment is TaxTreatment.EXEMPT:
            return f"Tax exempt: {self.label}."
        return ""


@dataclass(frozen=True, slots=True)
class TaxResult:
    code: str
    rate: Decimal  # the rate charged (0 for exempt and reverse charge)
    amount: Money
    note: str


@dataclass(frozen=True, slots=True)
class TaxCodeMissing:
    code: str
    contract_number: str

    @property
    def message(self) -> str:
        return f"contract {self.contract_number} uses tax code {self.code!r}, not configured"

    def problem(self) -> Problem:
        return Problem(
            code="billing.tax_code_missing", domain=BusinessDomain.BILLING, message=self.message,
            remediation=("Ask the tax team to configure the code for its jurisdiction (or fix "
                         "the customer's tax profile in the CRM), then re-run the cycle."),
            objects=(("contract", self.contract_number),),
        )


def tax_code_from_profile(profile: TaxProfile) -> TaxCode:
    if "REVERSE" in profile.code.upper():
        treatment = TaxTreatment.REVERSE_CHARGE
    elif profile.rate == 0:
        treatment = TaxTreatment.EXEMPT
    else:
        treatment = TaxTreatment.STANDARD
    return TaxCode(profile.code, profile.jurisdiction, profile.rate, treatment, profile.label)


DEFAULT_TAX_CODES: tuple[TaxCode, ...] = tuple(tax_code_from_profile(p) for p in TAX_PROFILES)


def find_tax_code(codes: Iterable[TaxCode], code: str, *,
                  contract_number: str = "") -> TaxCode | TaxCodeMissing:
    found = next((c for c in codes if c.code == code), None)
    return found if found is not None else TaxCodeMissing(code, contract_number)


def compute_tax(subtotal: Money, code: TaxCode) -> TaxResult:
    if code.treatment is not TaxTreatment.STANDARD:
        return TaxResult(code.code, Decimal(0), Money.zero(subtotal.currency), code.note)
    return TaxResult(code.code, code.rate, (subtotal * code.rate).rounded(), "")
