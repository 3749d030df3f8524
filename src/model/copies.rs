//! A backup's copies: one per destination of its task, each with its own
//! state, and the task's policy of how many must be written for a backup to
//! count.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where one copy of a backup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyState {
    /// Every object is written and committed on that destination.
    Complete,
    /// Writing it failed; `error` says why.
    Failed,
    /// Not written yet (the destination could not be reached).
    Missing,
}

impl CopyState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyState::Complete => "complete",
            CopyState::Failed => "failed",
            CopyState::Missing => "missing",
        }
    }
}

/// One copy of a backup on one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupCopy {
    /// Destination name.
    pub destination: String,
    /// Its state.
    pub state: CopyState,
    /// Why it is not complete (`None` when it is).
    pub error: Option<String>,
    /// Times the scheduler tried to fill it in and failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    /// When the scheduler tries again (`None`: at its next look).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl BackupCopy {
    /// A complete copy on `destination`.
    pub fn complete(destination: &str) -> BackupCopy {
        BackupCopy {
            destination: destination.to_string(),
            state: CopyState::Complete,
            error: None,
            attempts: 0,
            retry_at: None,
        }
    }

    /// A copy that is not there, with why.
    pub fn lacking(destination: &str, state: CopyState, error: String) -> BackupCopy {
        BackupCopy {
            error: Some(error),
            state,
            ..BackupCopy::complete(destination)
        }
    }
}

/// How many of a task's destinations must hold a complete copy for a backup
/// to count: every one (the default), any one, or at least a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CopyPolicy {
    /// Every destination.
    #[default]
    All,
    /// At least one.
    Any,
    /// At least this many (1 or more).
    AtLeast(u32),
}

impl CopyPolicy {
    /// Copies required out of `total` destinations (never more than there are).
    pub fn required(self, total: usize) -> usize {
        match self {
            CopyPolicy::All => total,
            CopyPolicy::Any => total.min(1),
            CopyPolicy::AtLeast(n) => usize::try_from(n).unwrap_or(usize::MAX).min(total),
        }
    }

    /// Parses `all`, `any` or a number of copies (1 to 100).
    pub fn parse(s: &str) -> Result<CopyPolicy, String> {
        match s.trim() {
            "all" => Ok(CopyPolicy::All),
            "any" => Ok(CopyPolicy::Any),
            n => match n.parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => Ok(CopyPolicy::AtLeast(n)),
                _ => Err(format!(
                    "{:?} is not a copy policy; use all, any, or a number of copies from 1 to 100",
                    s.chars().take(40).collect::<String>()
                )),
            },
        }
    }
}

impl fmt::Display for CopyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopyPolicy::All => f.write_str("all"),
            CopyPolicy::Any => f.write_str("any"),
            CopyPolicy::AtLeast(n) => write!(f, "{n}"),
        }
    }
}

// In TOML and JSON the policy is `"all"`, `"any"` or a number.
impl Serialize for CopyPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CopyPolicy::AtLeast(n) => s.serialize_u32(*n),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for CopyPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CopyPolicy, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => CopyPolicy::parse(&n.to_string()),
            Raw::Text(t) => CopyPolicy::parse(&t),
        }
        .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn policies_count_copies() {
        assert_eq!(CopyPolicy::All.required(3), 3);
        assert_eq!(CopyPolicy::Any.required(3), 1);
        assert_eq!(CopyPolicy::Any.required(0), 0);
        assert_eq!(CopyPolicy::AtLeast(2).required(3), 2);
        assert_eq!(CopyPolicy::AtLeast(5).required(3), 3);
        for (text, p) in [
            ("\"all\"", CopyPolicy::All),
            ("\"any\"", CopyPolicy::Any),
            ("2", CopyPolicy::AtLeast(2)),
        ] {
            assert_eq!(serde_json::from_str::<CopyPolicy>(text).unwrap(), p);
            assert_eq!(serde_json::to_string(&p).unwrap(), text);
        }
        assert!(CopyPolicy::parse("0").is_err());
        assert!(CopyPolicy::parse("most").is_err());
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(s in ".{0,200}") {
            if let Err(e) = CopyPolicy::parse(&s) {
                prop_assert!(e.len() < 600, "{}", e.len());
            }
        }
    }
}
