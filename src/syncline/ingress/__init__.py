"""Broker ingress: CloudEvents from a message broker into the inbox (DESIGN.md §5.1, §11).

An entry point like the API: it receives and stores, the processor workers apply. Each batch
the broker hands over is stored with `receive_many` in one transaction and acknowledged only
after that transaction commits, so a crash anywhere before the acknowledgement makes the
broker deliver the batch again, and a redelivered message is a duplicate that changes nothing
(unique on source and id). A bad message is stored rejected, with its reason, and
acknowledged: kept for a person, never redelivered for ever.

`base` is the one handler every broker shares (store the batch, then acknowledge);
`cloudevents` maps a broker message (body and headers, per the broker's CloudEvents binding)
to a CloudEvent; `jetstream` (NATS JetStream), `rabbit` (RabbitMQ) and `kafka` are the
FastStream consumers, each saying only how it subscribes and reads its messages; `select`
picks one by the URL's scheme (SYNCLINE_BROKER_URL: nats://, amqp://, kafka://).
"""
