//! A fixed-capacity ring of the most recent values, for the indicators that
//! must subtract what leaves their window.

/// Keeps the last `cap` values pushed. Storage grows with the values seen, up
/// to `cap`, so a huge window over a short series costs only that series.
#[derive(Debug, Clone)]
pub(crate) struct Window<T> {
    buf: Vec<T>,
    cap: usize,
    head: usize,
}

impl<T: Copy> Window<T> {
    /// An empty window keeping `cap` values (`cap` may be 0).
    pub(crate) fn new(cap: usize) -> Self {
        Self { buf: Vec::new(), cap, head: 0 }
    }

    /// Pushes `x`; once more than `cap` values were pushed, returns the one
    /// that fell out (with `cap == 0`, that is `x` itself).
    #[inline]
    pub(crate) fn push(&mut self, x: T) -> Option<T> {
        if self.buf.len() < self.cap {
            self.buf.push(x);
            return None;
        }
        let Some(slot) = self.buf.get_mut(self.head) else {
            return Some(x);
        };
        let old = std::mem::replace(slot, x);
        self.head += 1;
        if self.head == self.cap {
            self.head = 0;
        }
        Some(old)
    }

    /// The values kept, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let (newer, older) = self.buf.split_at(self.head);
        older.iter().chain(newer).copied()
    }

    /// Forgets every value, keeping the allocation.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_returns_what_falls_out() {
        let mut w = Window::new(2);
        assert_eq!(w.push(1.0), None);
        assert_eq!(w.push(2.0), None);
        assert_eq!(w.push(3.0), Some(1.0));
        assert_eq!(w.push(4.0), Some(2.0));
        assert_eq!(w.push(5.0), Some(3.0));
        assert_eq!(w.iter().collect::<Vec<_>>(), [4.0, 5.0]);
        w.clear();
        assert_eq!(w.push(6.0), None);
    }

    #[test]
    fn zero_capacity_window_returns_the_value_pushed() {
        let mut w = Window::new(0);
        assert_eq!(w.push(7.0), Some(7.0));
        assert_eq!(w.push(8.0), Some(8.0));
    }
}
