"""An invoice as a printable HTML page (Jinja2) and as a PDF (fpdf2).

Pure presentation: the numbers come from ``billing.invoicing.Invoice``; nothing is
recomputed here except formatting. The seller is looked up in the firm's reference data
(``ref``: the system's master data; the built-in firm by default) by the invoice's entity
code unless passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fpdf import FPDF
from jinja2 import Environment, select_autoescape

from syncline.billing.invoicing import Invoice
from syncline.domain.reference import DEFAULT_REFERENCE, LegalEntity, ReferenceData
from syncline.ledger.money import Money


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    address: tuple[str, ...] = ()
    tax_id: str = ""


def money(m: Money) -> str:
    return f"{m.rounded().amount:,} {m.currency}"


def quantity(q: Decimal) -> str:
    text = f"{q.normalize():f}"
    return text if "." in text or len(text) < 5 else f"{q:,}"


def _seller(invoice: Invoice, seller: Party | None, ref: ReferenceData) -> Party:
    if seller is not None:
        return seller
    entity: LegalEntity | None = ref.entity(invoice.entity_code)
    if entity is None:
        return Party(invoice.entity_code)
    return Party(entity.name, (entity.country,))


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Invoice {{ inv.number }}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; color: #111; margin: 2.5rem auto; max-width: 52rem; }
  header { display: flex; justify-content: space-between; align-items: flex-start; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; letter-spacing: .05em; }
  table { width: 100%; border-collapse: collapse; margin-top: 1.5rem; }
  th, td { padding: .4rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { text-align: left; background: #f4f4f4; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  tfoot td { border: none; } tfoot tr.total td { font-weight: bold; border-top: 2px solid #111; }
  .parties { display: flex; gap: 4rem; margin-top: 1.5rem; } .muted { color: #555; }
  .notes { margin-top: 1.5rem; font-size: .9rem; }
  @media print { body { margin: 0; } @page { margin: 18mm; } }
</style></head>
<body>
<header>
  <div><h1>INVOICE</h1><div class="muted">{{ seller.name }}</div>
    {% for line in seller.address %}<div class="muted">{{ line }}</div>{% endfor %}
    {% if seller.tax_id %}<div class="muted">Tax ID {{ seller.tax_id }}</div>{% endif %}</div>
  <table style="width:auto;margin:0">
    <tr><th>Invoice number</th><td>{{ inv.number }}</td></tr>
    <tr><th>Invoice date</th><td>{{ inv.invoice_date.isoformat() }}</td></tr>
    <tr><th>Due date</th><td>{{ inv.due_date.isoformat() }}</td></tr>
    <tr><th>Contract</th><td>{{ inv.contract_number }}</td></tr>
    <tr><th>Period</th><td>{{ inv.period }}</td></tr>
  </table>
</header>
<section class="parties">
  <div><strong>Bill to</strong><div>{{ customer.name }}</div>
    {% for line in customer.address %}<div>{{ line }}</div>{% endfor %}
    {% if customer.tax_id %}<div>Tax ID {{ customer.tax_id }}</div>{% endif %}</div>
</section>
<table>
  <thead><tr><th>Description</th><th class="num">Quantity</th><th class="num">Unit price</th>
    <th class="num">Amount</th></tr></thead>
  <tbody>
  {% for ln in inv.lines %}
    <tr><td>{{ ln.description }}
        {%- if ln.deferred %} <span class="muted">(in advance)</span>{% endif %}</td>
      <td class="num">{{ quantity(ln.quantity) }}</td>
      <td class="num">{{ money(ln.unit_price) }}</td>
      <td class="num">{{ money(ln.amount) }}</td></tr>
  {% endfor %}
  </tbody>
  <tfoot>
    <tr><td colspan="3" class="num">Subtotal</td><td class="num">{{ money(inv.subtotal) }}</td></tr>
    <tr><td colspan="3" class="num">Tax {{ inv.tax_code }} ({{ rate }} %)</td>
      <td class="num">{{ money(inv.tax) }}</td></tr>
    <tr class="total"><td colspan="3" class="num">Total due</td>
      <td class="num">{{ money(inv.total) }}</td></tr>
  </tfoot>
</table>
{% if inv.fx %}<p class="muted">Functional currency: 1 {{ inv.fx.base }} = {{ inv.fx.rate }}
  {{ inv.fx.quote }} ({{ inv.fx.source }}, {{ inv.fx.as_of.isoformat() }}).</p>{% endif %}
{% if inv.notes %}<div class="notes">
  {% for n in inv.notes %}<p>{{ n }}</p>{% endfor %}</div>{% endif %}
<p class="muted">Payment due by {{ inv.due_date.isoformat() }}. Please quote {{ inv.number }}.</p>
</body></html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_ENV.globals.update(money=money, quantity=quantity)


def _rate(invoice: Invoice) -> str:
    return f"{(invoice.tax_rate * 100).normalize():f}"


def render_invoice_html(invoice: Invoice, *, customer: Party | None = None,
                        seller: Party | None = None,
                        ref: ReferenceData = DEFAULT_REFERENCE) -> str:
    return _ENV.from_string(_TEMPLATE).render(
        inv=invoice, seller=_seller(invoice, seller, ref),
        customer=customer or Party(invoice.customer_name), rate=_rate(invoice))


def _latin1(text: str) -> str:
    """fpdf2's core fonts are Latin-1: keep what fits, replace the rest readably."""
    swaps = {"—": "-", "–": "-", "→": "->", "’": "'", "“": '"', "”": '"', "…": "..."}
    for a, b in swaps.items():
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


