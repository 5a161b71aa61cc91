"""Governance: who may do what, and a tamper-evident record of what they did. A *principal*
(an API key stored hashed, one of the compatibility keys of ``SYNCLINE_API_KEYS``, or the
locally configured CLI principal) carries roles (``roles``); every entry point declares the
roles it needs and passes the principal's name to the services as the actor, never a name
the caller typed. Finance-sensitive requests (manual adjustments, credit requests, hard-cap
releases) are made by one principal and approved by another (``approvals``), and every human
action and configuration change is appended to a hash-chained audit log (``audit``) that
``syncline audit verify`` recomputes. See docs/governance.md.
"""
