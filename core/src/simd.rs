//! Run-time CPU dispatch for the batch indicator kernels: the crate's only
//! `unsafe` (audited here, denied everywhere else by `core/Cargo.toml`).
//!
//! The wheel is built for plain x86-64, where `f64::mul_add` is a call to
//! the C library's `fma`. A kernel is written once, as an
//! `#[inline(always)]` function or closure body, and [`dispatch`] runs it
//! either inlined into a function compiled with AVX2 and FMA (where
//! `mul_add` is one `vfmadd` instruction and the vector passes use 256-bit
//! registers) when the CPU has both, or as the plain build otherwise
//! ([`plain`]). `mul_add` is correctly rounded in both builds (the
//! instruction and the library function compute the same exactly rounded
//! value), and no other operation changes, so the two builds and the
//! streaming forms give the same bits (tested against [`plain`] in the
//! indicators' tests). Other targets compile the plain build only.
#![allow(unsafe_code)]

/// Whether this CPU runs the AVX2 + FMA build: the answer is detected once
/// and cached by `std` (one relaxed atomic load a call).
#[inline]
#[must_use]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs `kernel` in the AVX2 + FMA build when the CPU has both, else as
/// [`plain`]. `kernel` should be a closure that calls `#[inline(always)]`
/// code, so that all of it is compiled inside the feature function.
#[inline]
pub(crate) fn dispatch<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: `with_avx2_fma` only requires the CPU to support AVX2 and
        // FMA, which `has_avx2_fma` has just checked on this CPU.
        return unsafe { with_avx2_fma(kernel) };
    }
    plain(kernel)
}

/// Runs `kernel` as compiled for the crate's target (no extra features):
/// the fallback of [`dispatch`], callable directly by tests.
#[inline]
pub(crate) fn plain<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

/// A choice of build, as a type: batch functions are generic over it, so
/// the public ones run [`Dispatched`] and tests can run [`Plain`] too.
pub(crate) trait Build {
    /// Runs `kernel` in this build.
    fn run<R>(kernel: impl FnOnce() -> R) -> R;
}

/// [`dispatch`]: the AVX2 + FMA build when the CPU has both.
pub(crate) struct Dispatched;

/// [`plain`]: the build for the crate's target.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Plain;

impl Build for Dispatched {
    #[inline]
    fn run<R>(kernel: impl FnOnce() -> R) -> R {
        dispatch(kernel)
    }
}

impl Build for Plain {
    #[inline]
    fn run<R>(kernel: impl FnOnce() -> R) -> R {
        plain(kernel)
    }
}

/// The bytes of `block` equal to `byte`, as bits (bit `j` for `block[j]`):
/// the classifier of a block of text for the parsers' stage one (positions
/// from masks, not from a serial scan). SSE2 compares and byte masks, four
/// per block, on x86-64; a plain loop elsewhere ([`byte_mask_64_plain`],
/// which the tests compare it with).
#[inline]
#[must_use]
pub(crate) fn byte_mask_64(block: &[u8; 64], byte: u8) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: `byte_mask_64_sse2` only requires SSE2, which this build
        // enables at compile time (the `cfg` above; SSE2 is in the x86-64
        // baseline), so every CPU that runs this code has it.
        unsafe { byte_mask_64_sse2(block, byte) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        byte_mask_64_plain(block, byte)
    }
}

/// [`byte_mask_64`] as a plain loop over the bytes.
#[inline]
#[must_use]
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2", not(test)), allow(dead_code))]
pub(crate) fn byte_mask_64_plain(block: &[u8; 64], byte: u8) -> u64 {
    block.iter().enumerate().fold(0, |m, (j, &c)| m | (u64::from(c == byte) << j))
}

/// [`byte_mask_64`] with SSE2: the block as four 16-byte vectors (built
/// from safe 8-byte reads, no pointer), compared with `byte` and reduced to
/// their sign bits.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn byte_mask_64_sse2(block: &[u8; 64], byte: u8) -> u64 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set1_epi8, _mm_set_epi64x};
    let needle = _mm_set1_epi8(byte as i8);
    let word = |k: usize| {
        i64::from_le_bytes([
            block[k],
            block[k + 1],
            block[k + 2],
            block[k + 3],
            block[k + 4],
            block[k + 5],
            block[k + 6],
            block[k + 7],
        ])
    };
    let mut m = 0u64;
    for k in 0..4 {
        let v = _mm_set_epi64x(word(16 * k + 8), word(16 * k));
        let bits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, needle)) as u32 & 0xFFFF;
        m |= u64::from(bits) << (16 * k);
    }
    m
}

/// `kernel` inlined into a function compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn with_avx2_fma<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_mask_marks_exactly_the_bytes_equal() {
        let mut block = [0u8; 64];
        for (j, b) in block.iter_mut().enumerate() {
            *b = [b'"', b'1', b'.', 0x80 | b'"', 0xFF, b'['][(j * 7 + j / 5) % 6];
        }
        for byte in [b'"', b'1', b'.', 0xA2, 0xFF, b'[', 0, b']'] {
            let want = (0..64).filter(|&j| block[j] == byte).fold(0u64, |m, j| m | 1 << j);
            assert_eq!(byte_mask_64(&block, byte), want, "{byte}");
            assert_eq!(byte_mask_64_plain(&block, byte), want, "{byte}");
        }
        assert_eq!(byte_mask_64(&[b'"'; 64], b'"'), u64::MAX);
        assert_eq!(byte_mask_64(&[b'"'; 64], b'x'), 0);
    }

    #[test]
    fn both_builds_give_the_correctly_rounded_multiply_add() {
        // 0.1 * 10 - 1 is 2^-54 exactly with one rounding (5.55e-17), and 0
        // when the product is rounded first: both builds must read the
        // exact value.
        let f = || std::hint::black_box(0.1f64).mul_add(10.0, -1.0);
        assert_eq!(dispatch(f), 2f64.powi(-54));
        assert_eq!(plain(f), 2f64.powi(-54));
    }
}
