//! A SigV4 signer for the tests, written from AWS's specification independently of the
//! gateway's verifier (the botocore test checks both against a real SDK signer).
#![allow(dead_code)]

use std::time::{Duration, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use portico_runtime::Clock;
use sha2::{Digest, Sha256};

use crate::common::{quiet, shipped_registry, TestStack};

pub const ALICE_KEY: &str = "AKIDALICE0000000";
pub const ALICE_SECRET: &str = "alice/secret+KEY0000000000000000";
pub const ALICE_ARN: &str = "arn:aws:iam::111122223333:user/alice";
pub const BOB_KEY: &str = "AKIDBOB000000000";
pub const BOB_SECRET: &str = "bob-secret";
pub const BOB_ARN: &str = "arn:aws:iam::111122223333:user/bob";
/// 2026-01-02T03:04:05Z, the manual clock's start.
pub const NOW: u64 = 1_767_323_045;
pub const AMZ_DATE: &str = "20260102T030405Z";

/// The credentials block used by the SigV4 tests.
pub fn credentials_toml() -> String {
    format!(
        r#"credentials = [
  {{ access_key_id = "{ALICE_KEY}", secret_access_key = "{ALICE_SECRET}", principal = "{ALICE_ARN}", user_id = "AIDAALICE", routes = ["* /orders*", "GET /me"] }},
  {{ access_key_id = "{BOB_KEY}", secret_access_key = "{BOB_SECRET}", principal = "{BOB_ARN}", routes = ["GET /orders"] }},
]"#
    )
}

/// A stack serving one route, `route = "{route}"` with `target` (a TOML line such as
/// `function = "echo"`), behind an IAM authorizer holding [`credentials_toml`], on a manual
/// clock at [`NOW`].
pub async fn start_iam_route(route: &str, target: &str) -> (TestStack, Clock) {
    let toml = quiet(&format!(
        r#"
[apis.shop]
type = "http"
[apis.shop.authorizers.signed]
type = "iam"
{}
[[apis.shop.routes]]
route = "{route}"
{target}
authorizer = "signed"
"#,
        credentials_toml()
    ));
    let clock = Clock::manual(UNIX_EPOCH + Duration::from_secs(NOW));
    let stack = TestStack::start_with_clock(&toml, &shipped_registry(), clock.clone()).await;
    (stack, clock)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("key");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// What to sign. `path` and `query` are as sent (already encoded, query sorted).
pub struct ToSign<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Headers to sign, lowercase names, any order.
    pub headers: Vec<(&'a str, String)>,
    pub body: &'a [u8],
    pub key: &'a str,
    pub secret: &'a str,
    pub amz_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// Overrides the payload hash (e.g. `UNSIGNED-PAYLOAD`).
    pub payload_hash: Option<&'a str>,
}

impl<'a> ToSign<'a> {
    /// A request for `us-east-1` / `execute-api` at [`AMZ_DATE`], signed by alice.
    pub fn new(method: &'a str, path: &'a str, host: String, body: &'a [u8]) -> Self {
        ToSign {
            method,
            path,
            query: "",
            headers: vec![("host", host), ("x-amz-date", AMZ_DATE.to_owned())],
            body,
            key: ALICE_KEY,
            secret: ALICE_SECRET,
            amz_date: AMZ_DATE,
            region: "us-east-1",
            service: "execute-api",
            payload_hash: None,
        }
    }

    /// The `Authorization` header value.
    pub fn authorization(&self) -> String {
        let mut headers = self.headers.clone();
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let payload = self
            .payload_hash
            .map(str::to_owned)
            .unwrap_or_else(|| hex(&Sha256::digest(self.body)));
        // Services other than S3 sign the path encoded once more.
        let path = self.path.replace('%', "%25");
        let canonical = format!(
            "{}\n{path}\n{}\n{canonical_headers}\n{signed}\n{payload}",
            self.method, self.query
        );
        let date = &self.amz_date[..8];
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
            self.amz_date,
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let mut key = hmac(format!("AWS4{}", self.secret).as_bytes(), date);
        for part in [self.region, self.service, "aws4_request"] {
            key = hmac(&key, part);
        }
        let signature = hex(&hmac(&key, &to_sign));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.key
        )
    }

    /// The query string of a presigned request valid for `expires` seconds: the request's own
    /// query (`self.query`, encoded) and the `X-Amz-*` parameters, signing only `host`.
    pub fn presigned_query(&self, expires: u64) -> String {
        let date = &self.amz_date[..8];
        let credential = format!(
            "{}%2F{date}%2F{}%2F{}%2Faws4_request",
            self.key, self.region, self.service
        );
        let mut params: Vec<String> = self
            .query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        params.extend([
            "X-Amz-Algorithm=AWS4-HMAC-SHA256".to_owned(),
            format!("X-Amz-Credential={credential}"),
            format!("X-Amz-Date={}", self.amz_date),
            format!("X-Amz-Expires={expires}"),
            "X-Amz-SignedHeaders=host".to_owned(),
        ]);
        params.sort();
        let query = params.join("&");
        let host = self
            .headers
            .iter()
            .find(|(k, _)| *k == "host")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        let payload = hex(&Sha256::digest(self.body));
        let path = self.path.replace('%', "%25");
        let canonical = format!(
            "{}\n{path}\n{query}\nhost:{host}\n\nhost\n{payload}",
            self.method
        );
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
            self.amz_date,
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let mut key = hmac(format!("AWS4{}", self.secret).as_bytes(), date);
        for part in [self.region, self.service, "aws4_request"] {
            key = hmac(&key, part);
        }
        format!("{query}&X-Amz-Signature={}", hex(&hmac(&key, &to_sign)))
    }

    /// The headers to send: the signed ones plus `Authorization`.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        out.push(("authorization".into(), self.authorization()));
        out
    }
}
