//! A signal becomes a pending order: a market exit for a position of the
//! other side, or an entry sized from the risk over the stop distance,
//! within the free cash and the position cap, that passes the filters.
use super::symbol::{Intent, Pending, Sym};
use super::Run;
use crate::fills::decimal::Dec;
use crate::fills::{Bar, Order, OrderKind};
use crate::risk::{size_position, SizingRequest};
use crate::signals::Side;

/// A percent stop distance in ticks, exactly: `ceil(entry × pct / 100)`
/// with the percent in millionths of the price (`ppm` = pct × 10 000), so
/// that it equals the live trade engine's decimal arithmetic.
fn pct_distance(entry: i64, ppm: i64) -> i64 {
    let n = i128::from(entry) * i128::from(ppm);
    i64::try_from((n + 999_999).div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

fn dec_of(v: f64) -> Dec {
    Dec::new((v * 1e8).round() as i128, 8)
}

impl Run<'_> {
    /// Step 4: a signal of `side` at the close of `bar`: an exit order for a
    /// position of the other side (`exit_on_opposite`), an entry order when the
    /// symbol is flat and idle (shorts only with `allow_short`), else nothing.
    /// A signal that cannot become an order is counted skipped.
    pub(super) fn on_signal(&mut self, si: usize, side: Side, bar: &Bar, atr_ticks: Option<f64>) {
        self.book.counters.signals += 1;
        let dir: i8 = if side == Side::Buy { 1 } else { -1 };
        let sym = &self.syms[si];
        let order = match sym.pos {
            Some(p) if p.dir != dir && self.cfg.exit_on_opposite && sym.pending.is_none() => {
                self.exit_order(sym, bar.close_time)
            }
            Some(_) => return,
            None if sym.pending.is_none() && (dir > 0 || self.cfg.allow_short) => {
                self.entry_order(si, dir, bar, atr_ticks)
            }
            None => None,
        };
        match order {
            Some(pending) => self.syms[si].pending = Some(pending),
            None => self.book.counters.skipped += 1,
        }
    }

    /// A market order closing the symbol's position, sent at `sent_at`;
    /// `None` when the filters refuse its quantity.
    fn exit_order(&self, sym: &Sym<'_>, sent_at: i64) -> Option<Pending> {
        let p = sym.pos?;
        let side = if p.dir > 0 { Side::Sell } else { Side::Buy };
        let order = Order { side, kind: OrderKind::Market, qty: p.qty, sent_at };
        let sim = self.model.submit(&sym.filters, order).ok()?;
        Some(Pending { sim, intent: Intent::Exit, signal_time: sent_at })
    }

    /// The stop distance in ticks of an entry at `entry`: the ATR multiple
    /// (0 without an ATR yet) or the percent.
    fn stop_distance(&self, entry: i64, atr_ticks: Option<f64>) -> i64 {
        let stops = &self.cfg.stops;
        if stops.stop_atr > 0.0 {
            atr_ticks.map_or(0, |a| (a * stops.stop_atr).ceil() as i64)
        } else {
            pct_distance(entry, self.stop_pct_ppm)
        }
    }

    /// A market entry of direction `dir` for a signal at the close of
    /// `bar`, sized by [`size_position`] from `risk_pct` of the equity over
    /// the stop distance, capped by `max_position_pct` and by the quote
    /// asset not committed to open positions (as the paper account's free
    /// balance). `None` when there is no stop distance, every position slot
    /// is taken or pending, or sizing or the filters refuse it.
    fn entry_order(&self, si: usize, dir: i8, bar: &Bar, atr_ticks: Option<f64>) -> Option<Pending> {
        let cfg = self.cfg;
        let entry = bar.close;
        let dist = self.stop_distance(entry, atr_ticks);
        let pending_entries = self.syms.iter().filter(|s| s.has_pending_entry()).count();
        if dist <= 0 || self.book.open_count + pending_entries >= self.max_positions {
            return None;
        }
        let cash = self.book.cash;
        let eq = cash + self.syms.iter().map(|s| s.unrealized() + s.dust_value()).sum::<f64>();
        let committed: f64 = self.syms.iter().map(Sym::notional).sum();
        let free = cash - committed;
        let side = if dir > 0 { Side::Buy } else { Side::Sell };
        let req = SizingRequest {
            side,
            equity: dec_of(eq.max(0.0)),
            risk_pct: dec_of(cfg.risk_pct),
            entry,
            stop: entry - i64::from(dir) * dist,
            cash: Some(dec_of(free.max(0.0))),
            max_notional: Some(dec_of((eq * cfg.max_position_pct / 100.0).max(0.0))),
        };
        let filters = &self.syms[si].filters;
        let sized = size_position(filters, &req).ok()?;
        let sent_at = bar.close_time;
        let sim = self.model.submit(filters, Order { side, kind: OrderKind::Market, qty: sized.qty, sent_at }).ok()?;
        Some(Pending { sim, intent: Intent::Entry { dist }, signal_time: sent_at })
    }
}
