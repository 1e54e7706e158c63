//! A JWT-protected route vs the same route open (same API, same function), loaded by wrk.
//! The JWKS is loaded at start, so this measures verification itself (RS256). Goal: the
//! protected route at ≥ 0.85 × the open route's throughput.
//! Run: `BENCH_SECONDS=3 cargo bench --bench auth` (needs `wrk`).

mod support;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portico_runtime::{Config, Registry, Stack};

const KEY: &[u8] = include_bytes!("../tests/fixtures/auth/key.pem");
const JWKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth/jwks.json");

fn main() {
    support::require_wrk();
    let toml = format!(
        r#"
[logs]
stdout = false
access_log = true

# Lift the account throttle (AWS's default: 10,000 rps) so the bench measures the gateway.
[throttle]
rate_limit = 1000000000
burst_limit = 1000000000

[apis.bench]
type = "http"
[apis.bench.authorizers.users]
type = "jwt"
issuer = "https://issuer.example.com"
audiences = ["bench"]
jwks_file = "{JWKS}"
[[apis.bench.routes]]
route = "GET /open/{{name}}"
function = "hello"
[[apis.bench.routes]]
route = "GET /jwt/{{name}}"
function = "hello"
authorizer = "users"
authorization_scopes = ["read"]
"#
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = serde_json::json!({"sub": "bench", "iss": "https://issuer.example.com",
        "aud": "bench", "iat": now - 5, "exp": now + 86_400, "scope": "read"});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(KEY).expect("key"),
    )
    .expect("sign");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addr = runtime.block_on(async {
        let mut registry = Registry::new();
        portico_functions::register_all(&mut registry);
        let config = Config::from_toml(&toml, "bench.toml", &registry).expect("bench config");
        let stack = Stack::builder(config, &registry).build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(portico_runtime::serve(
            stack,
            listener,
            std::future::pending(),
        ));
        addr
    });
    let auth_header = format!("Authorization: Bearer {token}");
    println!("auth benchmark: {} s per run, wrk -t2", support::seconds());
    for connections in [16, 64] {
        let open = support::wrk(&format!("http://{addr}/open/bench"), connections, &[]);
        let jwt = support::wrk(
            &format!("http://{addr}/jwt/bench"),
            connections,
            &["-H", &auth_header],
        );
        support::row("open route", connections, &open, &open);
        support::row("JWT-protected route (RS256)", connections, &jwt, &open);
    }
}
