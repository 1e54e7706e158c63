//! Tokens minted in the tests: RS256 with the fixture key, and every way to get one wrong.

#![allow(dead_code)]

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portico_runtime::Config;
use serde_json::{json, Value};

pub const KEY: &[u8] = include_bytes!("../fixtures/auth/key.pem");
pub const OTHER_KEY: &[u8] = include_bytes!("../fixtures/auth/other.pem");
pub const PUBLIC_KEY: &[u8] = include_bytes!("../fixtures/auth/key.pub.pem");
pub const JWKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth/jwks.json");
pub const ISSUER: &str = "https://issuer.example.com";
pub const AUDIENCE: &str = "portico-tests";
/// The manual clock's start, in seconds since the epoch.
pub const NOW: u64 = 1_700_000_000;

/// Claims valid at [`NOW`] for an hour.
pub fn claims() -> Value {
    json!({"sub": "user-1", "iss": ISSUER, "aud": AUDIENCE, "iat": NOW - 10,
           "exp": NOW + 3600, "scope": "orders:read profile", "email": "a@example.com"})
}

/// Signs `claims` with `key` as RS256 under `kid`.
pub fn sign_with(claims: &Value, key: &[u8], kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_rsa_pem(key).expect("fixture key");
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

/// A valid token for `claims`.
pub fn sign(claims: &Value) -> String {
    sign_with(claims, KEY, "k1")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `alg: none`, no signature.
pub fn unsigned(claims: &Value) -> String {
    let header = b64(br#"{"alg":"none","kid":"k1","typ":"JWT"}"#);
    format!("{header}.{}.", b64(claims.to_string().as_bytes()))
}

/// HS256 "signed" with the public key's PEM as the HMAC secret (key confusion).
pub fn hs_with_public_key(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(PUBLIC_KEY)).expect("sign")
}

/// A valid token whose payload is swapped for `tampered` (the signature no longer fits).
pub fn tampered(claims: &Value, tampered: &Value) -> String {
    let token = sign(claims);
    let mut parts = token.split('.');
    let (h, _, s) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
    format!("{h}.{}.{s}", b64(tampered.to_string().as_bytes()))
}

/// Sets `key` in a copy of `claims`.
pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// Loads `authorizers` (the TOML that follows `[apis.web]` of an HTTP API, from line 4 of
/// `gw.toml`) with the shipped functions, expects it refused, and asserts its errors hold
/// every one of `expected`.
pub fn assert_authorizer_config_errors(authorizers: &str, expected: &[&str]) {
    let toml = format!("\n[apis.web]\ntype = \"http\"\n{authorizers}");
    let errors = Config::from_toml(&toml, "gw.toml", &crate::common::shipped_registry())
        .expect_err("invalid")
        .to_string();
    for expected in expected {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in:\n{errors}"
        );
    }
}
