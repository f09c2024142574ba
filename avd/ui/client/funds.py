"""``/funds``: the prepaid platform-fee balance, deposits, the ledger; the trading account.

Two different kinds of money, kept apart on the page as in the domain: the
**prepaid balance** (Client service) pays the platform's fees and gates
trading; the **trading account** (Trade engine: the paper account, or the
Binance account live) is the capital trades are sized against.
"""

from __future__ import annotations

import uuid
from typing import Any

from nicegui import ui

from avd.ui import session as sessions
from avd.ui.api import ServiceError
from avd.ui.client.account import TradingAccount
from avd.ui.layout import frame, money, refusal
from avd.ui.live import follow_trades
from avd.ui.session import Session

#: operations of the ledger read at once (the newest first)
LEDGER_LIMIT = 500
#: seconds between refreshes of what has no event (a pending deposit settled by an admin)
FALLBACK_REFRESH_S = 15.0
#: the payment simulator's outcomes, as the deposit form offers them
OUTCOMES = {
    "success": "Succeeds",
    "pending": "Stays pending",
    "failure": "Is declined",
}
#: the ledger's operation types in the user's words
KINDS = {
    "deposit": "Deposit",
    "fee_charge": "Platform fee",
    "refund": "Refund",
    "adjustment": "Adjustment",
    "trade": "Trade closed",
}

LEDGER_COLUMNS: list[dict[str, Any]] = [
    {"name": "at", "label": "When (UTC)", "field": "at", "align": "left", "sortable": True},
    {"name": "kind", "label": "Operation", "field": "kind", "align": "left", "sortable": True},
    {"name": "amount", "label": "Amount (USDT)", "field": "amount", "align": "right"},
    {"name": "status", "label": "Status", "field": "status", "align": "left", "sortable": True},
    {"name": "detail", "label": "Details", "field": "detail", "align": "left"},
]


def new_idempotency_key() -> str:
    """A fresh key for one deposit (a retry of the same submission reuses it)."""
    return f"ui-{uuid.uuid4().hex}"


def ledger_row(op: dict[str, Any]) -> dict[str, Any]:
    """One operation of ``GET /client/history`` as a row of the ledger table."""
    kind = str(op["type"])
    details: list[str] = []
    if kind == "trade":
        details.append(f"{op.get('symbol') or ''} notional {money(op['amount'])}".strip())
        if op.get("fee") is not None:
            details.append(f"fee {money(op['fee'])}")
        if op.get("reason"):
            details.append(str(op["reason"]))
        if op.get("trade_ref"):
            details.append(f"ref {op['trade_ref']}")
    elif op.get("reason"):
        details.append(str(op["reason"]))
    return {
        "key": f"{kind}-{op['id']}",
        "type": kind,
        "id": op["id"],
        "at": str(op["at"]).replace("T", " ")[:19],
        "kind": KINDS.get(kind, kind),
        # a closed trade's notional is not a movement of the prepaid balance
        "amount": "" if kind == "trade" else money(op["amount"]),
        "raw_amount": op["amount"],
        "status": op.get("status") or "",
        "detail": " · ".join(details),
    }


