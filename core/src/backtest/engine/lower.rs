//! The lower-timeframe path: when a symbol has a finer series, an open
//! position's stops run on the finer candles inside the candle, so the
//! data, not an assumption, decides whether a stop or a target came first.
use super::book::Book;
use super::symbol::Sym;
use crate::fills::{Bar, FillModel};

impl Book {
    /// Step 3: the stops along the lower-timeframe candles inside `bar` (until
    /// the position closes), then the candle's ATR for the trailing rules.
    /// Returns false, having done nothing, when the symbol has no finer candles
    /// inside `bar`: the stops then walk the candle itself.
    pub(super) fn stops_on_lower(
        &mut self,
        sym: &mut Sym<'_>,
        model: &FillModel,
        bar: &Bar,
        atr_ticks: Option<f64>,
        step: usize,
    ) -> bool {
        let series = sym.s;
        let Some(l) = &series.lower else { return false };
        let t = bar.open_time;
        let end = t + series.interval.millis();
        let mut j = sym.lower_next;
        while j < l.open_time.len() && l.open_time[j] < t {
            j += 1;
        }
        sym.lower_next = j;
        if !(j < l.open_time.len() && l.open_time[j] < end) {
            return false;
        }
        self.counters.lower_tf_bars += 1;
        while j < l.open_time.len() && l.open_time[j] < end && sym.pos.is_some() {
            let sub = sym.lower_bar(l, j);
            self.stops_on_bar(sym, model, &sub, None, step);
            j += 1;
        }
        if let (Some(a), Some(p)) = (atr_ticks, sym.pos) {
            self.tracker(p.dir).set_atr(series.symbol, a);
        }
        true
    }
}
