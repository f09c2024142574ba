"""Refusals: the one exception tree of the services, under :class:`~avd.exceptions.AvdError`.

A service refuses with the rule it applied and the numbers behind it, never
with an HTTP status: the kind of refusal (its class) is what the API edge
maps to a status, in one table (:data:`avd.web.errors.STATUS_OF`).

==================  =======  ===========================================
class               status   when
==================  =======  ===========================================
InvalidRequest      422      the request breaks a rule (a size, a side)
Unauthorized        401      no valid credentials
Forbidden           403      authenticated, not allowed (role, blocked)
NotFound            404      no such thing for this caller
Conflict            409      the state does not allow it now
PaymentRequired     402      the prepaid balance is exhausted
Locked              423      locked after repeated failures (``retry_after_s``)
TooManyRequests     429      rate-limited (``retry_after_s``)
UpstreamFailed      502      the exchange refused or failed unexpectedly
Unavailable         503      a service or the exchange cannot be reached
==================  =======  ===========================================
"""

from __future__ import annotations

from avd.exceptions import AvdError


class Refusal(AvdError):  # noqa: N818 - the domain name
    """A refused request: the rule, a sentence for people, and the numbers behind it."""

    def __init__(self, rule: str, detail: str, **numbers: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
        self.numbers = numbers


class InvalidRequest(Refusal):
    """The request breaks a rule (a size, a side, a filter)."""


class Unauthorized(Refusal):
    """No valid credentials."""


class Forbidden(Refusal):
    """Authenticated, but not allowed."""


class NotFound(Refusal):
    """No such thing for this caller (another client's trade is not found either)."""


class Conflict(Refusal):
    """The current state does not allow it (not open, already held, positions open)."""


class PaymentRequired(Refusal):
    """The prepaid platform balance is exhausted."""


class Locked(Refusal):
    """Locked after repeated failures; unlocked after ``retry_after_s``."""

    def __init__(self, rule: str, detail: str, *, retry_after_s: int = 1, **numbers: str) -> None:
        super().__init__(rule, detail, **numbers)
        self.retry_after_s = retry_after_s


class TooManyRequests(Refusal):
    """Rate-limited; try again after ``retry_after_s``."""

    def __init__(self, rule: str, detail: str, *, retry_after_s: int = 1, **numbers: str) -> None:
        super().__init__(rule, detail, **numbers)
        self.retry_after_s = retry_after_s


class UpstreamFailed(Refusal):
    """The exchange refused or failed in a way the request could not foresee."""


class Unavailable(Refusal):
    """A service or the exchange cannot be reached now (``service`` names it)."""

    def __init__(self, rule: str, detail: str, *, service: str = "", **numbers: str) -> None:
        super().__init__(rule, detail, **numbers)
        self.service = service
