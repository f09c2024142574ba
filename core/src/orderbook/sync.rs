//! Binance's procedure for keeping a local book in sync with the diff
//! stream: which depth events apply, which are stale, which reveal a gap.
//!
//! From Binance's "How to manage a local order book correctly":
//!
//! 1. open `<symbol>@depth@100ms` and buffer the events;
//! 2. fetch the REST snapshot `GET /api/v3/depth?limit=1000`; if its
//!    `lastUpdateId` is below the first buffered event's `U`, fetch again;
//! 3. drop the buffered events with `u <= lastUpdateId`;
//! 4. the first event left must **straddle** the snapshot:
//!    `U <= lastUpdateId + 1 <= u`;
//! 5. every later event follows the previous one: `U == previous u + 1`.
//!    An event with `U > local id + 1` means updates were lost: discard the
//!    book and start again from a new snapshot.
//!
//! [`UpdateIds::check`] applies steps 3–5 to one event against the book's
//! id: `u <= id` is stale (already in the book), `U > id + 1` is a gap, and
//! anything else (`U <= id + 1 <= u`) is applied. After the straddling first
//! event `U == id + 1` holds for every event of a healthy stream; an event
//! overlapping the book (`U <= id < u`) is applied too, since quantities are
//! absolute (Binance's update procedure: ignore `u < id`, resync on
//! `U > id + 1`, apply the rest).
use crate::error::{CoreError, CoreResult};

/// Where the book stands in the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// No snapshot yet: diffs cannot be applied (buffer them).
    NoSnapshot,
    /// A snapshot is applied; the next applied event must straddle it.
    AwaitingFirst,
    /// At least one event applied after the snapshot.
    Synced,
    /// A gap was seen: the book is stale until the next snapshot.
    OutOfSync,
}

/// What to do with one depth event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffAction {
    /// Apply its levels, then the book's id becomes its `u`.
    Apply,
    /// Already covered by the book (`u <= id`): ignore it.
    Stale,
}

/// The book's update id and sync state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateIds {
    last: u64,
    state: SyncState,
}

impl Default for UpdateIds {
    fn default() -> Self {
        Self { last: 0, state: SyncState::NoSnapshot }
    }
}

impl UpdateIds {
    /// The id of the last change in the book (the snapshot's
    /// `lastUpdateId`, then each applied event's `u`).
    #[must_use]
    pub fn last(&self) -> u64 {
        self.last
    }

    #[must_use]
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// A snapshot with `lastUpdateId = last` was applied.
    pub fn snapshot(&mut self, last: u64) {
        self.last = last;
        self.state = SyncState::AwaitingFirst;
    }

    /// Decides on an event `[first, last]` (`U`, `u`), without changing
    /// anything.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] if `first > last`;
    /// [`CoreError::BookGap`] when there is no snapshot, the book is out of
    /// sync since an earlier gap, or `first > id + 1` (updates were lost).
    pub fn check(&self, symbol: &str, first: u64, last: u64) -> CoreResult<DiffAction> {
        if first > last {
            return Err(CoreError::InvalidInput(format!(
                "depth event has first update id U={first} after its final update id u={last}"
            )));
        }
        match self.state {
            SyncState::NoSnapshot => {
                return Err(CoreError::BookGap(format!(
                "{symbol}: no snapshot applied yet; buffer the event (U={first}, u={last}) and apply a snapshot first"
            )))
            }
            SyncState::OutOfSync => {
                return Err(CoreError::BookGap(format!(
                    "{symbol}: the book is out of sync since a gap (last update id {}); apply a new snapshot",
                    self.last
                )))
            }
            SyncState::AwaitingFirst | SyncState::Synced => {}
        }
        if last <= self.last {
            return Ok(DiffAction::Stale);
        }
        let expected = self.last + 1;
        if first > expected {
            let rule = if self.state == SyncState::AwaitingFirst {
                format!("the first event after the snapshot must satisfy U <= {expected} <= u")
            } else {
                format!("expected U = {expected} (previous u + 1)")
            };
            return Err(CoreError::BookGap(format!(
                "{symbol}: gap in the depth stream: {rule}, got U={first}, u={last}; resync from a new snapshot"
            )));
        }
        Ok(DiffAction::Apply)
    }

    /// Records an applied event's final id.
    pub fn applied(&mut self, last: u64) {
        self.last = last;
        self.state = SyncState::Synced;
    }

    /// Records a gap: the book waits for a new snapshot.
    pub fn gap(&mut self) {
        self.state = SyncState::OutOfSync;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synced_at(id: u64) -> UpdateIds {
        let mut s = UpdateIds::default();
        s.snapshot(id);
        s
    }

    #[test]
    fn first_event_must_straddle_the_snapshot() {
        let s = synced_at(100);
        assert_eq!(s.check("X", 90, 100), Ok(DiffAction::Stale));
        assert_eq!(s.check("X", 95, 101), Ok(DiffAction::Apply));
        assert_eq!(s.check("X", 101, 101), Ok(DiffAction::Apply));
        assert_eq!(s.check("X", 101, 120), Ok(DiffAction::Apply));
        assert!(matches!(s.check("X", 102, 120), Err(CoreError::BookGap(_))));
    }

    #[test]
    fn later_events_must_follow_and_a_gap_sticks_until_a_snapshot() {
        let mut s = synced_at(100);
        s.applied(110);
        assert_eq!(s.state(), SyncState::Synced);
        assert_eq!(s.check("X", 111, 115), Ok(DiffAction::Apply));
        assert_eq!(s.check("X", 105, 110), Ok(DiffAction::Stale));
        let e = s.check("X", 113, 115).unwrap_err().to_string();
        assert!(e.contains("expected U = 111"), "{e}");
        s.gap();
        assert!(matches!(s.check("X", 111, 115), Err(CoreError::BookGap(_))));
        s.snapshot(112);
        assert_eq!(s.check("X", 111, 115), Ok(DiffAction::Apply));
    }

    #[test]
    fn no_snapshot_and_reversed_ids_are_refused() {
        let s = UpdateIds::default();
        assert!(matches!(s.check("X", 1, 2), Err(CoreError::BookGap(_))));
        assert!(matches!(synced_at(1).check("X", 5, 4), Err(CoreError::InvalidInput(_))));
    }
}