class FundsPage:
    """The page's elements and how they are filled from the Client service."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.pending: list[dict[str, Any]] = []
        self.key = new_idempotency_key()
        self.in_flight = False

    # --- layout ------------------------------------------------------------------------

    def build(self) -> None:
        """Lay the page out (empty until :meth:`load`)."""
        with ui.row().classes("w-full gap-4 items-stretch"):
            self._prepaid_card()
            self.account = TradingAccount(self.s)
            self.account.build()
        self._ledger_card()
        self._deposit_dialog()

    def _prepaid_card(self) -> None:
        with ui.card().classes("flex-1 min-w-80 gap-2").mark("prepaid"):
            ui.label("Prepaid balance").classes("text-lg font-semibold")
            ui.label(
                "Pays the platform's fees on your closed trades. It is not trading capital: "
                "your trades use the trading account."
            ).classes("text-sm text-slate-500")
            with ui.row().classes("items-baseline gap-2"):
                self.balance = ui.label("—").classes("text-3xl font-bold").mark("prepaid-balance")
                ui.label("USDT").classes("text-slate-500")
            self.fee = ui.label().classes("text-sm").mark("fee-rule")
            self.can_trade = ui.label().classes("text-sm").mark("can-trade")
            ui.button("Deposit", icon="add_card", on_click=self.open_deposit).mark("deposit-open")
            self.pending_box = ui.column().classes("gap-1").mark("pending-deposits")

    def _ledger_card(self) -> None:
        with ui.card().classes("w-full gap-2"):
            with ui.row().classes("w-full items-center"):
                ui.label("Ledger").classes("text-lg font-semibold")
                ui.label(
                    "deposits, platform fees, refunds, adjustments and the trades they were "
                    "charged on, newest first"
                ).classes("text-sm text-slate-500")
            self.ledger = (
                ui.table(
                    columns=LEDGER_COLUMNS,
                    rows=[],
                    row_key="key",
                    pagination={"rowsPerPage": 15, "sortBy": "at", "descending": True},
                )
                .classes("w-full")
                .props("flat dense no-data-label='No operations yet'")
                .mark("ledger")
            )
            self.ledger.add_slot(
                "body-cell-status",
                '<q-td :props="props"><q-badge v-if="props.value" :label="props.value" '
                ":color=\"{succeeded: 'green', pending: 'orange', failed: 'red'}[props.value]"
                " || 'grey'\" /></q-td>",
            )

    def _deposit_dialog(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("w-96 gap-3").mark("deposit-dialog"):
            ui.label("Deposit to the prepaid balance").classes("text-lg font-semibold")
            ui.label(
                "Payments go through the platform's payment simulator: choose how this one ends."
            ).classes("text-sm text-slate-500")
            self.amount = (
                ui.input("Amount", placeholder="e.g. 50")
                .props("suffix=USDT inputmode=decimal")
                .classes("w-full")
                .mark("deposit-amount")
            )
            self.outcome = (
                ui.radio(OUTCOMES, value="success").props("inline").mark("deposit-outcome")
            )
            self.deposit_error = ui.label().classes("text-red-600").mark("deposit-error")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                self.pay = ui.button("Pay", on_click=self.deposit).mark("deposit-pay")
        self.amount.on("keydown.enter", self.deposit)

    # --- data ----------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the balance, the ledger and the trading account."""
        await self.load_funds()
        await self.account.load()

    async def load_funds(self) -> None:
        """Read the prepaid balance and the ledger."""
        try:
            funds = await self.s.get("client", "/client/funds")
            history = await self.s.get("client", "/client/history", limit=LEDGER_LIMIT)
        except ServiceError as e:
            self.balance.text = "—"
            self.fee.text = e.message
            return
        self.balance.text = money(funds["balance"])
        rule = "of each trade's notional" if funds["fee_mode"] == "notional" else "of its profit"
        self.fee.text = f"Platform fee: {funds['fee_percent']}% {rule}, charged at close."
        minimum = money(funds["min_balance_to_trade"])
        if funds["can_trade"]:
            self.can_trade.text = f"New trades allowed (the balance is above {minimum} USDT)."
            self.can_trade.classes(replace="text-sm text-green-700")
        else:
            self.can_trade.text = (
                f"New trades are refused until the balance is above {minimum} USDT: deposit."
            )
            self.can_trade.classes(replace="text-sm text-red-600")
        ops = history["operations"]
        self.ledger.update_rows([ledger_row(op) for op in ops])
        self.pending = [op for op in ops if op["type"] == "deposit" and op["status"] == "pending"]
        self._show_pending()

    def _show_pending(self) -> None:
        self.pending_box.clear()
        with self.pending_box:
            if not self.pending:
                return
            ui.label("Pending deposits (credited once the payment settles)").classes(
                "text-sm font-semibold text-amber-700"
            )
            for op in self.pending:
                ui.label(
                    f"Pending: {money(op['amount'])} USDT · deposit #{op['id']} · since "
                    f"{str(op['at']).replace('T', ' ')[:19]} UTC"
                ).classes("text-sm text-amber-700").mark(f"pending-{op['id']}")

    # --- deposits ------------------------------------------------------------------------

    def open_deposit(self) -> None:
        """Open the deposit form (a new submission: a new idempotency key)."""
        if not self.in_flight:
            self.key = new_idempotency_key()
        self.amount.error = None
        self.deposit_error.text = ""
        self.dialog.open()

    async def deposit(self) -> None:
        """Send the deposit once, however often the button is pressed."""
        if self.in_flight:
            return
        self.in_flight = True
        self.pay.disable()
        amount = (self.amount.value or "").strip()
        body = {"amount": amount, "idempotency_key": self.key, "simulate": self.outcome.value}
        self.amount.error = None
        self.deposit_error.text = ""
        try:
            dep = await self.s.post("client", "/client/deposit", body)
        except ServiceError as e:
            if e.status != 503:
                # the service answered: this submission is spent (a failure is recorded, and
                # replayed for this key); the next one is another deposit
                self.key = new_idempotency_key()
            if e.error == "payment_failed":
                self.deposit_error.text = f"Payment declined: {e.detail}."
                ui.notify(f"Deposit of {amount} USDT declined: {e.detail}", type="negative")
            elif e.error == "invalid_request" and e.status == 422:
                self.amount.error = e.detail.removeprefix("amount: ")
            else:
                self.deposit_error.text = e.message
                refusal(e)
        else:
            self.key = new_idempotency_key()
            self.amount.value = ""
            self.dialog.close()
            if dep["status"] == "pending":
                ui.notify(
                    f"Payment of {money(dep['amount'])} USDT pending: credited once it settles.",
                    type="warning",
                )
            else:
                ui.notify(
                    f"Deposited {money(dep['amount'])} USDT: the balance is "
                    f"{money(dep['balance'])} USDT.",
                    type="positive",
                )
        finally:
            self.in_flight = False
            self.pay.enable()
        await self.load_funds()


async def funds_page() -> None:
    """The prepaid balance and its ledger beside the trading account."""
    s = sessions.require()
    if s is None:
        return
    with frame(s, "Funds"):
        page = FundsPage(s)
        page.build()
    await page.load()

    async def on_trade_event(event: dict[str, Any]) -> None:
        # a fill moves the trading account; a close also charges the platform fee
        if event.get("type") in {"TradePlaced", "PartialExitTaken", "TradeClosed"}:
            await page.load()

    follow_trades(s, on_trade_event)
    ui.timer(FALLBACK_REFRESH_S, page.load, immediate=False)  # just loaded
