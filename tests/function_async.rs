//! `Event` invocations over real HTTP: retries with Lambda's backoff on the clock, maximum
//! event age, and destinations (a function, a dead-letter file) in Lambda's record format.

mod common;

use std::time::Duration;

use async_trait::async_trait;
use common::{quiet, TestStack};
use portico_runtime::{Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Reports every attempt; fails unless the event says `ok`.
struct Flaky(mpsc::UnboundedSender<Value>);

#[async_trait]
impl Handler for Flaky {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let _ = self.0.send(event.clone());
        if event["ok"] == true {
            Ok(json!({"done": event["n"]}))
        } else {
            Err(FunctionError::unhandled("Boom", "it failed"))
        }
    }
}

/// Receives destination records.
struct Sink(mpsc::UnboundedSender<Value>);

#[async_trait]
impl Handler for Sink {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        let _ = self.0.send(event);
        Ok(Value::Null)
    }
}

fn toml(dlq: &str) -> String {
    format!(
        r#"
[functions.flaky]
[functions.flaky.async]
retry_delay = "1m"
on_success = "function:sink"
on_failure = "file:{dlq}"

[functions.once]
handler = "flaky"
[functions.once.async]
maximum_retry_attempts = 0
maximum_event_age = "60s"

[functions.aging]
handler = "flaky"
[functions.aging.async]
maximum_event_age = "90s"
retry_delay = "1m"
"#
    )
}

struct Setup {
    stack: TestStack,
    clock: Clock,
    attempts: mpsc::UnboundedReceiver<Value>,
    records: mpsc::UnboundedReceiver<Value>,
    dlq: std::path::PathBuf,
}

async fn start(test: &str) -> Setup {
    let clock = Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let (tx, attempts) = mpsc::unbounded_channel();
    let (sink_tx, records) = mpsc::unbounded_channel();
    let mut r = Registry::new();
    r.register("flaky", Flaky(tx))
        .register("sink", Sink(sink_tx));
    let dlq = std::env::temp_dir().join(format!("portico-dlq-{}-{test}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&dlq);
    let stack =
        TestStack::start_with_clock(&quiet(&toml(&dlq.display().to_string())), &r, clock.clone())
            .await;
    Setup {
        stack,
        clock,
        attempts,
        records,
        dlq,
    }
}

async fn event(stack: &TestStack, name: &str, body: &str) -> String {
    let res = stack
        .request(
            "POST",
            &format!("/2015-03-31/functions/{name}/invocations"),
            &[("x-amz-invocation-type", "Event")],
            body.to_owned(),
        )
        .await;
    assert_eq!(res.status, 202);
    res.header("x-amzn-requestid").unwrap().to_owned()
}

async fn wait_sleepers(clock: &Clock, n: usize) {
    while clock.sleepers() < n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn success_goes_to_the_on_success_function_in_lambdas_record_format() {
    let mut s = start("success").await;
    let id = event(&s.stack, "flaky", r#"{"ok": true, "n": 1}"#).await;
    assert_eq!(s.attempts.recv().await.unwrap()["n"], 1);
    let record = s.records.recv().await.unwrap();
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["timestamp"], "2023-11-14T22:13:20.000Z");
    assert_eq!(
        record["requestContext"],
        json!({"requestId": id, "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:flaky:$LATEST", "condition": "Success", "approximateInvokeCount": 1})
    );
    assert_eq!(record["requestPayload"], json!({"ok": true, "n": 1}));
    assert_eq!(
        record["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST"})
    );
    assert_eq!(record["responsePayload"], json!({"done": 1}));
}

#[tokio::test]
async fn failures_are_retried_after_one_then_two_minutes_then_dead_lettered() {
    let mut s = start("retries").await;
    let id = event(&s.stack, "flaky", r#"{"n": 2}"#).await;
    s.attempts.recv().await.unwrap();
    wait_sleepers(&s.clock, 1).await;
    s.clock.advance(Duration::from_secs(59));
    assert!(s.attempts.try_recv().is_err(), "no retry before a minute");
    s.clock.advance(Duration::from_secs(1));
    s.attempts.recv().await.unwrap();
    wait_sleepers(&s.clock, 1).await;
    s.clock.advance(Duration::from_secs(60));
    assert!(
        s.attempts.try_recv().is_err(),
        "the second retry waits two minutes"
    );
    wait_sleepers(&s.clock, 1).await;
    s.clock.advance(Duration::from_secs(60));
    s.attempts.recv().await.unwrap();
    let function = s.stack.stack.function("flaky").unwrap();
    while function.async_pending() > 0 {
        tokio::task::yield_now().await;
    }
    assert!(
        s.attempts.try_recv().is_err(),
        "two retries, three attempts"
    );
    let text = std::fs::read_to_string(&s.dlq).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let record = &lines[0];
    assert_eq!(record["requestContext"]["requestId"], id);
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["requestPayload"], json!({"n": 2}));
    assert_eq!(
        record["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
    );
    assert_eq!(
        record["responsePayload"],
        json!({"errorMessage": "it failed", "errorType": "Boom"})
    );
    let _ = std::fs::remove_file(&s.dlq);
}

#[tokio::test]
async fn without_a_destination_a_failed_event_is_a_logged_drop() {
    let mut s = start("drop").await;
    let id = event(&s.stack, "once", r#"{"n": 3}"#).await;
    s.attempts.recv().await.unwrap();
    let function = s.stack.stack.function("once").unwrap();
    while function.async_pending() > 0 {
        tokio::task::yield_now().await;
    }
    let logs = s.stack.stack.logs().events("/aws/lambda/once");
    let dropped = format!("Asynchronous event {id} dropped: RetriesExhausted after 1 attempt(s): no on-failure destination");
    assert!(logs.iter().any(|e| e.message == dropped), "{logs:?}");
}

#[tokio::test]
async fn events_older_than_the_maximum_age_are_dropped() {
    let mut s = start("age").await;
    let id = event(&s.stack, "aging", r#"{"n": 4}"#).await;
    s.attempts.recv().await.unwrap();
    wait_sleepers(&s.clock, 1).await;
    s.clock.advance(Duration::from_secs(60));
    s.attempts.recv().await.unwrap();
    // The next retry would be two minutes later, past the 90 s age: the event expires first.
    wait_sleepers(&s.clock, 1).await;
    s.clock.advance(Duration::from_secs(30));
    let function = s.stack.stack.function("aging").unwrap();
    while function.async_pending() > 0 {
        tokio::task::yield_now().await;
    }
    assert!(s.attempts.try_recv().is_err());
    let logs = s.stack.stack.logs().events("/aws/lambda/aging");
    let dropped = format!("Asynchronous event {id} dropped: EventAgeExceeded after 2 attempt(s): no on-failure destination");
    assert!(logs.iter().any(|e| e.message == dropped), "{logs:?}");
}
