"""Google sign-in: verify the ID token a desktop obtained (OpenID Connect Core §3.1.3.7) against the issuer's keys.

The desktop runs the authorization-code flow with PKCE in the user's browser and sends us the ID token; we trust it
only after checking its signature against the issuer's published JWKS and its claims: ``iss``, ``aud`` (our client
id), ``exp``/``iat`` with a small leeway, and the ``nonce`` the desktop generated for this sign-in. The JWKS is
fetched once, kept for as long as the issuer's ``Cache-Control`` says, and fetched again when a token names a key id
we do not know (the issuer rotated its keys) — at most once every half minute for unknown ids, so forged tokens
cannot make us hammer the issuer.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from server.lib.exceptions import NotAuthenticated, PermissionDenied, ServiceUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import GoogleSettings

__all__ = ["GoogleIdentity", "GoogleVerifier", "InvalidIdToken"]

logger = structlog.get_logger(__name__)

LEEWAY_S = 60  # clock skew tolerated on exp/iat
MAX_TOKEN_BYTES = 4096  # Google's ID tokens are ~1 KB
UNKNOWN_KID_REFETCH_S = 30.0
DEFAULT_JWKS_TTL_S = 3600.0
MAX_JWKS_TTL_S = 24 * 3600.0
FETCH_TIMEOUT_S = 10.0
_MAX_AGE = re.compile(r"max-age=(\d+)")
# Google's own tokens may name the issuer without the scheme (OpenID Connect on Google, "iss" claim).
_GOOGLE_ISSUERS = {"https://accounts.google.com": ("https://accounts.google.com", "accounts.google.com")}


class InvalidIdToken(NotAuthenticated):
    """401 ``invalid_id_token``: forged, expired, meant for another client, or already used."""

    default_code = "invalid_id_token"
    title = "Invalid ID token"


@dataclass(frozen=True, slots=True)
class GoogleIdentity:
    """What we take from a verified ID token, and nothing else: the stable subject id, the e-mail and the name."""

    subject: str
    email: str
    name: str
    expires_at: int  # the token's ``exp``: its nonce is remembered until then


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Google sign-in is unavailable right now; try again in a moment or sign in with your password.",
        code="google_unavailable",
        headers={"Retry-After": "30"},
    )


class GoogleVerifier:
    """Checks ID tokens for one client id; one per process (the JWKS cache lives here)."""

    def __init__(self, settings: GoogleSettings, *, now: Callable[[], float] = time.time) -> None:
        assert settings.client_id is not None  # built only when Google sign-in is enabled
        self.client_id = settings.client_id
        self.issuer = settings.issuer
        self._now = now
        self._lock = asyncio.Lock()
        self._jwks_uri: str | None = None
        self._keys: KeySet | None = None
        self._keys_until = 0.0
        self._last_unknown_kid_fetch = float("-inf")

    async def verify(self, id_token: str, nonce: str) -> GoogleIdentity:
        """The identity an authentic, current ID token for our client and this ``nonce`` names.

        Raises:
            InvalidIdToken: anything wrong with the token (the reason is logged, not told).
            PermissionDenied: ``email_unverified`` when Google has not verified the address.
            ServiceUnavailable: ``google_unavailable`` when the issuer's keys cannot be fetched.
        """
        if not id_token or len(id_token) > MAX_TOKEN_BYTES or not nonce:
            raise InvalidIdToken("This Google sign-in is not valid; please try again.")
        claims = await self._verified_claims(id_token)
        self._check_claims(claims, nonce)
        if claims.get("email_verified") not in (True, "true"):
            raise PermissionDenied(
                "Google has not verified this e-mail address, so it cannot sign in to Tech Pal.",
                code="email_unverified",
            )
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise InvalidIdToken("This Google account shares no e-mail address; please try again.")
        name = claims.get("name")
        if not isinstance(name, str) or not name.strip():
            name = email.partition("@")[0]
        return GoogleIdentity(subject=str(claims["sub"]), email=email, name=name, expires_at=int(claims["exp"]))

    async def _verified_claims(self, id_token: str) -> dict[str, Any]:
        keys = await self._key_set(refresh=False)
        try:
            try:
                token = jwt.decode(id_token, keys, algorithms=["RS256"])
            except InvalidKeyIdError:
                keys = await self._key_set(refresh=True)
                token = jwt.decode(id_token, keys, algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            logger.info("id_token_refused", reason=type(exc).__name__)
            raise InvalidIdToken("This Google sign-in is not valid; please try again.") from None
        return token.claims

    def _check_claims(self, claims: dict[str, Any], nonce: str) -> None:
        issuers = _GOOGLE_ISSUERS.get(self.issuer, (self.issuer,))
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._now()),
            leeway=LEEWAY_S,
            iss={"essential": True, "values": list(issuers)},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
            if isinstance(claims.get("aud"), list) and claims.get("azp") != self.client_id:
                raise InvalidIdToken("an audience list without us as the authorized party")
        except (JoseError, InvalidIdToken) as exc:
            logger.info("id_token_refused", reason=type(exc).__name__, claim=getattr(exc, "claim", None))
            raise InvalidIdToken("This Google sign-in is not valid; please try again.") from None

    async def _key_set(self, *, refresh: bool) -> KeySet:
        async with self._lock:
            now = self._now()
            if refresh:
                if now - self._last_unknown_kid_fetch < UNKNOWN_KID_REFETCH_S and self._keys is not None:
                    return self._keys  # fetched a moment ago (perhaps for this very rotation): look there again
                self._last_unknown_kid_fetch = now
            elif self._keys is not None and now < self._keys_until:
                return self._keys
            self._keys, ttl = await self._fetch_keys()
            self._keys_until = now + ttl
            return self._keys

    async def _fetch_keys(self) -> tuple[KeySet, float]:
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S) as http:
                if self._jwks_uri is None:
                    self._jwks_uri = await self._discover(http)
                answer = await http.get(self._jwks_uri)
                answer.raise_for_status()
                keys = KeySet.import_key_set(answer.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            logger.warning("google_keys_unavailable", error=type(exc).__name__)
            raise _unavailable() from None
        match = _MAX_AGE.search(answer.headers.get("cache-control", ""))
        ttl = min(float(match.group(1)), MAX_JWKS_TTL_S) if match else DEFAULT_JWKS_TTL_S
        logger.info("google_keys_fetched", keys=len(keys.keys), ttl_s=ttl)
        return keys, ttl

    async def _discover(self, http: httpx.AsyncClient) -> str:
        answer = await http.get(f"{self.issuer}/.well-known/openid-configuration")
        answer.raise_for_status()
        document = answer.json()
        if document.get("issuer") != self.issuer or not isinstance(document.get("jwks_uri"), str):
            raise ValueError("the discovery document names another issuer or no jwks_uri")
        return str(document["jwks_uri"])
