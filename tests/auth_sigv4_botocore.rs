//! Requests signed by botocore (`SigV4Auth`, and `SigV4QueryAuth` for presigned URLs,
//! service `execute-api`) pass an IAM route.
//! Skips, saying so, when python3 or botocore is missing (.ci/run installs boto3).

mod common;
mod sigv4_support;

use std::process::Command;
use std::time::Duration;

use sigv4_support::*;

const SIGNER: &str = r#"
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.loads(sys.argv[1])
req = AWSRequest(method=a["method"], url=a["url"], data=a["body"].encode(),
                 headers={"content-type": "application/json"})
SigV4Auth(Credentials(a["key"], a["secret"], "session-token"), "execute-api", "us-east-1").add_auth(req)
print(json.dumps(dict(req.headers.items())))
"#;

const PRESIGNER: &str = r#"
import json, sys
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.loads(sys.argv[1])
req = AWSRequest(method=a["method"], url=a["url"])
SigV4QueryAuth(Credentials(a["key"], a["secret"], "session-token"), "execute-api", "us-east-1",
               expires=a["expires"]).add_auth(req)
print(req.url)
"#;

/// Runs a botocore `script` on `args` (with alice's credentials added) and returns what it
/// printed; `None` when python3 or botocore is unavailable.
fn botocore(script: &str, mut args: serde_json::Value, what: &str) -> Option<Vec<u8>> {
    args["key"] = ALICE_KEY.into();
    args["secret"] = ALICE_SECRET.into();
    let out = Command::new("python3")
        .args(["-c", script, &args.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("No module named 'botocore'"),
            "the botocore {what} failed: {stderr}"
        );
        return None;
    }
    Some(out.stdout)
}

/// Presigns with botocore; `None` when python3 or botocore is unavailable.
fn botocore_presign(method: &str, url: &str, expires: u64) -> Option<String> {
    let args = serde_json::json!({"method": method, "url": url, "expires": expires});
    let out = botocore(PRESIGNER, args, "presigner")?;
    Some(String::from_utf8_lossy(&out).trim().to_owned())
}

/// Signs with botocore; `None` when python3 or botocore is unavailable.
fn botocore_sign(method: &str, url: &str, body: &str) -> Option<Vec<(String, String)>> {
    let args = serde_json::json!({"method": method, "url": url, "body": body});
    let out = botocore(SIGNER, args, "signer")?;
    let headers: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out).expect("signer output");
    Some(
        headers
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect(),
    )
}

#[tokio::test]
async fn a_request_signed_by_botocore_passes() {
    // The port is only known once serving, and the signature covers the host: bind first,
    // sign, then move the manual clock to botocore's signing time.
    let (stack, clock) = start_iam_route("POST /orders/{id}", r#"function = "echo""#).await;
    let path = "/orders/a%20b~c?z=1&a=x%2Fy&a=b&empty=";
    let body = r#"{"item":"book"}"#;
    let url = stack.url(path);
    let Some(headers) = botocore_sign("POST", &url, body) else {
        println!("SKIPPED: python3 with botocore is not installed (pip install boto3)");
        return;
    };
    let amz_date = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-date"))
        .map(|(_, v)| v.clone())
        .expect("botocore sets X-Amz-Date");
    let signed_at = amz_date_secs(&amz_date);
    let now = clock.now_millis() / 1000;
    assert!(
        signed_at > now,
        "botocore signs at the real time, after {NOW}"
    );
    clock.advance(Duration::from_secs(signed_at - now + 30));

    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = stack.request("POST", path, &pairs, body).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let event = res.json();
    assert_eq!(
        event["requestContext"]["authorizer"]["iam"]["userArn"],
        ALICE_ARN
    );
    assert_eq!(event["pathParameters"]["id"], "a b~c");

    // The same signature on a tampered body is refused.
    let res = stack
        .request("POST", path, &pairs, r#"{"item":"car"}"#)
        .await;
    assert_eq!(res.status, 403, "{}", res.text());
}

#[tokio::test]
async fn a_url_presigned_by_botocore_passes_until_it_expires() {
    let (stack, clock) = start_iam_route("GET /orders/{id}", r#"function = "echo""#).await;
    let url = stack.url("/orders/a%20b?z=1&a=x%2Fy");
    let Some(presigned) = botocore_presign("GET", &url, 120) else {
        println!("SKIPPED: python3 with botocore is not installed (pip install boto3)");
        return;
    };
    let path = presigned
        .strip_prefix(&stack.url(""))
        .expect("botocore keeps the host")
        .to_owned();
    assert!(path.contains("X-Amz-Signature="), "{path}");
    let amz_date = path
        .split('&')
        .find_map(|p| p.strip_prefix("X-Amz-Date="))
        .expect("botocore sets X-Amz-Date");
    let signed_at = amz_date_secs(amz_date);
    let now = clock.now_millis() / 1000;
    assert!(
        signed_at > now,
        "botocore signs at the real time, after {NOW}"
    );
    clock.advance(Duration::from_secs(signed_at - now + 100));

    let res = stack.request("GET", &path, &[], "").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let event = res.json();
    assert_eq!(
        event["requestContext"]["authorizer"]["iam"]["userArn"],
        ALICE_ARN
    );
    assert_eq!(event["queryStringParameters"]["a"], "x/y");

    clock.advance(Duration::from_secs(21));
    let res = stack.request("GET", &path, &[], "").await;
    assert_eq!(res.status, 403, "{}", res.text());
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Signature expired"),
        "{}",
        res.text()
    );
}

/// `YYYYMMDDTHHMMSSZ` to seconds since the epoch.
fn amz_date_secs(amz: &str) -> u64 {
    chrono::NaiveDateTime::parse_from_str(amz, "%Y%m%dT%H%M%SZ")
        .expect("an X-Amz-Date")
        .and_utc()
        .timestamp() as u64
}
