"""The prepaid funds: deposits, balances, history, the trade check and the platform fee."""

from __future__ import annotations

from decimal import Decimal

from avd.domain.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    Refusal,
)
from avd.services.client import schemas as m
from avd.services.client.context import Context
from avd.services.client.fees import PaymentSimulator, compute_fee
from avd.services.client.parameters import Parameters
from avd.store import accounts, ledger
from avd.store.models import Deposit, User
from avd.store.money import money_str


def deposit_out(dep: Deposit, balance: Decimal) -> m.Deposit:
    """The public view of a deposit, with the balance after it."""
    return m.Deposit(
        id=dep.id,
        amount=dep.amount,
        status=dep.status,
        idempotency_key=dep.idempotency_key,
        created_at=dep.created_at,
        balance=balance,
    )


class Funds:
    """A client's prepaid balance: what comes in, what the fees take, what it allows."""

    def __init__(self, ctx: Context, parameters: Parameters, payments: PaymentSimulator) -> None:
        self.ctx = ctx
        self.parameters = parameters
        self.payments = payments

    async def deposit(self, user_id: int, req: m.DepositRequest) -> tuple[m.Deposit, bool]:
        """Deposit through the simulator; ``(deposit, replayed)``.

        A retry with the same idempotency key returns the first outcome and
        credits nothing; the same key with another amount is a 409.
        """
        most = self.ctx.settings.max_deposit
        if req.amount > most:
            raise InvalidRequest("invalid_request", f"a deposit is at most {money_str(most)}")
        refusal: Refusal | None = None
        replayed = False
        async with self.ctx.db.write() as s:
            await accounts.lock(s, user_id)
            dep = await ledger.deposit_by_key(s, user_id, req.idempotency_key)
            if dep is not None:
                replayed = True
                if dep.amount != req.amount:
                    refusal = Conflict(
                        "conflict", "this idempotency key was used for a different amount"
                    )
            else:
                status = await self.payments.charge(req.amount, req.simulate)
                dep = await ledger.record_deposit(
                    s, user_id, req.idempotency_key, req.amount, status
                )
            bal = await ledger.balance(s, user_id)
        if refusal is not None:
            raise refusal
        return deposit_out(dep, bal), replayed

    async def balance(self, user_id: int) -> Decimal:
        """The prepaid balance."""
        async with self.ctx.db.read() as s:
            return await ledger.balance(s, user_id)

    async def funds(self, user_id: int) -> m.Funds:
        """Balance, whether it allows trading, and the fee."""
        g = await self.parameters.global_parameters()
        bal = await self.balance(user_id)
        return m.Funds(
            balance=bal,
            can_trade=bal > g.min_balance_to_trade,
            fee_mode=g.fee_mode,
            fee_percent=g.fee_percent,
            min_balance_to_trade=g.min_balance_to_trade,
        )

    async def history(self, user_id: int, limit: int, offset: int) -> m.History:
        """Deposits, fees, refunds, adjustments and trades, newest first."""
        n = limit + offset
        async with self.ctx.db.read() as s:
            deps = await ledger.deposits(s, user_id, n)
            moves = await ledger.entries(s, user_id, n)
            closed = await ledger.trades(s, user_id, n)
        ops: list[m.Operation] = [
            m.Operation(type="deposit", id=d.id, at=d.created_at, amount=d.amount, status=d.status)
            for d in deps
        ]
        ops += [
            m.Operation(type=e.kind, id=e.id, at=e.created_at, amount=e.amount, reason=e.reason)
            for e in moves
        ]
        ops += [
            m.Operation(
                type="trade",
                id=t.id,
                at=t.closed_at,
                amount=t.notional,
                trade_ref=t.trade_ref,
                symbol=t.symbol,
                fee=t.charged,
                reason=f"profit {money_str(t.profit)}",
            )
            for t in closed
        ]
        ops.sort(key=lambda o: (o.at, o.type, o.id), reverse=True)
        return m.History(operations=ops[offset : offset + limit], limit=limit, offset=offset)

    # --- for the trade service ---------------------------------------------------------

    async def _client(self, client_id: int) -> User:
        async with self.ctx.db.read() as s:
            user = await accounts.get(s, client_id)
        if user is None or user.role != "client":
            raise NotFound("not_found", "no such client")
        return user

    async def internal_balance(self, client_id: int) -> m.InternalBalance:
        """Balance and trading permission of a client."""
        user = await self._client(client_id)
        funds = await self.funds(client_id)
        return m.InternalBalance(
            client_id=client_id,
            balance=funds.balance,
            can_trade=funds.can_trade and not user.blocked,
            blocked=user.blocked,
        )

    async def check_trade(self, client_id: int) -> m.TradeAllowance:
        """Allow a new trade, or refuse it: ``PaymentRequired`` (balance), ``Forbidden``."""
        b = await self.internal_balance(client_id)
        if b.blocked:
            raise Forbidden("account_blocked", "this account is blocked")
        if not b.can_trade:
            raise PaymentRequired(
                "insufficient_balance",
                f"the prepaid balance ({money_str(b.balance)} USDT) is exhausted: "
                "deposit to trade again",
                balance=money_str(b.balance),
            )
        return m.TradeAllowance(client_id=client_id, allowed=True, balance=b.balance)

    async def charge_fee(self, req: m.FeeCharge) -> m.FeeCharged:
        """Charge the platform fee on a closed trade (once per ``trade_ref``)."""
        await self._client(req.client_id)
        g = await self.parameters.global_parameters()
        fee = compute_fee(g.fee_mode, g.fee_percent, req.notional, req.profit)
        async with self.ctx.db.write() as s:
            await accounts.lock(s, req.client_id)
            r = await ledger.charge_trade(
                s, req.client_id, req.trade_ref, req.symbol, req.notional, req.profit, fee
            )
        return m.FeeCharged(
            client_id=req.client_id,
            trade_ref=req.trade_ref,
            fee=r.fee,
            charged=r.charged,
            shortfall=r.shortfall,
            balance=r.balance,
            duplicate=r.duplicate,
        )
