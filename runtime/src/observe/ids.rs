//! Request ids and X-Ray trace ids.
//!
//! Written here rather than taken from `uuid`/`rand`: ids are minted on every request, and a
//! thread-local SplitMix64 seeded from the OS-randomized `RandomState` is both the cheapest
//! generator and enough — ids must be unique, not unpredictable.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish() | 1
}

fn next_u64() -> u64 {
    STATE.with(|s| {
        let mut z = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut String, value: u64, digits: usize) {
    for shift in (0..digits).rev() {
        out.push(char::from(HEX[((value >> (shift * 4)) & 0xf) as usize]));
    }
}

/// A random UUID (version 4 layout), as Lambda and REST APIs use for request ids.
pub fn uuid() -> String {
    let (a, b) = (next_u64(), next_u64());
    let mut s = String::with_capacity(36);
    push_hex(&mut s, a >> 32, 8);
    s.push('-');
    push_hex(&mut s, (a >> 16) & 0xffff, 4);
    s.push('-');
    push_hex(&mut s, 0x4000 | (a & 0x0fff), 4);
    s.push('-');
    push_hex(&mut s, 0x8000 | ((b >> 48) & 0x3fff), 4);
    s.push('-');
    push_hex(&mut s, b & 0xffff_ffff_ffff, 12);
    s
}

/// A random hex string of `digits` characters (at most 32).
pub fn hex(digits: usize) -> String {
    let mut s = String::with_capacity(digits);
    let mut left = digits.min(32);
    while left > 0 {
        let n = left.min(16);
        push_hex(&mut s, next_u64(), n);
        left -= n;
    }
    s
}

/// A uniformly distributed number in `[0, 1)`, for sampling (cold starts, alias weights).
pub fn unit_f64() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// An HTTP API request id: 15 alphanumeric characters and `=` (`Lp4qzgHLIAMEVbw=`).
pub fn http_api_request_id() -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut s = String::with_capacity(16);
    let (mut bits, mut left) = (next_u64(), 10);
    for _ in 0..15 {
        if left == 0 {
            (bits, left) = (next_u64(), 10);
        }
        // Six random bits scaled onto the 62 letters (no division): ids must be unique (about
        // 89 random bits), not exactly uniform over the alphabet.
        s.push(char::from(ALPHABET[(((bits & 63) * 62) >> 6) as usize]));
        bits >>= 6;
        left -= 1;
    }
    s.push('=');
    s
}

/// A new span id: 64 random bits, never zero (zero means "no parent" in OTLP).
pub fn span_id() -> u64 {
    next_u64() | 1
}

/// A new X-Ray trace header value: `Root=1-{epoch hex}-{96-bit random}`.
pub fn trace_id(epoch_seconds: u64) -> String {
    let mut s = String::with_capacity(40);
    s.push_str("Root=1-");
    push_hex(&mut s, epoch_seconds & 0xffff_ffff, 8);
    s.push('-');
    push_hex(&mut s, next_u64(), 16);
    push_hex(&mut s, next_u64(), 8);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_v4_shape_and_is_unique() {
        let a = uuid();
        let b = uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn http_api_request_id_has_aws_shape_and_is_unique() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| http_api_request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            assert_eq!(id.len(), 16);
            assert!(id.ends_with('='));
            assert!(id[..15].bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn trace_id_has_xray_shape() {
        let t = trace_id(0x5e6a_1b2c);
        assert!(t.starts_with("Root=1-5e6a1b2c-"));
        assert_eq!(t.len(), 7 + 8 + 1 + 24);
    }
}
