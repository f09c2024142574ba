//! Entry fills: what a position holds once a base-asset commission is
//! taken (the rest below the lot step stays as dust), whether the free cash
//! pays for the fill, and the position handed to its stop tracker.
use super::book::{fee_quote, Book};
use super::symbol::{Open, Pending, Sym};
use crate::error::CoreResult;
use crate::fills::decimal::Dec;
use crate::fills::{Commission, FeeAsset, Fill, SymbolFilters};
use crate::signals::Side;
use crate::stops::{NewPosition, PositionSide};

/// The steps a BUY of `qty` steps leaves in the account once a base-asset
/// commission is taken, rounded down to the step (a quote-asset commission
/// leaves them all).
fn held_steps(filters: &SymbolFilters, qty: i64, commission: Commission) -> i64 {
    if commission.asset != FeeAsset::Base || commission.amount == 0 {
        return qty;
    }
    let (bought, fee) = (filters.qty(qty), commission.to_dec());
    let scale = bought.scale.max(fee.scale);
    let at = |d: Dec| d.units_at(scale).unwrap_or(i128::MAX);
    let step = at(filters.qty(1));
    i64::try_from((at(bought) - at(fee)).div_euclid(step)).unwrap_or(0).max(0)
}

/// The base asset a fill leaves below the step once its commission and the
/// `held` steps are taken (0 for a quote-asset commission).
fn dust_of(sym: &Sym<'_>, fill: &Fill, held: i64) -> f64 {
    match fill.commission.asset {
        FeeAsset::Base => {
            let c = fill.commission;
            let paid = c.amount as f64 / 10f64.powi(c.precision as i32);
            ((fill.qty - held) as f64 * sym.step - paid).max(0.0)
        }
        FeeAsset::Quote => 0.0,
    }
}

impl Book {
    /// Step 2: the fill of the entry order `pend`, its stop `dist` ticks away.
    /// A BUY's commission is taken in the base asset: the position holds what
    /// is left, down to the lot step (as on Binance, and as the live trade
    /// engine books it); the commission is the entry's fee and the rest below
    /// the step stays as dust, bought at the fill. Spot: the quote asset not
    /// `committed` to open positions must pay for the fill, or the exchange
    /// (and the paper account) refuses it.
    ///
    /// # Errors
    /// The tracker's, for a position it refuses.
    pub(super) fn fill_entry(
        &mut self,
        sym: &mut Sym<'_>,
        pend: &Pending,
        dist: i64,
        fill: &Fill,
        committed: f64,
        step: usize,
    ) -> CoreResult<()> {
        let dir: i8 = if pend.sim.order().side == Side::Buy { 1 } else { -1 };
        let stop = fill.price - i64::from(dir) * dist;
        let held = held_steps(&sym.filters, fill.qty, fill.commission);
        let px = fill.price as f64 * sym.tick;
        let fee = fee_quote(fill.commission, px);
        let dust = dust_of(sym, fill, held);
        let cost = fill.price as f64 * sym.tick * fill.qty as f64 * sym.step;
        let affordable = cost <= self.cash - committed + 1e-9;
        if !(stop > 0 && held > 0 && affordable) {
            self.counters.skipped += 1;
            return Ok(());
        }
        let id = self.next_id;
        self.next_id += 1;
        let position = NewPosition {
            id,
            symbol: sym.s.symbol,
            side: if dir > 0 { PositionSide::Long } else { PositionSide::Short },
            entry: fill.price,
            stop,
            qty: held,
            opened_at: fill.ts,
        };
        self.tracker(dir).add(&position, &sym.plan)?;
        self.cash -= fee + dust * px;
        sym.dust += dust;
        sym.pos = Some(Open {
            id,
            dir,
            entry_ticks: fill.price,
            qty0: held,
            qty: held,
            entry_time: fill.ts,
            signal_time: pend.signal_time,
            entry_bar: step,
            stop_ticks: stop,
            fees: fee,
            gross: 0.0,
            exit_atoms: 0,
            exited: 0,
            partials: 0,
        });
        self.open_count += 1;
        Ok(())
    }
}
