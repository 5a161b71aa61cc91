"""Optional OIDC bearer tokens: a JWT from the firm's identity provider is a principal.

Configured by ``SYNCLINE_OIDC_ISSUER`` (required to turn it on), ``SYNCLINE_OIDC_AUDIENCE``
(required with it), ``SYNCLINE_OIDC_JWKS_URL`` (default ``<issuer>/.well-known/jwks.json``),
``SYNCLINE_OIDC_ROLES_CLAIM`` (default ``roles``: a list, or a space- or comma-separated
string) and ``SYNCLINE_OIDC_NAME_CLAIM`` (default ``sub``; e.g. ``email``). Validation is
PyJWT's: the signature against the issuer's JWKS (keys cached, refetched for an unknown
``kid``), asymmetric algorithms only (RS256/384/512, PS256, ES256/384, EdDSA — never ``none``
or an HMAC that a public key could forge), ``iss``, ``aud`` and ``exp`` required (30 s leeway).
The principal is ``oidc:<name claim>`` with the roles of the roles claim that Syncline knows
(others are ignored); a token without any is refused like an invalid one.
"""

from __future__ import annotations

from typing import Any

from syncline.services.governance.roles import ROLES, Principal

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class OidcVerifier:
    def __init__(self, *, issuer: str, audience: str, jwks_url: str | None = None,
                 roles_claim: str = "roles", name_claim: str = "sub") -> None:
        import jwt

        if not audience:
            raise ValueError("SYNCLINE_OIDC_AUDIENCE is required with SYNCLINE_OIDC_ISSUER")
        self.issuer, self.audience = issuer, audience
        self.roles_claim, self.name_claim = roles_claim, name_claim
        self._jwks = jwt.PyJWKClient(
            jwks_url or issuer.rstrip("/") + "/.well-known/jwks.json", cache_keys=True,
            lifespan=300, timeout=10)

    def principal(self, token: str) -> Principal | None:
        """The token's principal, or None when it is not valid (any reason)."""
        import jwt

        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=ALGORITHMS, audience=self.audience,
                issuer=self.issuer, leeway=30,
                options={"require": ["exp", "iss", "aud", self.name_claim]})
        except (jwt.PyJWTError, ValueError):
            return None
        raw = claims.get(self.roles_claim, [])
        items = raw.replace(",", " ").split() if isinstance(raw, str) else (
            [str(r) for r in raw] if isinstance(raw, list) else [])
        roles = frozenset(r.lower() for r in items) & set(ROLES)
        name = str(claims.get(self.name_claim) or "")
        if not roles or not name:
            return None
        return Principal(f"oidc:{name}", roles, via="oidc")

