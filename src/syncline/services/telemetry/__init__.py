"""Operations telemetry: Prometheus instruments (``metrics``), the scrape of stored state and
KPIs (``scrape``), JSON logs (``logs``) and traces (``traces``). docs/operations.md."""
