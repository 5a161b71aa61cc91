"""What every ERP target shares (issue 13): exactly-once posting, per-entity routing, the
mapping of Syncline's accounts, tax codes, dimensions and customers to the vendor's ids.

A vendor package (``connectors/netsuite``, ``quickbooks``, ``xero``) supplies an
``ErpTarget`` subclass with ``post`` (send one document, return the vendor's id) and
``find`` (look a document up by its external id); ``ErpTarget.deliver`` adds the rule that
makes a document arrive once: when a send fails in a way the vendor may still have accepted
(a timeout, a dropped connection, a 5xx), the document is looked up by its external id
before anything is sent again.
"""
