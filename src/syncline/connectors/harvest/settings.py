"""The Harvest connector's settings (``settings:`` of a ``kind: harvest`` connector).

Every problem is reported at once, by key; the token is a secret reference. See
docs/connectors/harvest.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncline.connectors.harvest.mapping import APPROVAL_FLAGS, WORKER_RULES, TimeRules
from syncline.connectors.sdk.config import ConnectorConfig, ConnectorConfigInvalid
from syncline.connectors.sdk.secrets import MissingSecret, Secret, resolve
from syncline.connectors.sdk.settings import SettingsReader
from syncline.domain.reference import ROLES


@dataclass(frozen=True)
class HarvestSettings:
    account_id: str
    token: Secret
    user_agent: str
    rules: TimeRules
    base_url: str = "https://api.harvestapp.com"
    worker_rule: str = "email"
    hr_source: str | None = None
    user_workers: dict[str, str] = field(default_factory=dict)
    user_roles: dict[str, str] = field(default_factory=dict)
    per_page: int = 2000
    since: str | None = None


def parse(config: ConnectorConfig, env: dict[str, str] | None) -> HarvestSettings:
    reader = SettingsReader(config, env)
    s, problems, at, text = reader.settings, reader.problems, reader.at, reader.text

    choice = reader.choice

    def mapping(key: str) -> dict[str, str]:
        raw = s.get(key, {})
        if not isinstance(raw, dict):
            problems.append(f"{at}{key}: a mapping")
            return {}
        return {str(k): str(v) for k, v in raw.items()}

    token: Secret | None = None
    try:
        token = resolve(str(s.get("token", "")), env)
    except MissingSecret as missing:
        problems.append(f"{at}token: {missing}")
    account = str(s.get("account_id", "")).strip()
    if not account:
        problems.append(f"{at}account_id: required (the Harvest-Account-Id)")
    rules = TimeRules(approved_when=choice("approved_when", APPROVAL_FLAGS, "is_closed"),
                      hours_field=choice("hours_field", ("hours", "rounded_hours"), "hours"),
                      entry_prefix=str(s.get("entry_prefix", "")),
                      task_codes=mapping("task_codes"))
    rule = choice("worker_rule", WORKER_RULES, "email")
    hr_source = s.get("hr_source")
    if rule == "email" and not hr_source:
        problems.append(f"{at}hr_source: required with worker_rule email (the HR connector's "
                        "source, e.g. workday/hr: its workers' emails are matched)")
    roles = mapping("user_roles")
    bad = sorted({r for r in roles.values() if r not in ROLES})
    if bad:
        problems.append(f"{at}user_roles: {', '.join(bad)} not Syncline roles")
    per_page = s.get("per_page", 2000)
    if not isinstance(per_page, int) or not 1 <= per_page <= 2000:
        problems.append(f"{at}per_page: 1 to 2000 (Harvest's maximum)")
        per_page = 2000
    since = reader.since()
    user_agent = text("user_agent")
    if problems:
        raise ConnectorConfigInvalid(problems)
    assert token is not None
    return HarvestSettings(
        account_id=account, token=token, user_agent=user_agent, rules=rules,
        base_url=str(s.get("base_url", "https://api.harvestapp.com")).rstrip("/"),
        worker_rule=rule, hr_source=str(hr_source) if hr_source else None,
        user_workers=mapping("user_workers"), user_roles=roles, per_page=per_page,
        since=since)
