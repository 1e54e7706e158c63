//! A function built with AWS's `lambda_runtime`: echoes its event with what its context and
//! environment say; fails or crashes on request.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, ctx) = event.into_parts();
    println!("handling {}", ctx.request_id);
    if payload["crash"] == true {
        std::process::exit(3);
    }
    if payload["fail"] == true {
        return Err("asked to fail".into());
    }
    Ok(json!({
        "echo": payload,
        "request_id": ctx.request_id,
        "function": ctx.env_config.function_name,
        "memory": ctx.env_config.memory,
        "version": ctx.env_config.version,
        "color": std::env::var("COLOR").ok(),
        "handler": std::env::var("_HANDLER").ok(),
        "pid": std::process::id(),
        "deadline_in_future": ctx.deadline > 0,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    if std::env::var("FIXTURE_INIT_FAIL").is_ok() {
        eprintln!("init is failing on purpose");
        std::process::exit(2);
    }
    lambda_runtime::run(service_fn(handler)).await
}
