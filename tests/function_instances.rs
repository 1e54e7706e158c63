//! Instances and cold starts over real HTTP: init code once per instance, simulated init delay
//! on the clock, Init Duration on cold invocations only, warm reuse, idle eviction, forced
//! cold starts, provisioned concurrency, and instances discarded after timeouts and panics.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use common::{quiet, TestResponse, TestStack};
use portico_runtime::invoke::InitContext;
use portico_runtime::{Clock, Context, FunctionError, Handler, Registry};
use serde_json::{json, Value};

/// Counts its inits; answers with the instance number; hangs or panics when asked to.
struct Counted {
    instance: u32,
}

#[async_trait]
impl Handler for Counted {
    async fn call(&self, event: Value, ctx: Context) -> Result<Value, FunctionError> {
        match event["do"].as_str() {
            Some("hang") => std::future::pending().await,
            Some("panic") => panic!("asked to panic"),
            _ => Ok(json!({
                "instance": self.instance,
                "color": ctx.env("COLOR"),
                "memory": ctx.env_config.memory_mb,
                "remaining_ms": ctx.remaining_time().as_millis() as u64,
            })),
        }
    }
}

fn counting(
    inits: Arc<AtomicU32>,
) -> impl Fn(InitContext) -> std::future::Ready<Result<Counted, FunctionError>> + Send + Sync + 'static
{
    move |_init: InitContext| {
        let instance = inits.fetch_add(1, Ordering::SeqCst) + 1;
        std::future::ready(Ok(Counted { instance }))
    }
}

fn registry(inits: Arc<AtomicU32>, provisioned: Arc<AtomicU32>) -> Registry {
    let mut r = Registry::new();
    r.register_with_init("counted", counting(inits));
    r.register_with_init("provisioned", counting(provisioned));
    r
}

const TOML: &str = r#"
[functions.counted]
cold_start = "250ms"
idle_timeout = "5m"
timeout = "2s"
memory_mb = 256
environment = { COLOR = "teal" }

[functions.warm]
handler = "provisioned"
provisioned_concurrency = 2
cold_start = "1s"
"#;

const INVOKE: &str = "/2015-03-31/functions/counted/invocations";

