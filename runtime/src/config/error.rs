//! Config errors, each with the place in the file it comes from.

use std::fmt;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file's path as given.
    pub file: String,
    /// 1-based line, 0 when the problem has no single place.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors while validating, turning byte offsets into line and column.
pub(crate) struct Errors<'a> {
    file: &'a str,
    source: &'a str,
    pub(crate) list: Vec<ConfigError>,
    /// While set, errors are placed here and prefixed: for definitions imported from another
    /// file, whose own offsets mean nothing in this one.
    pub(crate) pinned: Option<(usize, String)>,
}

impl<'a> Errors<'a> {
    pub(crate) fn new(file: &'a str, source: &'a str) -> Self {
        Errors {
            file,
            source,
            list: Vec::new(),
            pinned: None,
        }
    }

    /// An error at a byte offset with no message yet, for problems found after validation.
    pub(crate) fn location(&self, offset: usize) -> ConfigError {
        let (line, column) = line_col(self.source, offset);
        ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            message: String::new(),
        }
    }

    /// Records a problem at a byte offset of the source (`None`: no single place).
    pub(crate) fn at(&mut self, offset: Option<usize>, message: impl Into<String>) {
        let mut message = message.into();
        let offset = match &self.pinned {
            Some((at, prefix)) => {
                message = format!("{prefix}{message}");
                Some(*at)
            }
            None => offset,
        };
        let (line, column) = match offset {
            Some(offset) => line_col(self.source, offset),
            None => (0, 0),
        };
        self.list.push(ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            message,
        });
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}
