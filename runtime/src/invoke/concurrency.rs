//! Concurrency caps: a function's reserved concurrency and the account-wide limit, counted
//! with atomics so the warm path takes no lock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Lambda's default account-wide concurrency limit.
pub const DEFAULT_ACCOUNT_CONCURRENCY: u32 = 1000;

/// Why an invocation was refused, as Lambda's `TooManyRequestsException` `Reason` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Throttled {
    /// The function's reserved concurrency is in use.
    #[error("ReservedFunctionConcurrentInvocationLimitExceeded")]
    Reserved,
    /// The account's concurrency is in use.
    #[error("ConcurrentInvocationLimitExceeded")]
    Account,
}

impl Throttled {
    /// The `Reason` field of Lambda's 429 body.
    pub fn reason(self) -> &'static str {
        match self {
            Throttled::Reserved => "ReservedFunctionConcurrentInvocationLimitExceeded",
            Throttled::Account => "ConcurrentInvocationLimitExceeded",
        }
    }
}

/// The account-wide count of invocations in flight.
#[derive(Debug)]
pub struct AccountConcurrency {
    limit: u32,
    in_flight: AtomicU32,
}

impl AccountConcurrency {
    /// An account allowing `limit` concurrent invocations across all functions.
    pub fn new(limit: u32) -> Arc<Self> {
        Arc::new(AccountConcurrency {
            limit,
            in_flight: AtomicU32::new(0),
        })
    }

    /// Invocations running now, across all functions.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// A function's count of invocations in flight, shared by its versions.
#[derive(Debug)]
pub(crate) struct Concurrency {
    reserved: Option<u32>,
    in_flight: AtomicU32,
    account: Arc<AccountConcurrency>,
}

/// Held while an invocation runs; releases its place on drop.
pub(crate) struct Slot {
    function: Arc<Concurrency>,
}

impl Concurrency {
    pub(crate) fn new(reserved: Option<u32>, account: Arc<AccountConcurrency>) -> Arc<Self> {
        Arc::new(Concurrency {
            reserved,
            in_flight: AtomicU32::new(0),
            account,
        })
    }

    /// Takes a place under both caps, or says which one is full.
    pub(crate) fn acquire(self: &Arc<Self>) -> Result<Slot, Throttled> {
        let cap = self.reserved.unwrap_or(u32::MAX);
        if !increment_below(&self.in_flight, cap) {
            return Err(Throttled::Reserved);
        }
        if !increment_below(&self.account.in_flight, self.account.limit) {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(Throttled::Account);
        }
        Ok(Slot {
            function: self.clone(),
        })
    }

    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.function.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.function
            .account
            .in_flight
            .fetch_sub(1, Ordering::AcqRel);
    }
}

fn increment_below(counter: &AtomicU32, cap: u32) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < cap).then_some(n + 1)
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_account_caps_refuse_with_their_reasons() {
        let account = AccountConcurrency::new(3);
        let a = Concurrency::new(Some(2), account.clone());
        let b = Concurrency::new(None, account.clone());
        let a1 = a.acquire().unwrap();
        let _a2 = a.acquire().unwrap();
        assert_eq!(a.acquire().err(), Some(Throttled::Reserved));
        let _b1 = b.acquire().unwrap();
        assert_eq!(b.acquire().err(), Some(Throttled::Account));
        assert_eq!(account.in_flight(), 3);
        drop(a1);
        assert!(b.acquire().is_ok());
        assert_eq!(a.in_flight(), 1);
    }
}
