"""``/login``, ``/register`` and ``/logout``."""

from __future__ import annotations

import contextlib

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.state import shared


def _card(title: str) -> ui.card:
    ui.page_title(f"{title} · AVD")
    with ui.column().classes("w-full items-center p-8"):
        card = ui.card().classes("w-96 gap-3")
    with card:
        ui.label("AVD").classes("text-3xl font-bold")
        ui.label(title).classes("text-lg")
    return card


async def login_page() -> None:
    """Email and password; a Code field (or a recovery code) once the account asks for it."""
    session = sessions.current()
    if session.logged_in:
        ui.navigate.to("/admin" if session.is_admin else "/")
        return
    with _card("Log in"):
        email = ui.input("Email").props("autofocus autocomplete=username").classes("w-full")
        password = (
            ui.input("Password", password=True)
            .props("autocomplete=current-password")
            .classes("w-full")
        )
        code = (
            ui.input("Code")
            .props("autocomplete=one-time-code inputmode=numeric")
            .classes("w-full")
            .mark("login-code")
        )
        use_recovery = ui.checkbox(
            "Use a recovery code instead",
            # recovery codes have letters: no digits-only keyboard on phones for them
            on_change=lambda e: code.props(
                remove="inputmode" if e.value else None,
                add=None if e.value else "inputmode=numeric",
            ),
        ).mark("login-use-recovery")
        code.set_visibility(False)
        use_recovery.set_visibility(False)
        error = ui.label().classes("text-red-600")
        error.set_visibility(False)

        async def submit() -> None:
            body: dict[str, str] = {"email": email.value.strip(), "password": password.value}
            if code.visible and code.value.strip():
                key = "recovery_code" if use_recovery.value else "totp"
                body[key] = code.value.strip()
            try:
                pair = await shared().api.anonymous(
                    "POST", "client", "/auth/login", body, address=session.address
                )
                await sessions.log_in(session, pair)
            except ServiceError as e:
                if e.error == "totp_required":
                    code.set_visibility(True)
                    use_recovery.set_visibility(True)
                    code.run_method("focus")
                    error.text = "Enter the code from your authenticator app."
                else:
                    error.text = _why(e)
                error.set_visibility(True)
                return
            ui.navigate.to("/admin" if session.is_admin else "/")

        password.on("keydown.enter", submit)
        code.on("keydown.enter", submit)
        ui.button("Log in", on_click=submit).classes("w-full")
        if await _registration_open():
            ui.link("No account yet? Register", "/register").mark("register-link")


def _why(e: ServiceError) -> str:
    """The login refusal in the user's words (a lock or a rate limit says for how long)."""
    if e.retry_after_s is not None:
        minutes, seconds = divmod(e.retry_after_s, 60)
        wait = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        return f"{e.detail} (try again in {wait})"
    return e.detail or "invalid email or password"


async def _registration_open() -> bool:
    """Whether the Client service takes registrations (``True`` if it cannot say)."""
    try:
        answer = await shared().api.anonymous("GET", "client", "/auth/registration")
    except ServiceError:
        return True  # the form will show the service's own refusal
    return bool(answer.get("open", True))


async def register_page() -> None:
    """Create a client account, then log in."""
    if not await _registration_open():
        with _card("Register"):
            ui.label("Registration is closed: ask the platform's administrator.").mark(
                "registration-closed"
            )
            ui.link("Log in", "/login")
        return
    with _card("Register"):
        email = ui.input("Email").props("autocomplete=username").classes("w-full")
        password = (
            ui.input("Password", password=True).props("autocomplete=new-password").classes("w-full")
        )
        error = ui.label().classes("text-red-600")
        error.set_visibility(False)

        async def submit() -> None:
            body = {"email": email.value.strip(), "password": password.value}
            api = shared().api
            session = sessions.current()
            where = session.address
            try:
                await api.anonymous("POST", "client", "/auth/register", body, address=where)
                pair = await api.anonymous("POST", "client", "/auth/login", body, address=where)
                await sessions.log_in(session, pair)
            except ServiceError as e:
                error.text = e.detail
                error.set_visibility(True)
                return
            ui.navigate.to("/")

        password.on("keydown.enter", submit)
        ui.button("Register", on_click=submit).classes("w-full")
        ui.link("Already registered? Log in", "/login")


async def logout_page() -> None:
    """Revoke the tokens, forget them, back to ``/login``."""
    with contextlib.suppress(ServiceError):  # already revoked or expired: forgotten either way
        await sessions.log_out(sessions.current())
    ui.navigate.to("/login")
