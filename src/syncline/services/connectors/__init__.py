"""Connector state: cursors and the webhook log (the I/O side of ``connectors/``).

A sync (``connectors/runs.py``) stores each batch a stream reads and the stream's cursor in
one transaction (``cursors.advance``), so a cursor never passes a record that was not stored;
webhooks are kept raw, verified or refused (``webhooks.record``).
"""
