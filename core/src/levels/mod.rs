//! Entry levels: pivot points, fractal swings, Fibonacci grids, support and
//! resistance zones clustered from swings, and their confluence.
//!
//! * [`pivots`]: the classic, Fibonacci, camarilla and Woodie pivot points of
//!   one period (row `i` from candle `i`; the caller passes the previous
//!   period's candles).
//! * [`swings`]: fractal swing highs and lows (strict, `left` and `right`
//!   arms).
//! * [`fibonacci`]: the retracement and extension grid of one swing.
//! * [`zones`]: support/resistance zones clustered from swings, with touch
//!   counts, in percent or ATR tolerance.
//! * [`confluence`]: where several kinds of level meet, scored.
//!
//! **Streaming.** [`LevelTracker`] is what the engine updates per closed
//! candle: it keeps the last `left + right + 1` highs and lows, a streaming
//! ATR and at most `max_zones` zones. A swing at bar `i` is confirmed when
//! bar `i + right` closes and is then added to the zones; the work per
//! candle is O(`left + right`), plus O(`max_zones`) when a swing is
//! confirmed, and the memory is bounded. After the same candles, its swings
//! and zones equal the batch functions' (tested on real candles).
pub mod confluence;
pub mod fibonacci;
mod input;
pub mod pivots;
pub mod swings;
pub mod tracker;
pub mod zones;

pub use confluence::{confluence, ConfluenceZone, Level, LevelKind, PriceTolerance};
pub use fibonacci::{fibonacci, FibLevel, Trend, EXTENSIONS, RETRACEMENTS};
pub use input::{check_bar, check_bars};
pub use pivots::{pivot_levels, pivots, pivots_into, PivotLevels, PivotMethod};
pub use swings::{swings, SwingKind, SwingPoint, Swings};
pub use tracker::{LevelTracker, LevelUpdate};
pub use zones::{support_resistance, Zone, ZoneConfig, ZoneSet, ZoneTolerance};
