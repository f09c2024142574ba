"""What the parts of the Client service share: settings, database, keys and hashers."""

from __future__ import annotations

from dataclasses import dataclass

from avd.domain.bus import EventBus
from avd.domain.events import ClientChanged
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
    #: where the client changes go (the process's hub; set by the runtime), else nowhere
    bus: EventBus | None = None

    async def changed(self, client_id: int, change: str) -> None:
        """Tell the other services a client's trading changed (after the commit)."""
        if self.bus is not None:
            await self.bus.publish(ClientChanged(client_id=client_id, change=change))

    def totp_secret(self, user: User) -> str:
        """The decrypted TOTP secret of ``user`` (who has one)."""
        assert user.totp_secret is not None
        return self.keyring.decrypt(user.totp_secret)
