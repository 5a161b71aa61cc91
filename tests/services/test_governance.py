"""Governance (issue 11): the role matrix generated from the app's route declarations, keys
hashed at rest and refused once expired or revoked, separation of duties, the audit chain."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from syncline.adapters.db.governance_tables import audit_log
from syncline.adapters.db.tables import billable_items, metadata
from syncline.api.app import create_app
from syncline.api.auth import api_routes
from syncline.api.principals import CACHE_SECONDS
from syncline.bootstrap import Syncline, bootstrap
from syncline.config import Settings
from syncline.services.billing import maker_checker as mc
from syncline.services.billing.run import run_billing
from syncline.services.governance import audit
from syncline.services.governance.approvals import SelfApproval
from syncline.services.governance.keys import create_key, revoke_key
from syncline.services.governance.roles import ROLES, Forbidden, Principal
from syncline.services.messaging.inbox import receive_many
from tests.builders import deal, time_entry, worker
from tests.conftest import FIXED_NOW

# Routes that need no declaration: the interactive docs' page and its assets (api/docs.py;
# /openapi.json itself is behind a reader key)
UNDECLARED_OK = re.compile(r"^/docs(/|$)")


class Clock:
    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gov(tmp_path: Any, clock: Clock) -> Iterator[Syncline]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'gov.db'}", api_keys="legacy-key",
                        api_key_roles="integration")
    system = bootstrap(settings, clock=clock, durable=False)
    yield system
    system.engine.dispose()


def keys_by_role(system: Syncline) -> dict[str, str]:
    with system.engine.begin() as conn:
        return {role: create_key(conn, f"k-{role}", [role], by="setup", now=system.clock())[0]
                for role in ROLES}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_role_matrix_from_the_route_declarations(gov: Syncline) -> None:
    """Every route x every role: allowed (anything but 401/403) or 403, as the route
    declares; no key: 401 (but public routes); a route that declares nothing fails."""
    app = create_app(gov, background=False)
    tokens = keys_by_role(gov)
    undeclared, wrong, checked = [], [], 0
    with TestClient(app) as http:
        for route_path, methods, roles in api_routes(app):
            if roles is None:
                if not UNDECLARED_OK.match(route_path):
                    undeclared.append(route_path)
                continue
            path = concrete(route_path)
            for method in sorted(methods - {"HEAD"}):
                anonymous = http.request(method, path).status_code
                if roles == ():
                    if anonymous in (401, 403):
                        wrong.append((method, path, "public", anonymous))
                    continue
                if anonymous != 401:
                    wrong.append((method, path, "no key", anonymous))
                for role, token in tokens.items():
                    got = http.request(method, path, headers={"X-API-Key": token}).status_code
                    expected_allowed = role in roles
                    if expected_allowed == (got in (401, 403)):
                        wrong.append((method, path, role, got))
                    checked += 1
    assert undeclared == [], f"routes without a declared role: {undeclared}"
    assert wrong == []
    assert checked >= 7 * 30  # every role against every declared route


def test_the_declared_roles_are_the_documented_ones(gov: Syncline) -> None:
    app = create_app(gov, background=False)
    table = {(m, path): roles for path, methods, roles in api_routes(app) for m in methods}
    assert table[("POST", "/v1/events")] == ("integration",)
    assert table[("POST", "/v1/billing/runs")] == ("billing",)
    assert table[("POST", "/v1/close/{period}")] == ("finance",)
    assert table[("POST", "/v1/periods/{entity}/{period}/{action}")] == ("controller",
                                                                          "finance")
    assert table[("POST", "/v1/approvals/{approval_id}/approve")] == ("controller", "finance")
    assert table[("POST", "/v1/keys")] == ("admin",)
    assert table[("GET", "/v1/audit/verify")] == ("admin", "auditor", "controller")
    assert table[("GET", "/v1/health")] == ()
    assert all(not set(roles or ()) & {"auditor"} for (m, _), roles in table.items()
               if m != "GET"), "the auditor changes nothing"


def test_keys_are_hashed_at_rest_and_expired_or_revoked_keys_are_refused(
        gov: Syncline, clock: Clock) -> None:
    with gov.engine.begin() as conn:
        token, view = create_key(conn, "ci-bot", ["integration"], by="admin",
                                 now=clock(), expires="2026-08-01")
        other, _ = create_key(conn, "ops", ["finance"], by="admin", now=clock())
    assert view.expires_at is not None and view.expires_at.startswith("2026-08-01T00:00:00")
    assert token.startswith("sk_")
    with gov.engine.connect() as conn:  # every stored value of every table
        stored = " ".join(str(v) for t in metadata.sorted_tables
                          for row in conn.execute(select(t)) for v in row)
    assert token not in stored and other not in stored
    assert token[3:20] not in stored  # not even most of it: only the 10-character prefix
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    app = create_app(gov, background=False)
    with TestClient(app) as http:
        who = http.get("/v1/whoami", headers={"X-API-Key": token})
        assert who.status_code == 200 and who.json() == {
            "name": "ci-bot", "roles": ["integration"], "via": "key"}
        assert http.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"}
                        ).status_code == 200
        legacy = http.get("/v1/whoami", headers={"X-API-Key": "legacy-key"}).json()
        assert legacy["roles"] == ["integration"] and legacy["via"] == "env-key"
        assert http.get("/v1/whoami", headers={"X-API-Key": token + "x"}).status_code == 401
        clock.now = datetime(2026, 8, 1, tzinfo=FIXED_NOW.tzinfo)  # expired now
        assert http.get("/v1/whoami", headers={"X-API-Key": token}).status_code == 401
        assert http.get("/v1/whoami", headers={"X-API-Key": other}).status_code == 200
        with gov.engine.begin() as conn:  # revoked elsewhere (the CLI, another process):
            revoke_key(conn, "ops", by="admin", now=clock(), reason="left the firm")
        # ... this process refuses it once its verified-key cache has lapsed
        assert http.get("/v1/whoami", headers={"X-API-Key": other}).status_code == 200
        clock.now += timedelta(seconds=CACHE_SECONDS)
        assert http.get("/v1/whoami", headers={"X-API-Key": other}).status_code == 401
    with gov.engine.connect() as conn:
        assert [e["action"] for e in audit.entries(conn)] == ["key.create", "key.create",
                                                              "key.revoke"]


def test_a_key_revoked_through_the_api_is_refused_at_once(gov: Syncline, clock: Clock
                                                          ) -> None:
    """The verified-key cache (api/principals.py) is emptied by a revocation it sees."""
    with gov.engine.begin() as conn:
        admin, _ = create_key(conn, "root", ["admin"], by="setup", now=clock())
        bot, _ = create_key(conn, "ci-bot", ["integration"], by="admin", now=clock())
    with TestClient(create_app(gov, background=False)) as http:
        assert http.get("/v1/whoami", headers={"X-API-Key": bot}).status_code == 200  # cached
        assert http.post("/v1/keys/ci-bot/revoke", headers={"X-API-Key": admin},
                         json={"reason": "rotated"}).status_code == 200
        assert http.get("/v1/whoami", headers={"X-API-Key": bot}).status_code == 401


def ingest(system: Syncline, *events: object) -> None:
    with system.engine.begin() as conn:
        receive_many(conn, list(events), now=system.clock())  # type: ignore[arg-type]
    system.process()


AM = Principal("am", frozenset({"billing"}))
AM_FINANCE = Principal("am", frozenset({"billing", "finance"}))
CFO = Principal("cfo", frozenset({"finance"}))
CLERK = Principal("clerk", frozenset({"billing"}))


def test_maker_checker_for_adjustments_nobody_approves_their_own(gov: Syncline) -> None:
    ingest(gov, deal(), worker(), time_entry("T-1", hours="8"))
    asked = mc.ask_adjustment(gov, by=AM_FINANCE, threshold=gov.settings.approval_threshold,
                              contract="C-1", amount="-250.00", description="Goodwill",
                              reason="late kick-off")
    assert asked["status"] == "pending_approval"
    with gov.engine.connect() as conn:  # nothing reached billing yet
        assert conn.execute(select(billable_items.c.key).where(
            billable_items.c.key.like("adjustment:%"))).first() is None
    with pytest.raises(SelfApproval):
        mc.approve(gov, asked["approval_id"], by=AM_FINANCE)  # own request, though finance
    with pytest.raises(Forbidden):
        mc.approve(gov, asked["approval_id"], by=CLERK)  # billing cannot approve
    done = mc.approve(gov, asked["approval_id"], by=CFO)
    assert done["status"] == "applied" and done["requested_by"] == "am"
    assert done["approved_by"] == "cfo"
    with pytest.raises(ValueError, match="not pending"):
        mc.approve(gov, asked["approval_id"], by=Principal("ctl", frozenset({"controller"})))
    with gov.engine.connect() as conn:
        actions = [(e["actor"], e["action"]) for e in audit.entries(conn)]
    assert actions == [("am", "adjustment.request"), ("cfo", "adjustment.approve")]


def test_the_threshold_lets_small_requests_through(gov: Syncline) -> None:
    ingest(gov, deal(), worker(), time_entry("T-1", hours="8"))
    small = mc.ask_adjustment(gov, by=AM, threshold=mc.Decimal("100"), contract="C-1",
                              amount="-99.99", description="Rounding", reason="agreed")
    assert small["status"] == "applied" and small["approved_by"] == "auto"
    large = mc.ask_adjustment(gov, by=AM, threshold=mc.Decimal("100"), contract="C-1",
                              amount="-100", description="Discount", reason="agreed")
    assert large["status"] == "pending_approval"
    rejected = mc.reject(gov, large["approval_id"], by=CFO, reason="not agreed")
    assert rejected["status"] == "rejected"


def test_a_hard_cap_release_is_requested_and_approved_by_another(gov: Syncline) -> None:
    capped = deal()
    capped["data"]["billing_terms"] = {"caps": [{"cap_id": "NTE-1", "limit": "2000",
                                                 "kind": "hard", "tolerance": "0"}]}
    ingest(gov, capped, worker(), time_entry("T-1"), time_entry("T-2", day="2026-01-06"))
    (held,) = run_billing(gov.engine, "2026-01", gov.ref, gov.charts, gov.clock()).held
    asked = mc.ask_release(gov, held, by=AM, threshold=mc.Decimal(0), reason="CFO agreed")
    assert asked["status"] == "pending_approval"
    with pytest.raises(mc.RequestRefused, match="already requested"):
        mc.ask_release(gov, held, by=AM, threshold=mc.Decimal(0), reason="again")
    assert mc.find_pending_release(gov, held) == asked["approval_id"]
    done = mc.approve(gov, asked["approval_id"], by=CFO)
    assert done["status"] == "released"
    with gov.engine.connect() as conn:
        assert conn.execute(select(billable_items.c.status).where(
            billable_items.c.key == held)).scalar_one() == "released"


def test_over_http_the_maker_is_the_key_and_cannot_approve(gov: Syncline) -> None:
    ingest(gov, deal(), worker(), time_entry("T-1", hours="8"))
    with gov.engine.begin() as conn:
        both, _ = create_key(conn, "am", ["billing", "finance"], by="setup", now=gov.clock())
        cfo, _ = create_key(conn, "cfo", ["finance"], by="setup", now=gov.clock())
        ctl, _ = create_key(conn, "ctl", ["controller"], by="setup", now=gov.clock())
    with TestClient(create_app(gov, background=False)) as http:
        body = {"contract": "C-1", "amount": "-50", "description": "Discount",
                "reason": "QBR"}
        assert http.post("/v1/billing/adjustments", json={**body, "by": "cfo"},
                         headers={"X-API-Key": both}).status_code == 422  # `by` refused
        asked = http.post("/v1/billing/adjustments", json=body, headers={"X-API-Key": both})
        assert asked.status_code == 202 and asked.json()["requested_by"] == "am"
        approval = asked.json()["approval_id"]
        own = http.post(f"/v1/approvals/{approval}/approve", headers={"X-API-Key": both})
        assert own.status_code == 403 and "another principal" in own.json()["detail"]
        ok = http.post(f"/v1/approvals/{approval}/approve", headers={"X-API-Key": cfo})
        assert ok.status_code == 200 and ok.json()["status"] == "applied"
        # periods: finance closes, only controller locks (with a reason); actor is the key
        assert http.post("/v1/periods/US01/2026-01/close", json={"actor": "ceo"},
                         headers={"X-API-Key": cfo}).status_code == 422
        assert http.post("/v1/periods/US01/2026-01/close",
                         headers={"X-API-Key": cfo}).status_code == 200
        assert http.post("/v1/periods/US01/2026-01/lock", json={"reason": "done"},
                         headers={"X-API-Key": cfo}).status_code == 403
        assert http.post("/v1/periods/US01/2026-01/lock",
                         headers={"X-API-Key": ctl}).status_code == 422  # no reason
        locked = http.post("/v1/periods/US01/2026-01/lock", json={"reason": "done"},
                           headers={"X-API-Key": ctl})
        assert locked.status_code == 200 and locked.json()["changed_by"] == "ctl"
        assert http.post("/v1/close/2026-02?actor=ceo",
                         headers={"X-API-Key": cfo}).status_code == 422
        trail = http.get("/v1/audit", headers={"X-API-Key": ctl}).json()
        assert http.get("/v1/audit/verify", headers={"X-API-Key": ctl}).json()["ok"] is True
    assert [(e["actor"], e["action"]) for e in trail][-4:] == [
        ("am", "adjustment.request"), ("cfo", "adjustment.approve"),
        ("cfo", "period.close"), ("ctl", "period.lock")]


def chain(system: Syncline, n: int = 5) -> None:
    with system.engine.begin() as conn:
        for i in range(n):
            audit.append(conn, actor=f"user{i}", action="config.change", subject=f"thing/{i}",
                         now=FIXED_NOW + timedelta(minutes=i), before={"v": i},
                         after={"v": i + 1}, reason="test")


def test_the_audit_chain_finds_an_edited_a_deleted_and_an_inserted_row(gov: Syncline) -> None:
    chain(gov)
    with gov.engine.connect() as conn:
        assert audit.verify(conn).ok and audit.verify(conn).rows == 5
        row3 = conn.execute(select(audit_log).where(audit_log.c.seq == 3)).one()._mapping
        row3 = dict(row3)
    # 1. edit a field of row 3
    with gov.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(
            after='{"v":400}'))
        verdict = audit.verify(conn)
    assert not verdict.ok and verdict.seq == 3 and "edited" in (verdict.problem or "")
    with gov.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(after=row3["after"]))
        assert audit.verify(conn).ok
    # 2. delete row 3
    with gov.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 3))
        verdict = audit.verify(conn)
    assert not verdict.ok and verdict.seq == 3 and "deleted" in (verdict.problem or "")
    with gov.engine.begin() as conn:
        conn.execute(audit_log.insert().values(**row3))
        assert audit.verify(conn).ok
    # 3. insert a row (renumbering the later ones, with a plausible previous hash)
    with gov.engine.begin() as conn:
        for seq in (5, 4):
            conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(seq=seq + 1))
        conn.execute(audit_log.insert().values(
            **{**row3, "seq": 4, "actor": "intruder", "prev_hash": row3["hash"],
               "hash": "f" * 64}))
        verdict = audit.verify(conn)
    assert not verdict.ok and verdict.seq == 4
    # and the CLI says so, exit 1; an intact chain exits 0
    runner = CliRunner()
    from syncline.cli.main import app as cli

    url = str(gov.engine.url)
    broken = runner.invoke(cli, ["audit", "verify", "--database-url", url])
    assert broken.exit_code == 1 and "row 4" in broken.output
    with gov.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    chain(gov, 2)
    intact = runner.invoke(cli, ["audit", "verify", "--database-url", url])
    assert intact.exit_code == 0 and "2 rows" in intact.output


def test_a_key_records_when_it_was_last_used_to_the_minute(gov: Syncline, clock: Clock) -> None:
    from syncline.services.governance.keys import list_keys

    with gov.engine.begin() as conn:
        token, view = create_key(conn, "ci-bot", ["integration"], by="admin", now=clock())
    assert view.last_used_at is None

    def last_used() -> str | None:
        with gov.engine.connect() as conn:
            return next(k.last_used_at for k in list_keys(conn) if k.name == "ci-bot")

    with TestClient(create_app(gov, background=False)) as http:
        http.get("/v1/whoami", headers={"X-API-Key": token})
        first = last_used()
        assert first is not None and first.startswith("2026-07-15T12:00")
        clock.now = FIXED_NOW + timedelta(seconds=30)
        http.get("/v1/whoami", headers={"X-API-Key": token})
        assert last_used() == first  # within the minute: no write
        clock.now = FIXED_NOW + timedelta(minutes=5)
        http.get("/v1/whoami", headers={"X-API-Key": token})
        assert (last_used() or "").startswith("2026-07-15T12:05")


def test_anchors_outside_the_database_find_a_log_cut_back_or_rewritten(
        gov: Syncline, tmp_path: Any) -> None:
    """Without an anchor, deleting the latest rows (or rewriting the whole log with fresh
    hashes) leaves a chain that verifies; an anchor written down earlier finds both."""
    from syncline.cli.main import app as cli

    chain(gov, 5)
    url, anchors = str(gov.engine.url), tmp_path / "anchors.txt"
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "anchor", str(anchors), "--database-url", url]
                         ).exit_code == 0
    assert anchors.read_text().startswith("5 ")
    ok = runner.invoke(cli, ["audit", "verify", "--anchors", str(anchors), "--database-url", url])
    assert ok.exit_code == 0, ok.output
    with gov.engine.begin() as conn:  # cut back: the chain of rows 1-3 is still a chain
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 4))
        assert audit.verify(conn).ok
        verdict = audit.verify(conn, audit.parse_anchors(anchors.read_text()))
    assert not verdict.ok and "cut back to 3 rows" in (verdict.problem or "")
    with gov.engine.begin() as conn:  # rewritten whole: a fresh, self-consistent chain
        conn.execute(text("DELETE FROM audit_log"))
    chain(gov, 6)
    with gov.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        for i in range(6):
            audit.append(conn, actor="forger", action="config.change", subject=f"t/{i}",
                         now=FIXED_NOW, before=None, after=None, reason=None)
    cut = runner.invoke(cli, ["audit", "verify", "--anchors", str(anchors), "--database-url",
                              url])
    assert cut.exit_code == 1 and "row 5 differs from its anchor" in cut.output
