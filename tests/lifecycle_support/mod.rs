//! Helpers for the lifecycle tests: a private data directory, a config file on disk, the
//! stack with its admin listener, and handlers that report which definition served them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use portico_runtime::config::StoreKind;
use portico_runtime::{
    Config, Context, FunctionError, Handler, LambdaEvent, Registry, Stack, StartError,
};
use serde_json::{json, Value};

use crate::common::{TestResponse, TestStack};

/// A fresh directory under the system temp dir, unique to this process and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "portico-lifecycle-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Registers `name`: a handler answering with `label` and the request's stage variables.
pub fn register_labelled(registry: &mut Registry, name: &str, label: &'static str) {
    registry.register_fn(name, move |event: LambdaEvent<Value>| async move {
        Ok::<Value, lambda_runtime::Error>(answer(label, &event.payload))
    });
}

/// Registers `name`, labelled like [`register_labelled`], counting its cold starts.
pub fn register_counted(registry: &mut Registry, name: &str, label: &'static str) -> Inits {
    let inits = Inits::default();
    let counter = inits.0.clone();
    registry.register_with_init(name, move |_init| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok(Labelled(label)) }
    });
    inits
}

/// A [`Handler`] answering with its label and the request's stage variables.
pub struct Labelled(pub &'static str);

#[portico_runtime::async_trait]
impl Handler for Labelled {
    async fn call(&self, event: Value, _ctx: Context) -> Result<Value, FunctionError> {
        Ok(answer(self.0, &event))
    }
}

/// The proxy response of a labelled handler.
pub fn answer(label: &str, event: &Value) -> Value {
    let body = json!({ "side": label, "stageVariables": event["stageVariables"] });
    json!({ "statusCode": 200, "body": body.to_string() })
}

/// A running stack started from a config file, with its admin listener.
pub struct Running {
    pub gateway: TestStack,
    pub admin: std::net::SocketAddr,
    pub file: PathBuf,
    pub data_dir: PathBuf,
    admin_task: tokio::task::JoinHandle<()>,
    /// Removed on drop when the stack made it.
    owned_dir: Option<PathBuf>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.admin_task.abort();
        if let Some(dir) = &self.owned_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes `toml` (with `data_dir` set to a private directory) to a file and serves it.
pub async fn start(name: &str, toml: &str, registry: &Registry) -> Running {
    let dir = temp_dir(name);
    let data_dir = dir.join("data");
    let mut running = start_in(&dir, &data_dir, toml, registry).await;
    running.owned_dir = Some(dir);
    running
}

/// Serves `toml` from `dir/gateway.toml` on the embedded store in `dir/.portico`, with
/// `data_dir` as its `[server] data_dir` (where an old `deployments.json` is imported from).
pub async fn start_in(dir: &Path, data_dir: &Path, toml: &str, registry: &Registry) -> Running {
    let stack = open_in(dir, data_dir, toml, registry)
        .await
        .unwrap_or_else(|e| panic!("cannot start: {e}"));
    let app = stack.admin_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let admin = listener.local_addr().expect("addr");
    let admin_task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Running {
        gateway: TestStack::serve(stack).await,
        admin,
        file: dir.join("gateway.toml"),
        data_dir: data_dir.to_owned(),
        admin_task,
        owned_dir: None,
    }
}

/// Writes `dir/gateway.toml` and opens its stack on the embedded store in `dir/.portico`.
pub async fn open_in(
    dir: &Path,
    data_dir: &Path,
    toml: &str,
    registry: &Registry,
) -> Result<Stack, StartError> {
    let file = dir.join("gateway.toml");
    write_config(&file, data_dir, toml);
    let config = Config::load(&file, registry).unwrap_or_else(|e| panic!("config errors:\n{e}"));
    Stack::builder(config, registry)
        .config_path(&file)
        .default_store(StoreKind::Embedded)
        .open()
        .await
}

/// Writes a config file whose `[server] data_dir` is `data_dir`.
pub fn write_config(file: &Path, data_dir: &Path, toml: &str) {
    let text = format!(
        "[server]\ndata_dir = {:?}\n\n{}",
        data_dir.display().to_string(),
        crate::common::quiet(toml)
    );
    std::fs::write(file, text).expect("write config");
}

impl Running {
    /// Rewrites the config file (keeping the data directory).
    pub fn rewrite(&self, toml: &str) {
        write_config(&self.file, &self.data_dir, toml);
    }

    /// A request to the admin listener.
    pub async fn admin(&self, method: &str, path: &str, body: Value) -> TestResponse {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        self.admin_raw(method, path, &body).await
    }

    /// A request to the admin listener with a body as given.
    pub async fn admin_raw(&self, method: &str, path: &str, body: &str) -> TestResponse {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
        let body = body.to_owned();
        let req = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.admin))
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .expect("request");
        let res = client.request(req).await.expect("admin request");
        let (parts, body) = res.into_parts();
        use http_body_util::BodyExt;
        TestResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.collect().await.expect("body").to_bytes(),
        }
    }

    /// `POST /reload` on the admin listener.
    pub async fn reload(&self) -> TestResponse {
        self.admin("POST", "/reload", Value::Null).await
    }

    /// GET on the gateway, answering with the body as JSON.
    pub async fn side(&self, path: &str) -> Value {
        let res = self.gateway.get(path).await;
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    }
}

/// Counts cold starts (init runs) of a handler.
#[derive(Clone, Default)]
pub struct Inits(pub Arc<AtomicUsize>);

impl Inits {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
