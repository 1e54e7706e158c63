//! Presigned requests on IAM routes: SigV4 in the query string (`X-Amz-Signature` and
//! friends) instead of the `Authorization` header, valid for `X-Amz-Expires` seconds.

mod common;
mod sigv4_support;

use std::time::Duration;

use common::{TestResponse, TestStack};
use portico_runtime::Clock;
use sigv4_support::*;

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

async fn start() -> (TestStack, Clock) {
    start_iam_route("ANY /orders", r#"function = "echo""#).await
}

fn assert_refused(res: &TestResponse, message: &str, error_type: &str, case: &str) {
    assert_eq!(res.status, 403, "{case}: {}", res.text());
    assert_eq!(res.json()["message"], message, "{case}");
    assert_eq!(res.header("x-amzn-errortype"), Some(error_type), "{case}");
}

#[tokio::test]
async fn a_presigned_request_reaches_the_function_with_the_signers_identity() {
    let (stack, _clock) = start().await;
    let mut signed = ToSign::new("GET", "/orders", stack.addr.to_string(), b"");
    signed.query = "page=2";
    let query = signed.presigned_query(60);
    let res = stack
        .request("GET", &format!("/orders?{query}"), &[], b"".to_vec())
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let event = res.json();
    assert_eq!(
        event["requestContext"]["authorizer"]["iam"]["userArn"],
        ALICE_ARN
    );
    assert_eq!(event["queryStringParameters"]["page"], "2");

    let body = br#"{"item":"book"}"#;
    let signed = ToSign::new("POST", "/orders", stack.addr.to_string(), body);
    let query = signed.presigned_query(60);
    let res = stack
        .request("POST", &format!("/orders?{query}"), &[], body.to_vec())
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["body"], r#"{"item":"book"}"#);
}

#[tokio::test]
async fn x_amz_expires_bounds_the_signature_on_the_clock() {
    let (stack, clock) = start().await;
    let signed = ToSign::new("GET", "/orders", stack.addr.to_string(), b"");
    let short = format!("/orders?{}", signed.presigned_query(60));
    let long = format!("/orders?{}", signed.presigned_query(3600));

    clock.advance(Duration::from_secs(60));
    let res = stack.request("GET", &short, &[], b"".to_vec()).await;
    assert_eq!(res.status, 200, "valid for its last second: {}", res.text());

    clock.advance(Duration::from_secs(1));
    let res = stack.request("GET", &short, &[], b"".to_vec()).await;
    assert_refused(
        &res,
        "Signature expired: 20260102T030405Z is now earlier than 20260102T030406Z (20260102T030506Z - 60 sec.)",
        "InvalidSignatureException",
        "61 s after a 60 s presign",
    );

    // An hour's validity outlasts the header form's five-minute window.
    clock.advance(Duration::from_secs(30 * 60));
    let res = stack.request("GET", &long, &[], b"".to_vec()).await;
    assert_eq!(res.status, 200, "{}", res.text());
}

#[tokio::test]
async fn tampered_incomplete_or_foreign_presigned_requests_are_refused() {
    let (stack, _clock) = start().await;
    let host = stack.addr.to_string();
    let mut signed = ToSign::new("GET", "/orders", host.clone(), b"");
    signed.query = "page=2";
    let good = signed.presigned_query(60);
    let mut wrong_secret = ToSign::new("GET", "/orders", host.clone(), b"");
    wrong_secret.secret = "guess";
    let mut unknown = ToSign::new("GET", "/orders", host.clone(), b"");
    unknown.key = "AKIDNOBODY000000";
    let cases = [
        (
            "a query parameter changed",
            good.replace("page=2", "page=3"),
            MISMATCH,
            "InvalidSignatureException",
        ),
        (
            "a query parameter added",
            format!("{good}&admin=true"),
            MISMATCH,
            "InvalidSignatureException",
        ),
        (
            "the signature left out",
            good.split("&X-Amz-Signature").next().unwrap_or_default().to_owned(),
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the query-string parameters.",
            "IncompleteSignatureException",
        ),
        (
            "a longer validity than signed",
            good.replace("X-Amz-Expires=60", "X-Amz-Expires=600"),
            MISMATCH,
            "InvalidSignatureException",
        ),
        (
            "a validity over seven days",
            good.replace("X-Amz-Expires=60", "X-Amz-Expires=604801"),
            "X-Amz-Expires must be a whole number of seconds from 1 to 604800. Got '604801'.",
            "InvalidSignatureException",
        ),
        (
            "a malformed credential",
            good.replace("%2Faws4_request", "%2Fother"),
            "Credential should be scoped to a valid region, a service and 'aws4_request'.",
            "IncompleteSignatureException",
        ),
        (
            "the wrong secret",
            wrong_secret.presigned_query(60),
            MISMATCH,
            "InvalidSignatureException",
        ),
        (
            "an unknown access key",
            unknown.presigned_query(60),
            "The security token included in the request is invalid.",
            "UnrecognizedClientException",
        ),
    ];
    for (case, query, message, error_type) in cases {
        let res = stack
            .request("GET", &format!("/orders?{query}"), &[], b"".to_vec())
            .await;
        assert_refused(&res, message, error_type, case);
    }
    // The same presigned query for another method is refused too.
    let res = stack
        .request("DELETE", &format!("/orders?{good}"), &[], b"".to_vec())
        .await;
    assert_refused(
        &res,
        MISMATCH,
        "InvalidSignatureException",
        "another method",
    );
    // And the good one still passes: nothing above changed state.
    let res = stack
        .request("GET", &format!("/orders?{good}"), &[], b"".to_vec())
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
}
