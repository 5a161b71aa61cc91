"""The connector SDK: what every vendor connector is built from.

- ``http``: ``VendorClient`` (auth, bounded retries, 429/Retry-After, typed errors);
- ``auth``: static headers, Basic, OAuth 2.0 with refresh and rotation; ``secrets``;
- ``paging``: next links, opaque cursor tokens, limit/offset;
- ``base``: ``Stream`` → ``Batch`` (events, refusals, cursor), ``Connector``, webhooks;
- ``events``: canonical envelopes with stable ids and vendor-time sequences;
- ``signatures``: webhook HMAC verification on the raw body, timestamp windows;
- ``config``: the per-firm YAML.

Shapes learnt from Meltano's singer-sdk (streams, paginators, authenticators, bookmarks) and
Airbyte's CDK (declarative requesters, error handlers); see docs/connectors.md.
"""
