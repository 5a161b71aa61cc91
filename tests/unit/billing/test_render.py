"""The invoice a customer reads: printable HTML and a PDF."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from syncline.billing.fx import FxSnapshot
from syncline.billing.invoicing import assemble_invoice
from syncline.console.invoice_render import Party, render_invoice_html, render_invoice_pdf

from .builders import hours

INVOICE = assemble_invoice(
    number="US01-2026-000042", entity_code="US01", contract_number="C-1",
    customer_name="Acme <Corp> & Co", currency="USD", invoice_date=date(2026, 3, 31),
    period="2026-03", items=[hours("TE-1", "2026-03-02", "8"),
                             hours("TE-2", "2026-03-03", "2", "250", role="manager")],
    tax_code="US-NY-SVC", tax_rate=Decimal("0.08875"), payment_terms_days=30,
    service_line="consulting",
    fx=FxSnapshot("USD", "GBP", Decimal("0.7913"), "BoE", date(2026, 3, 31)),
    notes=("Held for approval: manager time 2026-03-04 — 400.00 USD over hard cap NTE-1",))


def test_html_reads_like_an_invoice() -> None:
    html = render_invoice_html(INVOICE, customer=Party("Acme <Corp> & Co", ("1 Main St",)))
    for text in ("INVOICE", "Northwind Consulting Inc.", "US01-2026-000042", "2026-03-31",
                 "2026-04-30", "Consultant time", "1,200.00 USD", "Manager time",
                 "Subtotal", "1,700.00 USD", "Tax US-NY-SVC (8.875 %)", "150.88 USD",
                 "Total due", "1,850.88 USD", "1 USD = 0.7913", "Held for approval"):
        assert text in html, text
    assert "Acme &lt;Corp&gt; &amp; Co" in html and "<Corp>" not in html


def test_pdf_is_a_pdf() -> None:
    pdf = render_invoice_pdf(INVOICE)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000
