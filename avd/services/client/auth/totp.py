"""TOTP second factor (pyotp), its QR code (segno) and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time

import pyotp
import segno

DIGITS = 6
INTERVAL = 30
RECOVERY_CODES = 10


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_png(uri: str) -> bytes:
    """The QR code of ``uri`` as PNG bytes."""
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


def matching_step(
    secret: str, code: str, *, last_step: int | None, now: float | None = None
) -> int | None:
    """The time step ``code`` is valid for (±1 step of drift), or ``None``.

    A step at or before ``last_step`` is refused, so a code works only once.
    """
    if len(code) != DIGITS or not code.isdigit():
        return None
    t = time.time() if now is None else now
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    step = int(t // INTERVAL)
    for s in (step - 1, step, step + 1):
        if last_step is not None and s <= last_step:
            continue
        if hmac.compare_digest(totp.at(s * INTERVAL), code):
            return s
    return None


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """``n`` one-time codes like ``k3f9-x2pq-7hma`` (60 bits each)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        for _ in range(n)
    ]


def hash_recovery_code(code: str) -> str:
    """SHA-256 of the normalized code (codes are random, so no salt is needed)."""
    normalized = code.strip().lower().replace(" ", "")
    return hashlib.sha256(normalized.encode()).hexdigest()
