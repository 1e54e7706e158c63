//! Shared helpers for the workflow tests: a fake function registry and a tiny HTTP client.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use portico_runtime::workflow::{TaskFailure, TaskInvoker};
use serde_json::{json, Value};

/// Functions: `double` ({"n"} → {"n": 2n}), `boom` (always fails), `flaky` (fails twice),
/// `hang` (never returns).
#[derive(Default)]
pub struct Funcs {
    pub flaky_calls: AtomicUsize,
}

#[async_trait]
impl TaskInvoker for Funcs {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, TaskFailure> {
        match function {
            "double" => Ok(json!({"n": payload["n"].as_i64().unwrap_or(0) * 2})),
            "boom" => Err(TaskFailure {
                error: "Boom".into(),
                cause: "it blew up".into(),
            }),
            "flaky" => {
                if self.flaky_calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(TaskFailure {
                        error: "Flaky".into(),
                        cause: "try again".into(),
                    })
                } else {
                    Ok(json!("finally"))
                }
            }
            "hang" => std::future::pending().await,
            other => Err(TaskFailure {
                error: "Missing".into(),
                cause: other.into(),
            }),
        }
    }

    fn exists(&self, function: &str) -> bool {
        matches!(function, "double" | "boom" | "flaky" | "hang")
    }
}
