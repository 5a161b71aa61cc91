"""The broker ingress named by a URL's scheme (SYNCLINE_BROKER_URL): nats://, amqp://
(amqps://), kafka://. Each broker's module is imported only when chosen."""

from __future__ import annotations

from typing import Any

from syncline.bootstrap import Syncline
from syncline.ingress.base import BrokerIngress

SCHEMES = {"nats": "nats", "tls": "nats", "amqp": "rabbit", "amqps": "rabbit",
           "kafka": "kafka"}


class UnknownBroker(ValueError):
    pass


def broker_kind(url: str) -> str:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise UnknownBroker(
            f"broker URL {url!r}: the scheme must be one of nats://, amqp://, amqps://, "
            "kafka://")
    return SCHEMES[scheme]


def ingress_for(system: Syncline, url: str, **options: Any) -> BrokerIngress:
    """The ingress for ``url``; options the broker does not take (``stream``, ``ack_wait``
    are NATS's) are dropped."""
    kind = broker_kind(url)
    if kind == "nats":
        from syncline.ingress.jetstream import NatsIngress
        return NatsIngress(system, url=url, **options)
    options.pop("stream", None)
    options.pop("ack_wait", None)
    if kind == "rabbit":
        from syncline.ingress.rabbit import RabbitIngress
        return RabbitIngress(system, url=url, **options)
    from syncline.ingress.kafka import KafkaIngress
    return KafkaIngress(system, url=url, **options)
