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
    fn both_builds_give_the_correctly_rounded_multiply_add() {
        // 0.1 * 10 - 1 is 2^-54 exactly with one rounding (5.55e-17), and 0
        // when the product is rounded first: both builds must read the
        // exact value.
        let f = || std::hint::black_box(0.1f64).mul_add(10.0, -1.0);
        assert_eq!(dispatch(f), 2f64.powi(-54));
        assert_eq!(plain(f), 2f64.powi(-54));
    }
}