fn clock() -> Clock {
    Clock::manual(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

async fn start() -> (TestStack, Clock, Arc<AtomicU32>, Arc<AtomicU32>) {
    let inits = Arc::new(AtomicU32::new(0));
    let provisioned = Arc::new(AtomicU32::new(0));
    let clock = clock();
    let registry = registry(inits.clone(), provisioned.clone());
    let stack = TestStack::start_with_clock(&quiet(TOML), &registry, clock.clone()).await;
    (stack, clock, inits, provisioned)
}

/// Asserts the REPORT line's `Init Duration` is the simulated `delay_ms` plus the real time the
/// init code took — which the machine decides, so only an upper bound far above it is checked.
fn assert_init_duration(report: &str, delay_ms: f64) {
    let value: f64 = report
        .split('\t')
        .find_map(|field| field.strip_prefix("Init Duration: "))
        .and_then(|v| v.strip_suffix(" ms"))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Init Duration in {report}"));
    assert!(
        (delay_ms..delay_ms + 1000.0).contains(&value),
        "Init Duration {value} is not the {delay_ms} ms delay plus the init code's time: {report}"
    );
}

fn report(res: &TestResponse) -> String {
    let tail = base64::engine::general_purpose::STANDARD
        .decode(res.header("x-amz-log-result").expect("log tail"))
        .unwrap();
    let text = String::from_utf8(tail).unwrap();
    text.lines()
        .find(|l| l.starts_with("REPORT"))
        .expect("REPORT line")
        .to_owned()
}

/// Invokes in the background; the caller advances the clock.
fn invoke(
    stack: &TestStack,
    path: &str,
    body: &str,
    extra: &[(&'static str, &'static str)],
) -> tokio::task::JoinHandle<TestResponse> {
    let client = stack.clone_client();
    let path = path.to_owned();
    let body = body.to_owned();
    let mut headers = vec![("x-amz-log-type", "Tail")];
    headers.extend_from_slice(extra);
    tokio::spawn(async move { client.request("POST", &path, &headers, body).await })
}

async fn wait_sleepers(clock: &Clock, n: usize) {
    while clock.sleepers() < n {
        tokio::task::yield_now().await;
    }
}

/// Invokes where a cold start is expected: waits for its init delay, then advances past it.
async fn cold(
    stack: &TestStack,
    clock: &Clock,
    path: &str,
    body: &str,
    extra: &[(&'static str, &'static str)],
    delay: Duration,
) -> TestResponse {
    let baseline = clock.sleepers();
    let call = invoke(stack, path, body, extra);
    wait_sleepers(clock, baseline + 1).await;
    clock.advance(delay);
    call.await.unwrap()
}

const INIT: Duration = Duration::from_millis(250);

#[tokio::test]
async fn cold_start_runs_init_once_and_reports_init_duration_only_when_cold() {
    let (stack, clock, inits, _) = start().await;
    let first = invoke(&stack, INVOKE, "{}", &[]);
    wait_sleepers(&clock, 1).await;
    assert_eq!(
        inits.load(Ordering::SeqCst),
        1,
        "init code ran before the delay"
    );
    assert!(!first.is_finished());
    clock.advance(Duration::from_millis(250));
    let first = first.await.unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["instance"], 1);
    assert_eq!(first.json()["color"], "teal");
    assert_eq!(first.json()["memory"], 256);
    assert_eq!(
        first.json()["remaining_ms"],
        2000,
        "the deadline starts after init"
    );
    let cold = report(&first);
    assert_init_duration(&cold, 250.0);
    assert!(cold.contains("\tMemory Size: 256 MB\t"), "{cold}");

    // Warm: no delay, no init, no Init Duration.
    let warm = invoke(&stack, INVOKE, "{}", &[]).await.unwrap();
    assert_eq!(warm.json()["instance"], 1);
    assert!(
        !report(&warm).contains("Init Duration"),
        "{}",
        report(&warm)
    );
    assert_eq!(inits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_cold_start_header_forces_a_new_instance() {
    let (stack, clock, inits, _) = start().await;
    cold(&stack, &clock, INVOKE, "{}", &[], INIT).await;
    let forced = cold(
        &stack,
        &clock,
        INVOKE,
        "{}",
        &[("x-portico-cold-start", "force")],
        INIT,
    )
    .await;
    assert_eq!(forced.json()["instance"], 2);
    assert_init_duration(&report(&forced), 250.0);
    assert_eq!(inits.load(Ordering::SeqCst), 2);
    assert_eq!(stack.stack.function("counted").unwrap().warm_instances(), 2);
}

#[tokio::test]
async fn idle_instances_are_evicted_after_the_idle_timeout() {
    let (stack, clock, inits, _) = start().await;
    cold(&stack, &clock, INVOKE, "{}", &[], INIT).await;
    let function = stack.stack.function("counted").unwrap();
    assert_eq!(function.warm_instances(), 1);
    clock.advance(Duration::from_secs(299));
    let still_warm = invoke(&stack, INVOKE, "{}", &[]).await.unwrap();
    assert_eq!(still_warm.json()["instance"], 1);
    clock.advance(Duration::from_secs(300));
    assert_eq!(
        function.warm_instances(),
        0,
        "idle for the whole idle timeout"
    );
    let again = cold(&stack, &clock, INVOKE, "{}", &[], INIT).await;
    assert_eq!(again.json()["instance"], 2);
    assert_eq!(inits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_invocations_get_their_own_instances() {
    let (stack, clock, inits, _) = start().await;
    let hang = invoke(&stack, INVOKE, r#"{"do":"hang"}"#, &[]);
    wait_sleepers(&clock, 1).await;
    clock.advance(Duration::from_millis(250));
    // The hanging invocation now waits on its 2 s timeout; a second one needs a new instance.
    wait_sleepers(&clock, 1).await;
    let second = invoke(&stack, INVOKE, "{}", &[]);
    wait_sleepers(&clock, 2).await;
    clock.advance(Duration::from_millis(250));
    assert_eq!(second.await.unwrap().json()["instance"], 2);
    assert_eq!(inits.load(Ordering::SeqCst), 2);
    clock.advance(Duration::from_secs(2));
    assert_eq!(hang.await.unwrap().status, 200);
}

#[tokio::test]
async fn a_timed_out_instance_is_discarded_and_the_next_call_is_cold() {
    let (stack, clock, inits, _) = start().await;
    let hang = invoke(&stack, INVOKE, r#"{"do":"hang"}"#, &[]);
    wait_sleepers(&clock, 1).await;
    clock.advance(Duration::from_millis(250));
    wait_sleepers(&clock, 1).await;
    clock.advance(Duration::from_secs(2));
    let res = hang.await.unwrap();
    assert_eq!(res.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(res.json()["errorType"], "Sandbox.Timedout");
    let tail = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(res.header("x-amz-log-result").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(tail.contains("Task timed out after 2.00 seconds"), "{tail}");
    assert_eq!(stack.stack.function("counted").unwrap().warm_instances(), 0);
    let next = cold(&stack, &clock, INVOKE, "{}", &[], INIT).await;
    assert_eq!(next.json()["instance"], 2);
    assert_eq!(inits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_panicked_instance_is_replaced_and_the_process_keeps_serving() {
    let (stack, clock, _, _) = start().await;
    let boom = cold(&stack, &clock, INVOKE, r#"{"do":"panic"}"#, &[], INIT).await;
    assert_eq!(boom.json()["errorType"], "Runtime.Panic");
    assert_eq!(stack.stack.function("counted").unwrap().warm_instances(), 0);
    let next = cold(&stack, &clock, INVOKE, "{}", &[], INIT).await;
    assert_eq!(
        (next.status, next.json()["instance"].clone()),
        (200, json!(2))
    );
}

#[tokio::test]
async fn provisioned_instances_are_ready_without_a_cold_start() {
    let (stack, clock, _, inits) = start().await;
    let path = "/2015-03-31/functions/warm/invocations";
    let a = invoke(&stack, path, r#"{"do":"hang"}"#, &[]);
    // The first provisioned instance hangs on its timeout (3 s default); no init delay ran.
    wait_sleepers(&clock, 1).await;
    let b = invoke(&stack, path, "{}", &[]).await.unwrap();
    assert!(!report(&b).contains("Init Duration"), "{}", report(&b));
    assert_eq!(
        inits.load(Ordering::SeqCst),
        2,
        "both provisioned instances initialized"
    );
    // A third concurrent invocation is a real cold start with the configured 1 s delay.
    let c = invoke(&stack, path, r#"{"do":"hang"}"#, &[]);
    let d = invoke(&stack, path, "{}", &[]);
    wait_sleepers(&clock, 3).await;
    assert_eq!(inits.load(Ordering::SeqCst), 3);
    clock.advance(Duration::from_secs(1));
    let d = d.await.unwrap();
    assert_init_duration(&report(&d), 1000.0);
    clock.advance(Duration::from_secs(3));
    a.await.unwrap();
    c.await.unwrap();
}
