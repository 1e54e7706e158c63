//! Natural batching of admissions, like a group commit: while one `ADMIT` script is in
//! flight, the admissions that arrive queue; when its reply comes back, everything queued
//! (up to [`MAX_BATCH`]) goes as ONE script call. No timer: at low load every admission
//! goes alone and at once; under load a batch costs Redis one script and a handful of
//! calls however many requests share an API key.
//!
//! One [`Batcher`] task per connection (per hash slot on a cluster, where a script's keys
//! must share one) holds the queue, so a request that is cancelled while queued never
//! strands the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use redis::cluster_routing::Slot;
use redis::Script;
use tokio::sync::{mpsc, oneshot};

use super::admission::{Admission, Reply};
use super::admit::eval_sha;
use super::{Failure, Link};

/// The most admissions one script call carries: bounds the script's run time (Redis serves
/// nothing else meanwhile) and its argument count.
pub(super) const MAX_BATCH: usize = 128;

/// Why a batch produced no answer for an admission.
#[derive(Debug, Clone)]
pub(super) enum BatchError {
    /// Redis is unreachable (or was already known to be): apply the failure mode.
    Down,
    /// Redis refused the script, or its reply did not fit; the text says which.
    Backend(String),
}

/// An admission waiting for its batch, with where its answer goes.
struct Pending {
    admission: Admission,
    answer: oneshot::Sender<Result<Reply, BatchError>>,
}

/// The queue of one batching task.
#[derive(Clone)]
pub(super) struct Batcher {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Batcher {
    /// Starts the task that sends the queued admissions of `link` as batches of `script`;
    /// it ends when the last [`Batcher`] handle is dropped.
    pub(super) fn spawn(link: Arc<Link>, script: Script) -> Batcher {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(run(link, script, waiting));
        Batcher { queue }
    }

    /// Queues `admission` and waits for its answer from the batch it goes in.
    pub(super) async fn submit(&self, admission: Admission) -> Result<Reply, BatchError> {
        let (answer, reply) = oneshot::channel();
        let pending = Pending { admission, answer };
        if self.queue.send(pending).is_err() {
            return Err(BatchError::Backend(
                "the admission queue has stopped".into(),
            ));
        }
        reply
            .await
            .unwrap_or_else(|_| Err(BatchError::Backend("the admission batch was lost".into())))
    }
}

/// The batching tasks of a store: one for a single Redis, one per hash slot on a cluster
/// (at most 16,384, started on first use).
pub(super) enum Batchers {
    /// A single Redis: every admission shares one queue.
    Single(Batcher),
    /// A cluster: a script's keys must share a slot, so each slot has its own queue.
    Cluster {
        link: Arc<Link>,
        script: Script,
        by_slot: Mutex<HashMap<Slot, Batcher>>,
    },
}

impl Batchers {
    /// The batchers for `link`, sending `script`.
    pub(super) fn new(link: &Arc<Link>, script: &Script, cluster: bool) -> Batchers {
        match cluster {
            false => Batchers::Single(Batcher::spawn(link.clone(), script.clone())),
            true => Batchers::Cluster {
                link: link.clone(),
                script: script.clone(),
                by_slot: Mutex::new(HashMap::new()),
            },
        }
    }

    /// The queue for admissions (or slot groups of one) whose keys are in `slot`.
    pub(super) fn for_slot(&self, slot: Option<Slot>) -> Batcher {
        match (self, slot) {
            (Batchers::Single(batcher), _) => batcher.clone(),
            (
                Batchers::Cluster {
                    link,
                    script,
                    by_slot,
                },
                slot,
            ) => {
                let slot = slot.unwrap_or_else(|| Slot::for_key(""));
                // A poisoned lock only means another admission panicked mid-insert; the
                // map itself is still whole.
                let mut map = by_slot.lock().unwrap_or_else(|e| e.into_inner());
                map.entry(slot)
                    .or_insert_with(|| Batcher::spawn(link.clone(), script.clone()))
                    .clone()
            }
        }
    }
}

/// The batching loop: waits for the first queued admission, takes everything queued behind
/// it, runs them as one script, answers each, and repeats.
async fn run(link: Arc<Link>, script: Script, mut waiting: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::new();
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match execute(&link, &script, &batch).await {
            Ok(replies) => {
                for (pending, reply) in batch.drain(..).zip(replies) {
                    // The requester may have gone (client hung up): nobody to tell.
                    let _ = pending.answer.send(Ok(reply));
                }
            }
            Err(e) => {
                for pending in batch.drain(..) {
                    let _ = pending.answer.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Runs `batch` as one EVALSHA and splits its reply into one answer per admission.
async fn execute(
    link: &Arc<Link>,
    script: &Script,
    batch: &[Pending],
) -> Result<Vec<Reply>, BatchError> {
    let cmd = Admission::command(script, batch.iter().map(|p| &p.admission));
    let cmd = &cmd;
    let value: redis::Value = link
        .call(|mut conn| async move { eval_sha(&mut conn, script, cmd).await })
        .await
        .map_err(|failure| match failure {
            Failure::Down => BatchError::Down,
            Failure::Refused(e) => BatchError::Backend(format!("Redis refused an admission: {e}")),
        })?;
    Reply::split(&value, batch.len())
        .ok_or_else(|| BatchError::Backend(format!("unexpected admission reply {value:?}")))
}
