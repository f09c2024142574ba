//! Streaming indicators (one file each) and their batch forms.
pub mod indicator;

pub use indicator::{CloseVolume, HighLow, Hlc, HlcVolume, Indicator};
