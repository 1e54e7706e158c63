//! Configuration text that every request's log records name (route keys, resource paths,
//! stage names, API ids, function versions), kept once for the life of the process.
//!
//! A record used to hold these as `Arc<str>` clones of the configuration's text. Every
//! request then incremented and, when the record was evicted, decremented reference counts
//! that every worker thread shares: cache-line transfers between cores on each request.
//! Interned text is `&'static str`, copied by pointer. Each distinct text is kept once, so
//! memory grows only with text that configurations (including hot reloads) ever named.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// The one copy of `text` for the life of the process.
pub fn intern(text: &str) -> &'static str {
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(kept) = texts.get(text) {
        return kept;
    }
    let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
    texts.insert(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::intern;

    #[test]
    fn equal_texts_share_one_copy() {
        let a = intern("GET /hello/{name}");
        let b = intern(&String::from("GET /hello/{name}"));
        assert_eq!(a, "GET /hello/{name}");
        assert!(std::ptr::eq(a, b));
        assert!(!std::ptr::eq(a, intern("GET /other")));
    }
}
