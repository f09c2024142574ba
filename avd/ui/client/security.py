"""``/security``: two-factor authentication (enrolment with its QR code, recovery codes, off).

Enrolment follows the Client service: ``POST /auth/2fa/enroll`` starts it
(a new secret, not yet active), the QR code is fetched as the user
(``GET /auth/2fa/qr.png``) and shown inline, and a first code from the
authenticator app (``POST /auth/2fa/verify``) switches 2FA on and returns
the recovery codes, shown once (with a download) and never again.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlparse

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.layout import frame, refusal
from avd.ui.session import Session

RECOVERY_FILE = "avd-recovery-codes.txt"


def otpauth_secret(uri: str) -> str:
    """The base32 secret of an ``otpauth://`` URI (to type it in by hand)."""
    return parse_qs(urlparse(uri).query).get("secret", [""])[0]


def grouped(secret: str) -> str:
    """A secret in groups of four, easier to type."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class SecurityPage:
    """The page's states: off, enrolling, on (with the codes just issued, once)."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.codes: list[str] = []

    def build(self) -> None:
        """Lay the page out (its body follows the account's state)."""
        with ui.card().classes("w-full max-w-3xl gap-3").mark("two-factor"):
            with ui.row().classes("items-center gap-2"):
                ui.icon("shield").classes("text-2xl")
                ui.label("Two-factor authentication").classes("text-lg font-semibold")
                self.state = ui.badge("").mark("totp-state")
            ui.label(
                "With 2FA on, logging in also asks for a 6-digit code from an authenticator app "
                "(Google Authenticator, Aegis, 1Password...) or one of your recovery codes."
            ).classes("text-sm text-slate-500")
            self.error = ui.label().classes("text-red-600").mark("security-error")
            self.body = ui.column().classes("w-full gap-3")
        with ui.dialog() as self.renew_dialog, ui.card().classes("w-96 gap-3"):
            ui.label("New recovery codes?").classes("text-lg font-semibold")
            ui.label("Your current recovery codes stop working at once.")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.renew_dialog.close).props("flat")
                ui.button("Replace them", on_click=self.renew).mark("codes-renew-confirm")

    async def load(self) -> None:
        """Read whether 2FA is on, and show what can be done."""
        try:
            me = await self.s.get("client", "/client/me")
        except ServiceError as e:
            self.error.text = e.message
            return
        self.s.user.update(me)
        self.show(bool(me["totp_enabled"]))

    def show(self, on: bool) -> None:
        """Show the state ``on`` (with the fresh recovery codes, if any were just issued)."""
        self.error.text = ""
        self.state.text = "on" if on else "off"
        self.state.props(f"color={'green' if on else 'grey'}")
        self.body.clear()
        with self.body:
            if self.codes:
                self._recovery_codes()
            if on:
                self._when_on()
            else:
                ui.button("Turn on 2FA", icon="qr_code_2", on_click=self.enroll).mark("totp-enroll")

    # --- enrolment -----------------------------------------------------------------------

    async def enroll(self) -> None:
        """Start enrolment and show the QR code, the secret and the code field."""
        try:
            started = await self.s.post("client", "/auth/2fa/enroll")
        except ServiceError as e:
            refusal(e)
            return
        uri = str(started["otpauth_uri"])
        try:
            png = await sessions.api().raw(self.s, "client", "/auth/2fa/qr.png")
            qr = base64.b64encode(png).decode()
        except ServiceError:
            qr = str(started["qr_png_base64"])  # the enrolment's own copy of the same code
        self.body.clear()
        with self.body:
            ui.label("1. Scan this QR code with your authenticator app").classes("font-semibold")
            ui.image(f"data:image/png;base64,{qr}").classes("w-56 h-56").mark("totp-qr")
            ui.label("or type this key in by hand:").classes("text-sm")
            secret = otpauth_secret(uri)
            ui.label(grouped(secret)).classes("font-mono text-lg select-all").mark("totp-secret")
            with ui.expansion("otpauth URI").classes("w-full text-sm"):
                ui.label(uri).classes("font-mono text-xs break-all select-all").mark("totp-uri")
            ui.label("2. Enter the 6-digit code the app shows").classes("font-semibold")
            with ui.row().classes("items-start gap-2"):
                code = (
                    ui.input("Code")
                    .props("autocomplete=one-time-code inputmode=numeric maxlength=8")
                    .mark("totp-code")
                )
                verify = ui.button("Verify and turn on", on_click=lambda: self.verify(code))
                verify.mark("totp-verify")
            code.on("keydown.enter", lambda: self.verify(code))
            ui.button("Cancel", on_click=self.load).props("flat")

    async def verify(self, code: ui.input) -> None:
        """Switch 2FA on with the first code; keep the recovery codes to show once."""
        code.error = None
        try:
            got = await self.s.post(
                "client", "/auth/2fa/verify", {"code": (code.value or "").strip()}
            )
        except ServiceError as e:
            code.error = e.detail
            return
        self.codes = list(got["recovery_codes"])
        self.s.user["totp_enabled"] = True
        ui.notify("Two-factor authentication is on.", type="positive")
        self.show(True)

    # --- while on ------------------------------------------------------------------------

    def _recovery_codes(self) -> None:
        with ui.card().classes("w-full bg-amber-50 gap-2").mark("recovery-codes"):
            ui.label("Your recovery codes: save them now").classes("font-semibold")
            ui.label(
                "Each one logs you in once if you lose your authenticator. They are shown only "
                "this once."
            ).classes("text-sm")
            with ui.grid(columns=2).classes("font-mono gap-x-8"):
                for c in self.codes:
                    ui.label(c).mark("recovery-code")
            text = (
                "AVD recovery codes (each works once)\n" + "\n".join(self.codes) + "\n"
            ).encode()
            with ui.row().classes("gap-2"):
                ui.button(
                    "Download",
                    icon="download",
                    on_click=lambda: ui.download.content(text, RECOVERY_FILE, "text/plain"),
                ).mark("codes-download")
                ui.button("I have saved them", on_click=self._forget_codes).props("flat").mark(
                    "codes-saved"
                )

    def _forget_codes(self) -> None:
        self.codes = []
        self.show(True)

    def _when_on(self) -> None:
        ui.button("New recovery codes", icon="autorenew", on_click=self.renew_dialog.open).props(
            "outline"
        ).mark("codes-renew")
        with (
            ui.expansion("Turn off 2FA", icon="no_encryption")
            .classes("w-full")
            .mark("totp-off-section")
        ):
            ui.label("Give your password and a current code (or a recovery code).").classes(
                "text-sm"
            )
            password = (
                ui.input("Password", password=True)
                .props("autocomplete=current-password")
                .mark("off-password")
            )
            code = (
                ui.input("Code or recovery code")
                .props("autocomplete=one-time-code")
                .mark("off-code")
            )
            ui.button("Turn off 2FA", on_click=lambda: self.disable(password, code)).props(
                "color=negative"
            ).mark("totp-disable")

    async def renew(self) -> None:
        """Replace the recovery codes and show the new ones once."""
        self.renew_dialog.close()
        try:
            got = await self.s.post("client", "/auth/2fa/recovery-codes")
        except ServiceError as e:
            refusal(e)
            return
        self.codes = list(got["recovery_codes"])
        ui.notify("New recovery codes: the old ones no longer work.", type="positive")
        self.show(True)

    async def disable(self, password: ui.input, code: ui.input) -> None:
        """Switch 2FA off (the service checks the password and the code)."""
        password.error = code.error = None
        body: dict[str, Any] = {
            "password": password.value or "",
            "code": (code.value or "").strip(),
        }
        try:
            await self.s.post("client", "/auth/2fa/disable", body)
        except ServiceError as e:
            if e.error == "unauthorized" or "password" in e.detail:
                password.error = e.detail
            elif e.status == 422 and e.detail.startswith("password: "):
                password.error = e.detail.removeprefix("password: ")
            else:
                code.error = e.detail.removeprefix("code: ")
            return
        self.codes = []
        self.s.user["totp_enabled"] = False
        ui.notify("Two-factor authentication is off.")
        self.show(False)


async def security_page() -> None:
    """Two-factor authentication: turn it on (QR code), recovery codes, turn it off."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "Security"):
        page = SecurityPage(s)
        page.build()
    await page.load()
