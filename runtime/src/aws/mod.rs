//! AWS-compatible wire APIs.

pub mod stepfunctions;
