//! The OTLP exporter's connection to its collector: one keep-alive connection carries batch
//! after batch, a collector that closes it gets a new one, and a long answer to an accepted
//! batch is read and discarded — the batch counts as exported.

mod common;
mod otlp_support;
mod upstream_support;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::TestStack;
use otlp_support::counting_collector;
use portico_runtime::Clock;
use tokio::sync::mpsc;

fn toml(endpoint: &str) -> String {
    otlp_support::exporting_toml(endpoint, otlp_support::QUICK_ROUTE)
}

async fn start(endpoint: &str) -> TestStack {
    otlp_support::start_exporting(&toml(endpoint), Clock::system()).await
}

/// Sends `batches` requests, each exported alone (the next is sent once the collector has
/// the previous one and the exporter has counted it); returns the callers' addresses the
/// collector saw.
async fn export_batches(
    stack: &TestStack,
    rx: &mut mpsc::UnboundedReceiver<SocketAddr>,
    batches: u64,
) -> Vec<SocketAddr> {
    let counters = stack.stack.otlp_exporter().unwrap().counters();
    let mut peers = Vec::new();
    for done in 1..=batches {
        let res = stack.request("POST", "/quick", &[], "{}").await;
        assert_eq!(res.status, 200, "{}", res.text());
        // A bound on a hung exporter, not a wait for time to pass.
        let peer = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the collector received nothing")
            .expect("collector stopped");
        peers.push(peer);
        while counters.exported.load(Ordering::Relaxed) + counters.failed.load(Ordering::Relaxed)
            < done
        {
            tokio::task::yield_now().await;
        }
    }
    peers
}

#[tokio::test]
async fn three_batches_go_over_one_connection() {
    let (endpoint, mut rx) = counting_collector(0, false).await;
    let stack = start(&endpoint).await;
    let peers = export_batches(&stack, &mut rx, 3).await;
    assert_eq!(peers.len(), 3);
    assert!(peers.iter().all(|p| *p == peers[0]), "{peers:?}");
    let counters = stack.stack.otlp_exporter().unwrap().counters();
    assert_eq!(counters.exported.load(Ordering::Relaxed), 3);
    assert_eq!(counters.failed.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn an_accepted_batch_with_a_100_kib_answer_counts_as_exported() {
    let (endpoint, mut rx) = counting_collector(100 * 1024, false).await;
    let stack = start(&endpoint).await;
    let peers = export_batches(&stack, &mut rx, 2).await;
    let counters = stack.stack.otlp_exporter().unwrap().counters();
    assert_eq!(counters.exported.load(Ordering::Relaxed), 2);
    assert_eq!(counters.failed.load(Ordering::Relaxed), 0);
    assert_eq!(counters.retries.load(Ordering::Relaxed), 0);
    // The long answer was read to its end: the connection carried the next batch too.
    assert_eq!(peers[0], peers[1]);
}

#[tokio::test]
async fn a_collector_that_closes_the_connection_gets_a_new_one_per_batch() {
    let (endpoint, mut rx) = counting_collector(16, true).await;
    let stack = start(&endpoint).await;
    let peers = export_batches(&stack, &mut rx, 2).await;
    assert_ne!(peers[0], peers[1]);
    let counters = stack.stack.otlp_exporter().unwrap().counters();
    assert_eq!(counters.exported.load(Ordering::Relaxed), 2);
    assert_eq!(counters.failed.load(Ordering::Relaxed), 0);
    assert_eq!(counters.retries.load(Ordering::Relaxed), 0);
}
