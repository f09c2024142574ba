//! One side of the book: price levels keyed by exact integer price.
use std::collections::btree_map;
use std::collections::BTreeMap;

/// Which side a [`BookSide`] holds; the best bid is the highest price, the
/// best ask the lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Bid,
    Ask,
}

/// One price level: `(price, quantity)` in units of 10⁻⁸.
pub type Level = (u64, u64);

/// The levels of one side, sorted by price (a B-tree: O(log n) updates,
/// best level and the best `n` levels without sorting).
#[derive(Debug, Clone)]
pub struct BookSide {
    side: Side,
    levels: BTreeMap<u64, u64>,
}

impl BookSide {
    #[must_use]
    pub fn new(side: Side) -> Self {
        Self { side, levels: BTreeMap::new() }
    }

    #[must_use]
    pub fn side(&self) -> Side {
        self.side
    }

    /// Sets a level's absolute quantity; a quantity of 0 removes the level.
    pub fn set(&mut self, price: u64, qty: u64) {
        if qty == 0 {
            self.levels.remove(&price);
        } else {
            self.levels.insert(price, qty);
        }
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.levels.clear();
    }

    /// Number of levels.
    #[must_use]
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// The best level, if any.
    #[must_use]
    pub fn best(&self) -> Option<Level> {
        let kv = match self.side {
            Side::Bid => self.levels.last_key_value(),
            Side::Ask => self.levels.first_key_value(),
        };
        kv.map(|(&p, &q)| (p, q))
    }

    /// The quantity at `price` (0 when there is no level).
    #[must_use]
    pub fn qty_at(&self, price: u64) -> u64 {
        self.levels.get(&price).copied().unwrap_or(0)
    }

    /// The levels, best first.
    #[must_use]
    pub fn iter_best(&self) -> BestFirst<'_> {
        match self.side {
            Side::Bid => BestFirst::Bid(self.levels.iter().rev()),
            Side::Ask => BestFirst::Ask(self.levels.iter()),
        }
    }

    /// The best `n` levels, best first.
    #[must_use]
    pub fn top(&self, n: usize) -> Vec<Level> {
        self.iter_best().take(n).collect()
    }

    /// Total quantity of the best `n` levels (exact).
    #[must_use]
    pub fn qty_top(&self, n: usize) -> u128 {
        self.iter_best().take(n).map(|(_, q)| u128::from(q)).sum()
    }
}

/// Iterator over a side's levels, best first.
pub enum BestFirst<'a> {
    Bid(std::iter::Rev<btree_map::Iter<'a, u64, u64>>),
    Ask(btree_map::Iter<'a, u64, u64>),
}

impl Iterator for BestFirst<'_> {
    type Item = Level;

    fn next(&mut self) -> Option<Level> {
        match self {
            Self::Bid(it) => it.next(),
            Self::Ask(it) => it.next(),
        }
        .map(|(&p, &q)| (p, q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bids_are_best_when_highest_and_asks_when_lowest() {
        let mut b = BookSide::new(Side::Bid);
        let mut a = BookSide::new(Side::Ask);
        for (p, q) in [(100, 1), (102, 2), (101, 3)] {
            b.set(p, q);
            a.set(p, q);
        }
        assert_eq!(b.best(), Some((102, 2)));
        assert_eq!(a.best(), Some((100, 1)));
        assert_eq!(b.top(2), vec![(102, 2), (101, 3)]);
        assert_eq!(a.top(5), vec![(100, 1), (101, 3), (102, 2)]);
        assert_eq!(b.qty_top(2), 5);
    }

    #[test]
    fn zero_quantity_removes_the_level() {
        let mut b = BookSide::new(Side::Bid);
        b.set(100, 1);
        b.set(100, 0);
        b.set(99, 0);
        assert!(b.is_empty());
        assert_eq!(b.best(), None);
        assert_eq!(b.qty_at(100), 0);
    }
}