def render_invoice_pdf(invoice: Invoice, *, customer: Party | None = None,
                       seller: Party | None = None,
                       ref: ReferenceData = DEFAULT_REFERENCE) -> bytes:
    s, c = _seller(invoice, seller, ref), customer or Party(invoice.customer_name)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(_latin1(s.name))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for text in (s.name, *s.address, f"Tax ID {s.tax_id}" if s.tax_id else ""):
        if text:
            pdf.cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    facts = (("Invoice number", invoice.number), ("Invoice date", invoice.invoice_date.isoformat()),
             ("Due date", invoice.due_date.isoformat()), ("Contract", invoice.contract_number),
             ("Period", invoice.period), ("Bill to", c.name), *(("", a) for a in c.address))
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(35, 5, label)
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (95, 22, 33, 40)
    pdf.set_font("Helvetica", "B", 10)
    for w, head, align in zip(widths, ("Description", "Quantity", "Unit price", "Amount"),
                              ("L", "R", "R", "R"), strict=True):
        pdf.cell(w, 7, head, border="B", align=align)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for ln in invoice.lines:
        label = ln.description + (" (in advance)" if ln.deferred else "")
        cells = (_latin1(label)[:70], quantity(ln.quantity), money(ln.unit_price),
                 money(ln.amount))
        for w, text, align in zip(widths, cells, ("L", "R", "R", "R"), strict=True):
            pdf.cell(w, 6, text, align=align)
        pdf.ln()
    pdf.ln(2)
    for label, value, bold in (
        ("Subtotal", money(invoice.subtotal), False),
        (f"Tax {invoice.tax_code} ({_rate(invoice)} %)", money(invoice.tax), False),
        ("Total due", money(invoice.total), True),
    ):
        pdf.set_font("Helvetica", "B" if bold else "", 10)
        pdf.cell(sum(widths[:3]), 6, _latin1(label), align="R")
        pdf.cell(widths[3], 6, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    notes = list(invoice.notes)
    if invoice.fx:
        notes.append(f"Functional currency: 1 {invoice.fx.base} = {invoice.fx.rate} "
                     f"{invoice.fx.quote} ({invoice.fx.source}, {invoice.fx.as_of}).")
    notes.append(f"Payment due by {invoice.due_date.isoformat()}. Please quote {invoice.number}.")
    pdf.ln(4)
    for n in notes:
        pdf.multi_cell(0, 4, _latin1(n), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
