"""What prices and closes the firm's work: rate cards, month-end FX rates, project closes.

- **Rate cards** (``rate_card.published``, from the PSA): one default card per currency
  (``STD-USD``, ``STD-GBP``, ``STD-EUR``) the evening before the first day (the first
  events), equal to the reference role defaults and billed in quarter hours rounding up; one
  price increase (version 2 of each, about 4 %, effective the first of the middle month,
  announced two weeks ahead); and customer cards (a few roles 3-8 % below the default) for
  about one customer in four.
- **FX rates** (``fx.rates_published``, from treasury in the ERP): month-end closing rates,
  USD to GBP and EUR and GBP to EUR (the cross of the two), a random walk from the seed.
- **Project closes** (``project.closed``, from the PSA): a project whose contract ends inside
  the simulated period or the month after it is closed a few days after its end date
  (``closed_on`` = the contract's end date; the close may come after the period).

Each is drawn from its own generator (``<seed>:rate-cards``, ``<seed>:fx``,
``<seed>:closes``), so adding them never changes the other events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from syncline.domain.reference import ReferenceData
from syncline.simulator.envelope import add_months, at_hour, weekday_on_or_after, window_end
from syncline.simulator.firm import Customer, Deal, Firm
from syncline.simulator.model import SimulationConfig

CURRENCY_OF_ENTITY = {"US01": "USD", "GB01": "GBP", "DE01": "EUR"}
INCREMENT = Decimal("0.25")
INCREASE = Decimal("1.04")
_FX_START = {"GBP": Decimal("0.7900"), "EUR": Decimal("0.9200")}  # 1 USD = …


@dataclass(frozen=True)
class CardVersion:
    card_id: str
    version: int
    scope: str  # default | customer
    scope_key: str | None
    currency: str
    effective_from: date
    rates: tuple[tuple[str, Decimal], ...]
    published_at: datetime
    name: str


@dataclass(frozen=True)
class FxPublication:
    as_of: date
    base: str
    rates: tuple[tuple[str, Decimal], ...]
    at: datetime


@dataclass(frozen=True)
class ProjectClose:
    deal: Deal
    closed_on: date
    at: datetime


def _start_of_stream(config: SimulationConfig) -> datetime:
    """The evening before the first day: the cards in force from the start come first."""
    return datetime.combine(config.start - timedelta(days=1), time(17, 0), tzinfo=UTC)


def plan_rate_cards(config: SimulationConfig, firm: Firm,
                    ref: ReferenceData) -> tuple[CardVersion, ...]:
    rng = random.Random(f"{config.seed}:rate-cards")
    first = _start_of_stream(config)
    defaults: dict[str, list[tuple[str, Decimal]]] = {}
    for rr in ref.role_rates:
        defaults.setdefault(rr.rate.currency, []).append((rr.role, rr.rate.amount))
    cards: list[CardVersion] = []
    for currency in ("USD", "GBP", "EUR"):
        rates = tuple(sorted(defaults.get(currency, ())))
        if not rates:
            continue
        cards.append(CardVersion(f"STD-{currency}", 1, "default", None, currency, config.start,
                                 rates, first, f"Standard rates {currency}"))
        if config.months >= 2:
            effective = add_months(config.start.replace(day=1), config.months // 2)
            raised = tuple((role, (rate * INCREASE).to_integral_value(ROUND_HALF_UP))
                           for role, rate in rates)
            announced = datetime.combine(effective - timedelta(days=14), time(10, 0),
                                         tzinfo=UTC)
            cards.append(CardVersion(f"STD-{currency}", 2, "default", None, currency,
                                     effective, raised, max(announced, first),
                                     f"Standard rates {currency} from {effective:%B %Y}"))
    for customer in _card_customers(rng, firm):
        currency = CURRENCY_OF_ENTITY[customer.entity]
        base = dict(defaults.get(currency, ()))
        roles = sorted(rng.sample(sorted(base), k=min(len(base), rng.randint(2, 3))))
        rates = tuple((role, (base[role] * (1 - Decimal(rng.randint(3, 8)) / 100))
                       .to_integral_value(ROUND_HALF_UP)) for role in roles)
        cards.append(CardVersion(f"CUS-{customer.external_id}", 1, "customer",
                                 customer.external_id, currency, config.start, rates,
                                 first, f"{customer.name} negotiated rates"))
    return tuple(cards)


def _card_customers(rng: random.Random, firm: Firm) -> list[Customer]:
    buying = sorted({d.customer.external_id: d.customer for d in firm.deals}.items())
    if not buying:
        return []
    return [c for _, c in rng.sample(buying, k=max(1, len(buying) // 4))]


def plan_fx(config: SimulationConfig) -> tuple[FxPublication, ...]:
    """Month-end closing rates for every month of the period (1 USD = x GBP / EUR; GBP→EUR
    is their cross), published on the last day at 18:00 UTC."""
    rng = random.Random(f"{config.seed}:fx")
    level = dict(_FX_START)
    out: list[FxPublication] = []
    month = config.start.replace(day=1)
    end = window_end(config)
    while month < end:
        as_of = add_months(month, 1) - timedelta(days=1)
        for quote in sorted(level):
            step = Decimal(rng.randint(-150, 150)) / 10000  # ±1.5 % a month
            level[quote] = (level[quote] * (1 + step)).quantize(Decimal("0.0001"),
                                                                ROUND_HALF_UP)
        at = datetime.combine(as_of, time(18, 0), tzinfo=UTC)
        out.append(FxPublication(as_of, "USD", tuple(sorted(level.items())), at))
        cross = (level["EUR"] / level["GBP"]).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        out.append(FxPublication(as_of, "GBP", (("EUR", cross),), at))
        month = add_months(month, 1)
    return tuple(out)


def plan_closes(config: SimulationConfig, firm: Firm) -> tuple[ProjectClose, ...]:
    """Projects whose contract ends in the period or the month after it (the PSA closes them
    2-6 days after the end date, which may be after the period: contracts run 3-12 months
    from the first half, so few end inside a short period)."""
    rng = random.Random(f"{config.seed}:closes")
    horizon = add_months(window_end(config), 1)
    out = []
    for deal in firm.deals:
        if deal.end >= horizon:
            continue
        day = weekday_on_or_after(deal.end + timedelta(days=rng.randint(2, 6)))
        out.append(ProjectClose(deal, deal.end, at_hour(day, rng, 9, 16)))
    return tuple(out)
