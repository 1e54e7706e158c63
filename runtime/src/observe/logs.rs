//! CloudWatch-style log groups: bounded in memory, mirrored to stdout by a writer thread so
//! request handling never blocks on the terminal.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};

/// How many events each log group keeps in memory.
const EVENTS_PER_GROUP: usize = 10_000;

/// One log line in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The stream within the group.
    pub stream: Arc<str>,
    /// The line itself.
    pub message: String,
}

/// Every log group of the stack.
pub struct LogStore {
    groups: RwLock<HashMap<String, Arc<Mutex<VecDeque<LogEvent>>>>>,
    stdout: Option<mpsc::Sender<String>>,
}

impl LogStore {
    /// A store that also prints every line to stdout when `mirror_to_stdout` is set.
    pub fn new(mirror_to_stdout: bool) -> Self {
        let stdout = mirror_to_stdout.then(spawn_stdout_writer);
        LogStore {
            groups: RwLock::new(HashMap::new()),
            stdout,
        }
    }

    /// Appends lines to one stream of a group, in order.
    pub fn append<I>(&self, group: &str, stream: &Arc<str>, timestamp: u64, lines: I)
    where
        I: IntoIterator<Item = String>,
    {
        let group_events = self.group(group);
        let mut events = group_events.lock().unwrap_or_else(|p| p.into_inner());
        for message in lines {
            if let Some(tx) = &self.stdout {
                let _ = tx.send(message.clone());
            }
            if events.len() == EVENTS_PER_GROUP {
                events.pop_front();
            }
            events.push_back(LogEvent {
                timestamp,
                stream: stream.clone(),
                message,
            });
        }
    }

    /// The events of a group, oldest first (empty for an unknown group).
    pub fn events(&self, group: &str) -> Vec<LogEvent> {
        let groups = self.groups.read().unwrap_or_else(|p| p.into_inner());
        match groups.get(group) {
            Some(events) => events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// The names of all groups.
    pub fn group_names(&self) -> Vec<String> {
        let groups = self.groups.read().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = groups.keys().cloned().collect();
        names.sort();
        names
    }

    fn group(&self, name: &str) -> Arc<Mutex<VecDeque<LogEvent>>> {
        if let Some(g) = self
            .groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return g.clone();
        }
        let mut groups = self.groups.write().unwrap_or_else(|p| p.into_inner());
        groups.entry(name.to_owned()).or_default().clone()
    }
}

fn spawn_stdout_writer() -> mpsc::Sender<String> {
    let (tx, rx) = mpsc::channel::<String>();
    let _ = std::thread::Builder::new()
        .name("portico-log-writer".into())
        .spawn(move || {
            let stdout = std::io::stdout();
            while let Ok(first) = rx.recv() {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{first}");
                // Drain whatever queued meanwhile before flushing: one write per burst.
                while let Ok(line) = rx.try_recv() {
                    let _ = writeln!(out, "{line}");
                }
                let _ = out.flush();
            }
        });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_lines_in_order_and_bounded() {
        let store = LogStore::new(false);
        let stream: Arc<str> = Arc::from("s");
        store.append(
            "/g",
            &stream,
            1,
            (0..EVENTS_PER_GROUP + 5).map(|i| i.to_string()),
        );
        let events = store.events("/g");
        assert_eq!(events.len(), EVENTS_PER_GROUP);
        assert_eq!(events[0].message, "5");
        assert!(store.events("/nope").is_empty());
    }
}
