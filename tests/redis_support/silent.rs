//! A relay on 127.0.0.1:0 in front of a `redis-server` that can go silent: until
//! [`SilentRelay::go_silent`] it passes every byte both ways; after it, it keeps every
//! connection open (and accepts new ones) but answers nothing — a Redis that hangs, which a
//! listener that never answers cannot stand in for, since a stack only starts on a Redis that
//! answers its PING and its reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The relay; stops accepting when dropped (with the test's runtime).
pub struct SilentRelay {
    /// `redis://127.0.0.1:<port>` of the relay.
    pub url: String,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    silent: AtomicBool,
    /// What the clients sent after the relay went silent (and Redis never saw).
    swallowed: Mutex<Vec<u8>>,
    more_swallowed: Notify,
}

impl SilentRelay {
    /// A relay to the `redis-server` on `upstream_port`.
    pub async fn start(upstream_port: u16) -> SilentRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream_port, accepting.clone()));
            }
        });
        SilentRelay { url, shared }
    }

    /// From now on nothing reaches Redis and nothing comes back.
    pub fn go_silent(&self) {
        self.shared.silent.store(true, Ordering::SeqCst);
    }

    /// Waits until a client sent `command` (e.g. `EVALSHA`) into the silence; false after a
    /// bound on a client that never sends it.
    pub async fn until_swallowed(&self, command: &str) -> bool {
        let wanted = command.as_bytes();
        let seen = || {
            let swallowed = self.shared.swallowed.lock().unwrap();
            swallowed.windows(wanted.len()).any(|w| w == wanted)
        };
        let wait = async {
            loop {
                let notified = self.shared.more_swallowed.notified();
                if seen() {
                    return;
                }
                notified.await;
            }
        };
        // A bound on a client that never sends it, not a wait for time to pass.
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .is_ok()
    }
}

async fn relay(mut client: TcpStream, upstream_port: u16, shared: Arc<Shared>) {
    if shared.silent.load(Ordering::SeqCst) {
        swallow(&mut client, &shared).await;
        return;
    }
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_redis, mut to_redis) = upstream.into_split();
    let up = shared.clone();
    tokio::spawn(async move {
        let mut buf = vec![0; 16 * 1024];
        while let Ok(n @ 1..) = from_client.read(&mut buf).await {
            if up.silent.load(Ordering::SeqCst) {
                up.swallowed.lock().unwrap().extend_from_slice(&buf[..n]);
                up.more_swallowed.notify_waiters();
            } else if to_redis.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0; 16 * 1024];
    while let Ok(n @ 1..) = from_redis.read(&mut buf).await {
        if !shared.silent.load(Ordering::SeqCst) && to_client.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Reads and keeps what the client sends, answering nothing, until it hangs up.
async fn swallow(client: &mut TcpStream, shared: &Shared) {
    let mut buf = vec![0; 16 * 1024];
    while let Ok(n @ 1..) = client.read(&mut buf).await {
        shared
            .swallowed
            .lock()
            .unwrap()
            .extend_from_slice(&buf[..n]);
        shared.more_swallowed.notify_waiters();
    }
}
