//! CloudWatch-style log groups, bounded in memory and mirrored to stdout by a writer thread.
//!
//! Requests store structured records (an invocation's platform lines, an access record) and
//! the text is produced only when someone reads it or the stdout mirror prints it, so logging
//! costs the hot path one short lock and no formatting.
//!
//! A group is a [`StripedQueue`]: each writing thread appends to its own stripe, and a read
//! merges the stripes and keeps the newest [`ENTRIES_PER_GROUP`], exactly what one shared
//! queue of that bound would hold.

use std::collections::HashMap;
use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};

use super::striped_queue::StripedQueue;

/// How many entries (lines or records) each log group keeps.
const ENTRIES_PER_GROUP: usize = 10_000;

/// Something that becomes one or more log lines when read.
pub trait LogRecord: Send + Sync + 'static {
    /// The lines, in order.
    fn lines(&self) -> Vec<String>;
}

/// One log line in a group, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The stream within the group.
    pub stream: Arc<str>,
    /// The line itself.
    pub message: String,
}

#[derive(Clone)]
enum Body {
    Line(String),
    Record(Arc<dyn LogRecord>),
    /// Asks the writer to signal once everything before it is written out.
    Flush(mpsc::SyncSender<()>),
}

struct Entry {
    timestamp: u64,
    stream: StreamName,
    body: Body,
}

/// The stream an entry belongs to: a fixed name (the gateway's `access` stream) is kept by
/// pointer, so appending to it touches no reference count all threads share.
#[derive(Clone)]
pub enum StreamName {
    /// A name fixed for the life of the process.
    Static(&'static str),
    /// A name made at run time (a function instance's stream).
    Shared(Arc<str>),
}

impl StreamName {
    fn to_arc(&self) -> Arc<str> {
        match self {
            StreamName::Static(name) => Arc::from(*name),
            StreamName::Shared(name) => name.clone(),
        }
    }
}

impl From<&'static str> for StreamName {
    fn from(name: &'static str) -> Self {
        StreamName::Static(name)
    }
}

impl From<&Arc<str>> for StreamName {
    fn from(name: &Arc<str>) -> Self {
        StreamName::Shared(name.clone())
    }
}

/// One log group; keep the handle to append without looking the group up again.
pub struct LogGroup {
    entries: StripedQueue<Entry>,
    stdout: Option<mpsc::Sender<Body>>,
}

impl LogGroup {
    fn new(stdout: Option<mpsc::Sender<Body>>) -> Self {
        LogGroup {
            entries: StripedQueue::new(ENTRIES_PER_GROUP),
            stdout,
        }
    }

    /// Appends a plain line.
    pub fn push_line(&self, stream: impl Into<StreamName>, timestamp: u64, line: String) {
        self.push(stream.into(), timestamp, Body::Line(line));
    }

    /// Appends a record whose lines are produced when read.
    pub fn push_record(
        &self,
        stream: impl Into<StreamName>,
        timestamp: u64,
        record: Arc<dyn LogRecord>,
    ) {
        self.push(stream.into(), timestamp, Body::Record(record));
    }

    fn push(&self, stream: StreamName, timestamp: u64, body: Body) {
        if let Some(tx) = &self.stdout {
            let _ = tx.send(body.clone());
        }
        self.entries.push(Entry {
            timestamp,
            stream,
            body,
        });
    }

    /// Waits until every line pushed so far has been written to the group's output (stdout
    /// or a file); returns at once for a group kept in memory only.
    pub fn flush(&self) {
        if let Some(tx) = &self.stdout {
            let (done, wait) = mpsc::sync_channel(1);
            if tx.send(Body::Flush(done)).is_ok() {
                let _ = wait.recv();
            }
        }
    }

    /// Every line, oldest first.
    pub fn events(&self) -> Vec<LogEvent> {
        let entries = self.entries.newest(usize::MAX, |e| {
            Some((e.timestamp, e.stream.clone(), e.body.clone()))
        });
        let mut events = Vec::with_capacity(entries.len());
        for (timestamp, stream, body) in entries.into_iter().rev() {
            let stream = stream.to_arc();
            match body {
                Body::Line(message) => events.push(LogEvent {
                    timestamp,
                    stream,
                    message,
                }),
                Body::Record(record) => {
                    events.extend(record.lines().into_iter().map(|message| LogEvent {
                        timestamp,
                        stream: stream.clone(),
                        message,
                    }))
                }
                Body::Flush(_) => {}
            }
        }
        events
    }
}

/// Every log group of the stack.
pub struct LogStore {
    groups: RwLock<HashMap<String, Arc<LogGroup>>>,
    stdout: Option<mpsc::Sender<Body>>,
}

impl LogStore {
    /// A store that also prints every line to stdout when `mirror_to_stdout` is set.
    pub fn new(mirror_to_stdout: bool) -> Self {
        LogStore {
            groups: RwLock::new(HashMap::new()),
            stdout: mirror_to_stdout.then(spawn_stdout_writer),
        }
    }

