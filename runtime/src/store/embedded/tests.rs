use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::store::StoreExt;

/// A fresh directory under the OS temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("portico-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn clock() -> Clock {
    Clock::manual(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_limit_of_256_concurrent_increments_succeed() {
    let dir = TempDir::new();
    let store = Arc::new(EmbeddedStore::open(&dir.0, clock()).unwrap());
    let tasks: Vec<_> = (0..256)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.incr_if_below("q", 100, None).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if let CounterDecision::Incremented(_) = task.await.unwrap().unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, 100);
    assert_eq!(store.get_counter("q").await.unwrap(), 100);
}

#[tokio::test]
async fn counters_and_records_survive_reopening() {
    let dir = TempDir::new();
    let clock = clock();
    {
        let store = EmbeddedStore::open(&dir.0, clock.clone()).unwrap();
        assert_eq!(store.add_counter("c", 41, None).await.unwrap(), 41);
        store.put_json("rec/a", &"alpha", None).await.unwrap();
        store.put_json("rec/b", &"beta", None).await.unwrap();
        store.put_json("other", &1, None).await.unwrap();
    }
    let store = EmbeddedStore::open(&dir.0, clock).unwrap();
    assert_eq!(store.add_counter("c", 1, None).await.unwrap(), 42);
    let listed: Vec<String> = store
        .list("rec/")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(listed, ["rec/a", "rec/b"]);
    assert_eq!(
        store.get_json::<String>("rec/b").await.unwrap().as_deref(),
        Some("beta")
    );
    assert!(store.delete("rec/a").await.unwrap());
    assert!(!store.delete("rec/a").await.unwrap());
}

#[tokio::test]
async fn expiry_follows_the_injected_clock() {
    let dir = TempDir::new();
    let clock = clock();
    let store = EmbeddedStore::open(&dir.0, clock.clone()).unwrap();
    let at = clock.now() + Duration::from_secs(60);
    assert_eq!(
        store.incr_if_below("q", 1, Some(at)).await.unwrap(),
        CounterDecision::Incremented(1)
    );
    assert_eq!(
        store.incr_if_below("q", 1, Some(at)).await.unwrap(),
        CounterDecision::AtLimit(1)
    );
    store
        .put("r", Bytes::from_static(b"x"), Some(at))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(60));
    assert_eq!(store.get_counter("q").await.unwrap(), 0);
    assert_eq!(store.get("r").await.unwrap(), None);
    assert_eq!(store.purge_expired().await.unwrap(), 2);
    assert_eq!(
        store.incr_if_below("q", 1, None).await.unwrap(),
        CounterDecision::Incremented(1)
    );
}

#[tokio::test]
async fn type_mismatch_and_overflow_are_errors_that_change_nothing() {
    let dir = TempDir::new();
    let store = EmbeddedStore::open(&dir.0, clock()).unwrap();
    store
        .put("r", Bytes::from_static(b"x"), None)
        .await
        .unwrap();
    assert!(matches!(
        store.add_counter("r", 1, None).await,
        Err(StoreError::WrongType { .. })
    ));
    assert_eq!(store.get("r").await.unwrap().as_deref(), Some(&b"x"[..]));
    store.add_counter("c", u64::MAX, None).await.unwrap();
    assert!(matches!(
        store.add_counter("c", 1, None).await,
        Err(StoreError::Overflow(_))
    ));
    assert_eq!(store.get_counter("c").await.unwrap(), u64::MAX);
    assert!(matches!(
        store.get("c").await,
        Err(StoreError::WrongType { .. })
    ));
}

#[test]
fn a_file_that_is_not_a_database_is_refused_naming_its_path() {
    let dir = TempDir::new();
    let file = dir.0.join(DB_FILE);
    std::fs::write(&file, vec![b'x'; 4096]).unwrap();
    let err = EmbeddedStore::open(&dir.0, clock()).err().unwrap();
    let text = err.to_string();
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains("not a database"), "{text}");
    assert_eq!(std::fs::read(&file).unwrap(), vec![b'x'; 4096]);
}

#[test]
fn another_programs_database_and_another_schema_version_are_refused() {
    let dir = TempDir::new();
    let file = dir.0.join(DB_FILE);
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute_batch("CREATE TABLE t (x)").unwrap();
    drop(conn);
    let text = EmbeddedStore::open(&dir.0, clock())
        .err()
        .unwrap()
        .to_string();
    assert!(text.contains("another program"), "{text}");

    let dir = TempDir::new();
    drop(EmbeddedStore::open(&dir.0, clock()).unwrap());
    let conn = rusqlite::Connection::open(dir.0.join(DB_FILE)).unwrap();
    conn.execute_batch("PRAGMA user_version = 7").unwrap();
    drop(conn);
    let text = EmbeddedStore::open(&dir.0, clock())
        .err()
        .unwrap()
        .to_string();
    assert!(text.contains("schema version 7"), "{text}");
}

#[test]
fn a_data_directory_that_cannot_be_created_is_refused_naming_it() {
    let dir = TempDir::new();
    let blocker = dir.0.join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let data = blocker.join("data");
    let text = EmbeddedStore::open(&data, clock())
        .err()
        .unwrap()
        .to_string();
    assert!(text.contains(&data.display().to_string()), "{text}");
    assert!(text.contains("cannot create the data directory"), "{text}");
}
