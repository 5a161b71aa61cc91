"""Broker ingress: CloudEvents from a message broker into the inbox (DESIGN.md §5.1, §11).

An entry point like the API: it receives and stores, the processor workers apply. Each batch
the broker hands over is stored with `receive_many` in one transaction and acknowledged only
after that transaction commits, so a crash anywhere before the acknowledgement makes the
broker deliver the batch again, and a redelivered message is a duplicate that changes nothing
(unique on source and id). A bad message is stored rejected, with its reason, and
acknowledged: kept for a person, never redelivered for ever.

`cloudevents` maps a broker message (body and headers) to a CloudEvent; `nats` is the NATS
JetStream consumer (FastStream). Kafka and RabbitMQ are FastStream brokers too: the same
`store` and mapping, with their broker class and its acknowledgement (docs/scale-out.md).
"""
