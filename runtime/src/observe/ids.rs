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

/// Writes `value`'s low `out.len()` hex digits into `out`, most significant first.
fn put_hex(out: &mut [u8], value: u64) {
    let digits = out.len();
    for (i, byte) in out.iter_mut().enumerate() {
        let shift = (digits - 1 - i) * 4;
        *byte = HEX[((value >> shift) & 0xf) as usize];
    }
}

/// The id as a `String`. Ids are built in a fixed buffer and allocated once, here, instead
/// of being pushed a character at a time.
fn text(ascii: &[u8]) -> String {
    std::str::from_utf8(ascii)
        .map(String::from)
        .unwrap_or_default()
}

/// A random UUID (version 4 layout), as Lambda and REST APIs use for request ids.
pub fn uuid() -> String {
    let (a, b) = (next_u64(), next_u64());
    let mut s = [b'-'; 36];
    put_hex(&mut s[0..8], a >> 32);
    put_hex(&mut s[9..13], (a >> 16) & 0xffff);
    put_hex(&mut s[14..18], 0x4000 | (a & 0x0fff));
    put_hex(&mut s[19..23], 0x8000 | ((b >> 48) & 0x3fff));
    put_hex(&mut s[24..36], b & 0xffff_ffff_ffff);
    text(&s)
}

/// A random hex string of `digits` characters (at most 32).
pub fn hex(digits: usize) -> String {
    let mut s = [0u8; 32];
    let digits = digits.min(32);
    for chunk in s[..digits].chunks_mut(16) {
        put_hex(chunk, next_u64());
    }
    text(&s[..digits])
}

/// A uniformly distributed number in `[0, 1)`, for sampling (cold starts, alias weights).
pub fn unit_f64() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// An HTTP API request id: 15 alphanumeric characters and `=` (`Lp4qzgHLIAMEVbw=`).
pub fn http_api_request_id() -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut s = [b'='; 16];
    let (mut bits, mut left) = (next_u64(), 10);
    for byte in &mut s[..15] {
        if left == 0 {
            (bits, left) = (next_u64(), 10);
        }
        // Six random bits scaled onto the 62 letters (no division): ids must be unique (about
        // 89 random bits), not exactly uniform over the alphabet.
        *byte = ALPHABET[(((bits & 63) * 62) >> 6) as usize];
        bits >>= 6;
        left -= 1;
    }
    text(&s)
}

/// A new span id: 64 random bits, never zero (zero means "no parent" in OTLP).
pub fn span_id() -> u64 {
    next_u64() | 1
}

/// A new X-Ray trace header value: `Root=1-{epoch hex}-{96-bit random}`.
pub fn trace_id(epoch_seconds: u64) -> String {
    let mut s = *b"Root=1-00000000-000000000000000000000000";
    put_hex(&mut s[7..15], epoch_seconds & 0xffff_ffff);
    put_hex(&mut s[16..32], next_u64());
    put_hex(&mut s[32..40], next_u64());
    text(&s)
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
        for dash in [8, 13, 18, 23] {
            assert_eq!(&a[dash..dash + 1], "-");
        }
        assert!(a.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
    }

    #[test]
    fn hex_has_the_asked_length() {
        for digits in [0, 1, 16, 17, 32, 40] {
            let h = hex(digits);
            assert_eq!(h.len(), digits.min(32));
            assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        }
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
