//! The shared level's record encoding: exact round trips, and anything else is `None`.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

use super::*;

fn sample() -> SharedRecord {
    let header = |n: &'static str, v: &[u8]| {
        (
            HeaderName::from_static(n),
            HeaderValue::from_bytes(v).unwrap(),
        )
    };
    SharedRecord {
        expires_at_millis: 1_700_000_060_000,
        response: CachedResponse::with_headers(
            StatusCode::NON_AUTHORITATIVE_INFORMATION,
            vec![
                header("set-cookie", b"a=1"),
                header("content-type", b"application/octet-stream"),
                header("set-cookie", b"b=2"),
                header("x-opaque", &[0x80, 0xff, b' ', b'z']),
            ],
            Bytes::from_static(b"\x00\x01binary\xff\r\n"),
        ),
    }
}

#[test]
fn a_record_round_trips_exactly() {
    let record = sample();
    assert_eq!(SharedRecord::decode(&record.encode()), Some(record));
    let empty = SharedRecord {
        expires_at_millis: 0,
        response: CachedResponse::new(StatusCode::OK, Bytes::new()),
    };
    assert_eq!(SharedRecord::decode(&empty.encode()), Some(empty));
}

#[test]
fn other_versions_and_damaged_records_are_none() {
    let good = sample().encode();
    assert_eq!(good[3], RECORD_VERSION);
    let mut other_version = good.to_vec();
    other_version[3] = RECORD_VERSION + 1;
    let mut bad_header = good.to_vec();
    // The first header name's first byte ("set-cookie" starts after 4 + 8 + 2 + 4 + 4 bytes).
    bad_header[22] = b' ';
    let mut huge_count = good.to_vec();
    huge_count[14..18].copy_from_slice(&u32::MAX.to_be_bytes());
    for bad in [
        Bytes::new(),
        Bytes::from_static(b"PCR"),
        Bytes::from(other_version),
        good.slice(..good.len() - 1),
        Bytes::from([&good[..], b"x"].concat()),
        Bytes::from(bad_header),
        Bytes::from(huge_count),
    ] {
        assert_eq!(SharedRecord::decode(&bad), None, "{bad:?}");
    }
}

#[test]
fn a_record_over_the_item_limit_is_none() {
    let record = SharedRecord {
        expires_at_millis: 1,
        response: CachedResponse::new(StatusCode::OK, vec![b'x'; MAX_ITEM_BYTES + 1]),
    };
    assert_eq!(SharedRecord::decode(&record.encode()), None);
}
