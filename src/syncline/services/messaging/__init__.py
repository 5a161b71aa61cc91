"""Nothing lost, nothing twice: messages in and commands out.

Owns the raw inbox (`inbox`: every message stored before anything else, validated, duplicates
acknowledged), applying it (`processor`: batches, savepoints per message, set-based time,
sequencing, parking and release; on PostgreSQL several workers at once, under `leases`), the
unit of work handed to handlers (`unit_of_work`), their `outcomes`, outbox rows (`outbox`),
the exception queue with its audited actions (`exceptions`) and the steps that deliver the
outbox to targets (`delivery`; the durable workflows that drive them live in
`syncline.workflows`).
"""
