"""The HubSpot connector's settings (docs/connectors/hubspot.md), checked when it is built.

Every problem is reported at once, with its key; secrets are ``${env:…}``/``${file:…}``
references only (``token`` for a private app, or ``oauth`` with a refresh token;
``webhook_secret`` is the app's client secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncline.connectors.hubspot.client import BASE_URL
from syncline.connectors.hubspot.mapping import DEAL_TERMS, ENUMS, LINE_TERMS, Terms
from syncline.connectors.hubspot.streams import WINDOW
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.sdk.events import parse_time
from syncline.connectors.sdk.secrets import MissingSecret, Secret, resolve

KEYS = {"base_url", "portal_id", "token", "oauth", "webhook_secret", "webhook_url",
        "closed_won_stages", "currency", "since", "page_size", "search_window", "sort_form",
        "objects_path", "associations_path", "fields", "line_fields", "defaults",
        "value_maps", "country_codes"}


@dataclass(frozen=True)
class OAuthSettings:
    client_id: str
    client_secret: Secret
    refresh_token: Secret


@dataclass(frozen=True)
class HubSpotSettings:
    terms: Terms
    base_url: str = BASE_URL
    token: Secret | None = None
    oauth: OAuthSettings | None = None
    webhook_secret: Secret | None = None
    webhook_url: str | None = None
    since: str | None = None
    page_size: int = 100
    search_window: int = WINDOW
    sort_form: str = "object"
    objects_path: str = "/crm/v3/objects"
    associations_path: str = "/crm/v4/associations"


def _str_map(value: Any, key: str, problems: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, (str, int)) for v in value.values()):
        problems.append(f"{key}: expected a mapping of names to strings")
        return {}
    return {str(k): str(v) for k, v in value.items()}


def parse(config: ConnectorConfig, env: dict[str, str] | None) -> HubSpotSettings:
    s, problems = config.settings, []
    at = f"connector {config.name}: settings"
    unknown = set(s) - KEYS
    if unknown:
        problems.append(f"{at}: unknown keys {', '.join(sorted(unknown))}")

    def secret(value: Any, key: str) -> Secret | None:
        if value is None:
            return None
        try:
            return resolve(str(value), env)
        except MissingSecret as err:
            problems.append(f"{at}.{key}: {err}")
            return None

    stages_raw = s.get("closed_won_stages")
    stages: dict[str, tuple[str, ...]] = {}
    if not isinstance(stages_raw, dict) or not stages_raw:
        problems.append(f"{at}.closed_won_stages: a mapping of pipeline id → closed-won stage "
                        "ids is required (the default pipeline: {default: [closedwon]})")
    else:
        for pipeline, ids in stages_raw.items():
            ids = [ids] if isinstance(ids, str) else ids
            if not isinstance(ids, list) or not ids:
                problems.append(f"{at}.closed_won_stages.{pipeline}: a list of stage ids")
                continue
            stages[str(pipeline)] = tuple(str(i) for i in ids)
    fields = _str_map(s.get("fields"), f"{at}.fields", problems)
    line_fields = _str_map(s.get("line_fields"), f"{at}.line_fields", problems)
    for term in set(fields) - set(DEAL_TERMS):
        problems.append(f"{at}.fields.{term}: not a deal term; known: {', '.join(DEAL_TERMS)}")
    for term in set(line_fields) - set(LINE_TERMS):
        problems.append(f"{at}.line_fields.{term}: not a line term; known: "
                        + ", ".join(LINE_TERMS))
    defaults = s.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(f"{at}.defaults: expected a mapping")
        defaults = {}
    for term, value in defaults.items():
        if term not in DEAL_TERMS:
            problems.append(f"{at}.defaults.{term}: not a deal term")
        elif term in ENUMS and value not in ENUMS[term]:
            problems.append(f"{at}.defaults.{term}: one of {', '.join(ENUMS[term])}")
    value_maps = s.get("value_maps") or {}
    if not isinstance(value_maps, dict):
        problems.append(f"{at}.value_maps: expected a mapping")
        value_maps = {}
    maps = {str(k): _str_map(v, f"{at}.value_maps.{k}", problems) for k, v in value_maps.items()}
    countries = _str_map(s.get("country_codes"), f"{at}.country_codes", problems)
    token = secret(s.get("token"), "token")
    oauth = None
    if isinstance(s.get("oauth"), dict):
        o = s["oauth"]
        cs, rt = secret(o.get("client_secret"), "oauth.client_secret"), secret(
            o.get("refresh_token"), "oauth.refresh_token")
        if not o.get("client_id") or cs is None or rt is None:
            problems.append(f"{at}.oauth: client_id, client_secret and refresh_token")
        else:
            oauth = OAuthSettings(str(o["client_id"]), cs, rt)
    if ("token" in s) == ("oauth" in s):
        problems.append(f"{at}: exactly one of token (a private app) or oauth")
    sort_form = s.get("sort_form", "object")
    if sort_form not in ("object", "string"):
        problems.append(f"{at}.sort_form: object or string")
    # default: every page a fresh search from the last date seen (search_window = page_size):
    # paging one search with `after` misses a deal modified while it is paged (it moves to
    # the end and the page boundary shifts past another), which for revenue data is not
    # acceptable; one extra search and one re-read deal a page is the price
    page_size = s.get("page_size", 100)
    window = s.get("search_window", page_size if isinstance(page_size, int) else WINDOW)
    if not isinstance(page_size, int) or not 1 <= page_size <= 200:
        problems.append(f"{at}.page_size: 1 to 200")
    if not isinstance(window, int) or window < (page_size if isinstance(page_size, int) else 1):
        problems.append(f"{at}.search_window: a whole number ≥ page_size")
    since = s.get("since")
    if since is not None:
        try:
            parse_time(str(since))
        except ValueError:
            problems.append(f"{at}.since: an ISO 8601 date-time (2026-01-01T00:00:00Z)")
    if problems:
        raise ConnectorConfigInvalid(problems)
    portal = s.get("portal_id")
    terms = Terms(stages=stages, fields=fields, line_fields=line_fields, defaults=dict(defaults),
                  value_maps=maps, country_codes=countries,
                  currency=str(s["currency"]).upper() if s.get("currency") else None,
                  portal_id=str(portal) if portal else None)
    return HubSpotSettings(
        terms=terms, base_url=str(s.get("base_url") or BASE_URL), token=token, oauth=oauth,
        webhook_secret=secret(s.get("webhook_secret"), "webhook_secret"),
        webhook_url=s.get("webhook_url"), since=str(since) if since else None, page_size=page_size,
        search_window=window, sort_form=sort_form,
        objects_path=str(s.get("objects_path") or "/crm/v3/objects"),
        associations_path=str(s.get("associations_path") or "/crm/v4/associations"))
