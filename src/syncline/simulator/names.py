"""Fictional people and companies, by country. Any resemblance to real firms is accidental."""

from __future__ import annotations

import random

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "US": ("James", "Maria", "Robert", "Priya", "Michael", "Aisha", "David", "Emily", "Carlos",
           "Sarah", "Kevin", "Grace", "Daniel", "Olivia", "Marcus", "Hannah", "Ethan", "Sofia",
           "Jason", "Mei", "Tyler", "Rachel", "Andre", "Lauren"),
    "GB": ("Oliver", "Amelia", "Harry", "Isla", "George", "Freya", "Jack", "Poppy", "Rahul",
           "Chloe", "Thomas", "Niamh", "William", "Imogen", "Callum", "Zara"),
    "DE": ("Lukas", "Anna", "Jonas", "Lena", "Felix", "Mia", "Leon", "Sophie", "Maximilian",
           "Hannah", "Paul", "Laura", "Tobias", "Katharina", "Elif", "Niklas"),
    "NL": ("Daan", "Sanne", "Bram", "Femke", "Sem", "Lotte"),
    "FR": ("Louis", "Camille", "Hugo", "Manon", "Jules", "Chloé"),
    "AT": ("Florian", "Valentina", "Matthias", "Theresa", "Stefan", "Julia"),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "US": ("Johnson", "Garcia", "Chen", "Patel", "Williams", "Nguyen", "Brown", "Martinez",
           "Davis", "Kim", "Robinson", "Okafor", "Miller", "Hernandez", "Walker", "Singh",
           "Lee", "Thompson", "Rivera", "Carter"),
    "GB": ("Smith", "Jones", "Taylor", "Evans", "Wilson", "Hughes", "Khan", "Roberts",
           "Wright", "Clarke", "Walsh", "Edwards", "Murphy", "Shaw"),
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Hoffmann", "Schulz", "Koch", "Yılmaz", "Richter", "Wolf"),
    "NL": ("de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser"),
    "FR": ("Martin", "Bernard", "Dubois", "Laurent", "Moreau", "Lefebvre"),
    "AT": ("Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner"),
}

_COMPANY_STEMS: dict[str, tuple[str, ...]] = {
    "US": ("Harborview", "Pinecrest", "Bluestem", "Ironwood", "Lakeshore", "Redrock",
           "Summit Ridge", "Cedar Point", "Granite Bay", "Silverline", "Westfield", "Brightwater",
           "Keystone", "Oak Hollow", "Northgate", "Copperfield"),
    "GB": ("Thameside", "Pennine", "Kestrel", "Wessex", "Albion", "Mersey", "Cotswold",
           "Highgate", "Severn", "Fenwick"),
    "DE": ("Rheinwerk", "Elbtal", "Schwarzwald", "Isarwerk", "Nordstern", "Alpenblick",
           "Spreetal", "Taunus", "Moselhof", "Harzer"),
    "NL": ("Grachtenhuis", "Polderland", "Zuiderzee"),
    "FR": ("Belle Rive", "Val de Loire", "Côte Verte"),
    "AT": ("Donautal", "Alpenhof", "Wienerberg"),
}

_COMPANY_TRADES: dict[str, tuple[str, ...]] = {
    "US": ("Health", "Logistics", "Financial", "Foods", "Energy", "Software", "Insurance",
           "Manufacturing", "Retail Group", "Biosciences"),
    "GB": ("Retail", "Utilities", "Housing", "Insurance", "Logistics", "Media"),
    "DE": ("Maschinenbau", "Logistik", "Versicherung", "Energie", "Handel", "Chemie"),
    "NL": ("Logistiek", "Energie", "Verzekeringen"),
    "FR": ("Distribution", "Énergie", "Assurances"),
    "AT": ("Bau", "Handel", "Energie"),
}

_COMPANY_SUFFIX: dict[str, str] = {
    "US": "Inc.", "GB": "plc", "DE": "GmbH", "NL": "B.V.", "FR": "SA", "AT": "GmbH",
}


def person_name(rng: random.Random, country: str, taken: set[str]) -> str:
    for _ in range(50):
        name = f"{rng.choice(FIRST_NAMES[country])} {rng.choice(LAST_NAMES[country])}"
        if name not in taken:
            taken.add(name)
            return name
    name = f"{rng.choice(FIRST_NAMES[country])} {rng.choice(LAST_NAMES[country])} {len(taken)}"
    taken.add(name)
    return name


def company_name(rng: random.Random, country: str, taken: set[str]) -> str:
    for attempt in range(50):
        stem = rng.choice(_COMPANY_STEMS[country])
        trade = rng.choice(_COMPANY_TRADES[country])
        name = f"{stem} {trade} {_COMPANY_SUFFIX[country]}"
        if attempt >= 40:
            name = f"{stem} {trade} {len(taken)} {_COMPANY_SUFFIX[country]}"
        if name not in taken:
            taken.add(name)
            return name
    raise AssertionError("unreachable: the numbered name is always new")


def email_local(name: str) -> str:
    """'Anna Müller' -> 'anna.muller' (ASCII, for addresses)."""
    table = str.maketrans({"ü": "u", "ö": "o", "ä": "a", "ß": "ss", "é": "e", "ı": "i",
                           "ç": "c", " ": "."})
    return "".join(c for c in name.lower().translate(table) if c.isalnum() or c == ".")


def slug(company: str) -> str:
    first = company.split()[0].lower()
    return email_local(first).replace(".", "")
