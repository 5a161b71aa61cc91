"""One typed settings object, read only at the edge (environment variables `SYNCLINE_*`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNCLINE_", extra="ignore")

    database_url: str = "sqlite:///./var/syncline.db"
    dbos_system_url: str | None = None  # default: beside the database (SQLite) or the same PG
    api_keys: str = ""  # comma-separated; `syncline serve` makes one when empty
    # roles of the SYNCLINE_API_KEYS keys (compatibility keys; `syncline keys create` makes
    # named, hashed, expiring ones): integration by default — post events and read
    api_key_roles: str = "integration"
    # who the local CLI acts as (recorded as the actor) and its roles; default cli:<OS user>
    # with every role but auditor (whoever runs the CLI holds the database URL anyway)
    cli_principal: str = ""
    cli_roles: str = "integration,billing,pmo,finance,controller,admin"
    # maker-checker: adjustments, credits and hard-cap releases whose absolute amount is at
    # least this need a second principal's approval; 0 (default) = always
    approval_threshold: Decimal = Decimal(0)
    # optional OIDC bearer tokens (services/governance/oidc.py): on when an issuer is set
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""  # default <issuer>/.well-known/jwks.json
    oidc_roles_claim: str = "roles"
    oidc_name_claim: str = "sub"
    # per-principal API rate limit (api/limits.py): a `limits` expression; "off" disables
    rate_limit: str = "6000/minute"
    rate_limit_storage: str = "memory://"  # or redis://host:6379 to share across processes
    park_max_age_hours: int = 72
    # the least level serve and worker log (services/telemetry/logs.py): DEBUG, INFO (each
    # request and applied message), WARNING (only what went wrong), ERROR or CRITICAL
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    batch_size: int = 1000
    # SQLite, an applying worker beside the API: milliseconds a batch applies before it ends
    # early for a request waiting for the write lock (services/messaging/drain.py); lower:
    # shorter waits for requests, more batches (each with a fixed cost) for the worker
    yield_after_ms: float = 5.0
    # "engine" (default): an invoice's release credits contract liability and revenue comes
    # from the revenue engine's schedules; "on_invoice": the release credits revenue.
    revenue_recognition: Literal["engine", "on_invoice"] = "engine"
    # YAML file of charts of accounts per entity, posting rules and period/FX policies
    # (config/chart-of-accounts.example.yaml); none = the default template for every entity
    ledger_config: str | None = None
    # YAML file of the firm's master data: legal entities, tax profiles, roles and rates,
    # dimensions, WBS templates (config/master-data.example.yaml, docs/master-data.md); it
    # seeds the master data until the API or `syncline master-data load` stores a version;
    # none = the built-in demo firm
    master_data: str | None = None
    # broker ingress (`syncline ingest-broker`, docs/scale-out.md): the scheme chooses the
    # broker — nats:// (JetStream), amqp:// or amqps:// (RabbitMQ), kafka://host:9092[,host…]
    broker_url: str = "nats://127.0.0.1:4222"
    broker_topic: str = "syncline.events"  # NATS subject, RabbitMQ queue, Kafka topic
    broker_group: str = "syncline-ingress"  # NATS durable consumer, Kafka consumer group
    # the DBOS application version of this deployment (docs/operations.md, "Deploying"): a
    # process recovers only the interrupted workflows of its own version; empty = the
    # package's, syncline-<version>
    app_version: str = ""
    # YAML file of the firm's connectors (docs/connectors.md); none = no connectors
    connectors_config: str | None = None

    def workflow_db_url(self) -> str:
        if self.dbos_system_url:
            return self.dbos_system_url
        url = make_url(self.database_url)
        if url.drivername.startswith("sqlite"):
            db = url.database or "syncline.db"
            if db == ":memory:":
                return "sqlite:///./var/syncline-dbos.sqlite"
            base = db[:-3] if db.endswith(".db") else db
            return f"sqlite:///{base}-dbos.sqlite"
        return url.render_as_string(hide_password=False)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    def workflow_version(self) -> str:
        if self.app_version.strip():
            return self.app_version.strip()
        from syncline import __version__

        return f"syncline-{__version__}"

    def keys(self) -> set[str]:
        return {k.strip() for k in self.api_keys.split(",") if k.strip()}
