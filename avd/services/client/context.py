"""What the parts of the Client service share: settings, database, keys and hashers."""

from __future__ import annotations

from dataclasses import dataclass

from avd.services.client.auth.keyring import KeyRing
from avd.services.client.auth.passwords import Passwords
from avd.services.client.auth.tokens import Tokens
from avd.services.client.settings import ClientSettings
from avd.store.database import Database
from avd.store.models import User


@dataclass
class Context:
    """The Client service's shared state; ``keyring`` changes after a re-encryption."""

    settings: ClientSettings
    db: Database
    tokens: Tokens
    keyring: KeyRing
    passwords: Passwords

    def totp_secret(self, user: User) -> str:
        """The decrypted TOTP secret of ``user`` (who has one)."""
        assert user.totp_secret is not None
        return self.keyring.decrypt(user.totp_secret)
