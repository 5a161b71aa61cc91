"""The Workday connector's settings (``settings:`` of a ``kind: workday`` connector).

Every problem is reported at once, named by its key (``ConnectorConfigInvalid``); secrets are
``${env:…}``/``${file:…}`` references resolved here. See docs/connectors/workday.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.sdk.secrets import Secret
from syncline.connectors.sdk.settings import SettingsReader
from syncline.connectors.workday.mapping import RAAS_FIELDS, REST_FIELDS, STATUSES, WorkerRules
from syncline.domain.reference import ROLES

SOURCES = ("raas", "rest")


@dataclass(frozen=True)
class WorkdaySettings:
    host: str
    tenant: str
    rules: WorkerRules
    source: str = "raas"
    report_owner: str = ""
    report_name: str = ""
    as_of_prompt: str = "Effective_as_of_Date"
    prompts: dict[str, str] = field(default_factory=dict)
    entries_key: str = "Report_Entry"
    page_size: int = 100
    batch_size: int = 500
    auth: str = "basic"
    username: str = ""
    password: Secret | None = None
    client_id: str = ""
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    token_url: str = ""

    @property
    def base_url(self) -> str:
        return f"https://{self.host}"

    @property
    def report_path(self) -> str:
        return f"/ccx/service/customreport2/{self.tenant}/{self.report_owner}/{self.report_name}"

    @property
    def workers_path(self) -> str:
        return f"/ccx/api/v1/{self.tenant}/workers"


def parse(config: ConnectorConfig, env: dict[str, str] | None) -> WorkdaySettings:
    reader = SettingsReader(config, env)
    s, problems, at, text = reader.settings, reader.problems, reader.at, reader.text

    secret = reader.secret

    def mapping(key: str, default: dict[str, str]) -> dict[str, str]:
        raw = s.get(key, {})
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            problems.append(f"{at}{key}: a mapping of text to text")
            return dict(default)
        return dict(default, **{str(k): v for k, v in raw.items()})

    source = s.get("source", "raas")
    if source not in SOURCES:
        problems.append(f"{at}source: one of {', '.join(SOURCES)} (got {source!r})")
        source = "raas"
    roles = mapping("roles", {})
    if not roles:
        problems.append(f"{at}roles: map each Workday job profile to a Syncline role")
    bad = sorted({r for r in roles.values() if r not in ROLES})
    if bad:
        problems.append(f"{at}roles: {', '.join(bad)} not Syncline roles ({', '.join(ROLES)})")
    rules = WorkerRules(roles=roles, statuses=mapping("statuses", STATUSES),
                        fields=mapping("fields", REST_FIELDS if source == "rest" else RAAS_FIELDS))
    host, tenant = text("host"), text("tenant")
    auth = s.get("auth", "basic" if source == "raas" else "oauth")
    extra: dict[str, Any] = {}
    if auth == "basic" and source == "raas":
        extra = {"username": text("username"), "password": secret("password")}
    elif auth == "oauth":
        extra = {"client_id": text("client_id"), "client_secret": secret("client_secret"),
                 "refresh_token": secret("refresh_token"),
                 "token_url": s.get("token_url") or f"https://{host}/ccx/oauth2/{tenant}/token"}
    else:
        problems.append(f"{at}auth: basic (RaaS only) or oauth (got {auth!r})")
    if source == "raas":
        extra |= {"report_owner": text("report_owner"), "report_name": text("report_name"),
                  "as_of_prompt": text("as_of_prompt", "Effective_as_of_Date"),
                  "entries_key": text("entries_key", "Report_Entry")}
        prompts = s.get("prompts", {})
        if not isinstance(prompts, dict):
            problems.append(f"{at}prompts: a mapping of prompt name to value")
            prompts = {}
        extra["prompts"] = {str(k): str(v) for k, v in prompts.items()}
    page_size = s.get("page_size", 100)
    if not isinstance(page_size, int) or not 1 <= page_size <= 100:
        problems.append(f"{at}page_size: 1 to 100 (the REST maximum)")
        page_size = 100
    if problems:
        raise ConnectorConfigInvalid(problems)
    return WorkdaySettings(host=host, tenant=tenant, rules=rules, source=source, auth=auth,
                           page_size=page_size, **extra)