    /// The group called `name`, created on first use.
    pub fn group(&self, name: &str) -> Arc<LogGroup> {
        if let Some(g) = self
            .groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return g.clone();
        }
        let mut groups = self.groups.write().unwrap_or_else(|p| p.into_inner());
        groups
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(LogGroup::new(self.stdout.clone())))
            .clone()
    }

    /// The group called `name`, whose lines are also written to `out` (a file or stdout) by
    /// a writer thread of its own instead of the store's stdout mirror. An existing group is
    /// returned unchanged.
    pub fn group_writing_to(&self, name: &str, out: Box<dyn Write + Send>) -> Arc<LogGroup> {
        let mut groups = self.groups.write().unwrap_or_else(|p| p.into_inner());
        groups
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(LogGroup::new(Some(spawn_writer(out)))))
            .clone()
    }

    /// Appends lines to one stream of a group, in order.
    pub fn append<I>(&self, group: &str, stream: &Arc<str>, timestamp: u64, lines: I)
    where
        I: IntoIterator<Item = String>,
    {
        let group = self.group(group);
        for line in lines {
            group.push_line(stream, timestamp, line);
        }
    }

    /// The lines of a group, oldest first (empty for an unknown group).
    pub fn events(&self, group: &str) -> Vec<LogEvent> {
        let group = self
            .groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(group)
            .cloned();
        group.map(|g| g.events()).unwrap_or_default()
    }

    /// The names of all groups, sorted.
    pub fn group_names(&self) -> Vec<String> {
        let groups = self.groups.read().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = groups.keys().cloned().collect();
        names.sort();
        names
    }
}

fn spawn_stdout_writer() -> mpsc::Sender<Body> {
    spawn_writer(Box::new(std::io::stdout()))
}

fn spawn_writer(mut sink: Box<dyn Write + Send>) -> mpsc::Sender<Body> {
    let (tx, rx) = mpsc::channel::<Body>();
    let _ = std::thread::Builder::new()
        .name("portico-log-writer".into())
        .spawn(move || {
            let mut flushed = Vec::new();
            while let Ok(first) = rx.recv() {
                let mut out = std::io::BufWriter::new(&mut *sink);
                write_body(&mut out, first, &mut flushed);
                // Drain whatever queued meanwhile before flushing: one write per burst.
                while let Ok(body) = rx.try_recv() {
                    write_body(&mut out, body, &mut flushed);
                }
                let _ = out.flush();
                drop(out);
                for done in flushed.drain(..) {
                    let _ = done.send(());
                }
            }
        });
    tx
}

fn write_body(out: &mut dyn Write, body: Body, flushed: &mut Vec<mpsc::SyncSender<()>>) {
    match body {
        Body::Line(line) => {
            let _ = writeln!(out, "{line}");
        }
        Body::Record(record) => {
            for line in record.lines() {
                let _ = writeln!(out, "{line}");
            }
        }
        Body::Flush(done) => flushed.push(done),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    struct Two;
    impl LogRecord for Two {
        fn lines(&self) -> Vec<String> {
            vec!["a".into(), "b".into()]
        }
    }

    #[test]
    fn groups_keep_entries_in_order_and_bounded() {
        let store = LogStore::new(false);
        let stream: Arc<str> = Arc::from("s");
        store.append(
            "/g",
            &stream,
            1,
            (0..ENTRIES_PER_GROUP + 5).map(|i| i.to_string()),
        );
        let events = store.events("/g");
        assert_eq!(events.len(), ENTRIES_PER_GROUP);
        assert_eq!(events[0].message, "5");
        assert!(store.events("/nope").is_empty());
    }

    #[test]
    fn entries_of_many_threads_merge_in_order_and_stay_bounded() {
        let store = Arc::new(LogStore::new(false));
        let stream: Arc<str> = Arc::from("s");
        // The threads take turns, each appending the next block of 500 numbered lines, so
        // the order of appends across threads (and stripes) is known.
        const BLOCK: usize = 500;
        let total = ENTRIES_PER_GROUP + 3 * BLOCK;
        let turn = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..3)
            .map(|t| {
                let (store, stream, turn) = (store.clone(), stream.clone(), turn.clone());
                std::thread::spawn(move || {
                    let group = store.group("/m");
                    for block in (t..total / BLOCK).step_by(3) {
                        while turn.load(Ordering::Acquire) != block {
                            std::thread::yield_now();
                        }
                        for i in block * BLOCK..(block + 1) * BLOCK {
                            group.push_line(&stream, 1, i.to_string());
                        }
                        turn.store(block + 1, Ordering::Release);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let lines: Vec<String> = store.events("/m").into_iter().map(|e| e.message).collect();
        let expected: Vec<String> = (total - ENTRIES_PER_GROUP..total)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn records_expand_into_their_lines() {
        let store = LogStore::new(false);
        let stream: Arc<str> = Arc::from("s");
        let group = store.group("/r");
        group.push_line(&stream, 1, "first".into());
        group.push_record(&stream, 2, Arc::new(Two));
        let lines: Vec<String> = store.events("/r").into_iter().map(|e| e.message).collect();
        assert_eq!(lines, ["first", "a", "b"]);
    }
}
