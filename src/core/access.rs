//! Who may do what. Every front end passes a `Caller`; the core checks the role
//! an action needs and writes the audit log, so no front end can skip either.

use super::error::CoreError;
use super::service::Core;
use crate::model::AuditEntry;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Roles, ordered: each includes everything the ones before it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Run, pause/resume, cancel, verify, restore.
    Operator,
    /// Everything: delete backups, edit tasks and retention, manage keys.
    Admin,
}

impl Role {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity an action is performed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// OS user locally, key name over SSH.
    pub name: String,
    /// Role.
    pub role: Role,
    /// `local`, or `ssh ADDRESS`.
    pub origin: String,
}

impl Caller {
    /// The local user: whoever can open the home owns it, so the default role
    /// is admin; `role` may only lower it (e.g. a read-only session).
    pub fn local(role: Option<Role>) -> Caller {
        let name = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| format!("uid {}", rustix::process::getuid().as_raw()));
        Caller {
            name,
            role: role.unwrap_or(Role::Admin).min(Role::Admin),
            origin: "local".into(),
        }
    }
}

/// What an action needs and how it is named in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Minimum role.
    pub role: Role,
    /// Action name, e.g. `backup delete`.
    pub action: &'static str,
    /// What it acts on.
    pub target: String,
}

impl Requirement {
    /// A read-only action (never audited).
    pub fn read(action: &'static str) -> Requirement {
        Requirement {
            role: Role::Viewer,
            action,
            target: String::new(),
        }
    }

    /// A mutating action needing `role`, on `target`.
    pub fn write(role: Role, action: &'static str, target: impl Into<String>) -> Requirement {
        Requirement {
            role,
            action,
            target: target.into(),
        }
    }

    /// Whether the action changes anything (and so is audited).
    pub fn mutates(&self) -> bool {
        self.role > Role::Viewer
    }
}

impl Core {
    pub(crate) fn audit(
        &self,
        caller: &Caller,
        req: &Requirement,
        outcome: String,
    ) -> Result<(), CoreError> {
        self.catalog.append_audit(AuditEntry {
            id: 0,
            at: Utc::now(),
            who: caller.name.clone(),
            role: caller.role.as_str().into(),
            origin: caller.origin.clone(),
            action: req.action.into(),
            target: req.target.clone(),
            outcome,
        })?;
        Ok(())
    }

    /// Records an access event that is not a command (an SSH login or a
    /// refused one); a failure to write is logged, not fatal.
    pub fn record_access(&self, caller: &Caller, action: &str, target: &str, outcome: &str) {
        self.record_unknown_access(
            &caller.name,
            Some(caller.role),
            &caller.origin,
            action,
            target,
            outcome,
        );
    }

    /// Like `record_access`, for a caller with no role (an unknown SSH key).
    pub fn record_unknown_access(
        &self,
        who: &str,
        role: Option<Role>,
        origin: &str,
        action: &str,
        target: &str,
        outcome: &str,
    ) {
        let entry = AuditEntry {
            id: 0,
            at: Utc::now(),
            who: who.into(),
            role: role.map_or("-", |r| r.as_str()).into(),
            origin: origin.into(),
            action: action.into(),
            target: target.into(),
            outcome: outcome.into(),
        };
        if let Err(e) = self.catalog.append_audit(entry) {
            tracing::warn!("could not write the audit log: {e}");
        }
    }

    /// Checks the caller's role; a refusal is audited and returned (exit 4).
    pub(crate) fn authorize(&self, caller: &Caller, req: &Requirement) -> Result<(), CoreError> {
        if caller.role >= req.role {
            return Ok(());
        }
        let why = format!(
            "{} requires the {} role; {} is {}",
            req.action, req.role, caller.name, caller.role
        );
        self.audit(caller, req, format!("refused: {why}"))?;
        Err(CoreError::Refused(format!("refused: {why}")))
    }

    /// Records how an authorised mutating action ended.
    pub(crate) fn record<T>(
        &self,
        caller: &Caller,
        req: &Requirement,
        result: &Result<T, CoreError>,
    ) {
        if !req.mutates() {
            return;
        }
        let outcome = match result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        self.events.publish(super::events::Event::Changed {
            action: req.action.to_string(),
            target: req.target.clone(),
            ok: result.is_ok(),
        });
        // The action already happened; failing to log it must not turn it into an error.
        if let Err(e) = self.audit(caller, req, outcome) {
            tracing::warn!("could not write the audit log: {e}");
        }
    }

    /// Resolves a restore target (every existing ancestor, symlinks
    /// followed) and decides on the resolved path: operators restore only into
    /// a new directory under a configured restore root, reached without any
    /// symlink below the root (none configured: operators cannot restore);
    /// admins restore anywhere. A refusal is audited with the resolved path.
    pub(crate) fn check_restore_target(
        &self,
        caller: &Caller,
        target: &std::path::Path,
    ) -> Result<crate::engine::target::RestoreTarget, CoreError> {
        let refuse = |shown: &std::path::Path, why: String| -> CoreError {
            let req = Requirement::write(Role::Admin, "restore", shown.display().to_string());
            if let Err(e) = self.audit(caller, &req, format!("refused: {why}")) {
                return e;
            }
            CoreError::Refused(format!("refused: {why}"))
        };
        let resolved = match crate::engine::target::resolve(target) {
            Ok(r) => r,
            Err(e) if caller.role >= Role::Admin => return Err(e.into()),
            Err(e) => return Err(refuse(target, e.to_string())),
        };
        if caller.role >= Role::Admin {
            return Ok(resolved.unrestricted()?);
        }
        let roots = &self.settings.restore_roots;
        let shown = &resolved.path;
        // A symlink below a root is refused wherever it leads: the path from
        // the root to the target must be real directories.
        let hop = resolved.hops.iter().find_map(|h| {
            let root = roots
                .iter()
                .find(|r| h.link.parent().is_some_and(|p| p.starts_with(r)))?;
            Some((h, root))
        });
        let root = roots.iter().find(|r| shown.starts_with(r) && shown != *r);
        let why = match (hop, root) {
            (Some((h, root)), _) => format!(
                "{} may not restore through the symlink {} (-> {}) inside the restore root {}; give a path of real directories",
                caller.role,
                h.link.display(),
                h.to.display(),
                root.display()
            ),
            (None, None) if roots.is_empty() => format!(
                "{} may restore only into restore roots, and none are configured (restore_roots in {})",
                caller.role,
                self.home.config().display()
            ),
            (None, None) => format!(
                "{} may restore only into a new directory under {} ({} resolves to {})",
                caller.role,
                roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                target.display(),
                shown.display()
            ),
            (None, Some(root)) if resolved.missing == 0 => format!(
                "{} already exists; Strata never overwrites, choose a new directory under {}",
                shown.display(),
                root.display()
            ),
            (None, Some(root)) => {
                let below = shown
                    .strip_prefix(root)
                    .map(|rest| rest.iter().map(|c| c.to_os_string()).collect())
                    .unwrap_or_default();
                return Ok(crate::engine::target::RestoreTarget {
                    anchor: root.clone(),
                    below,
                    may_exist_empty: false,
                });
            }
        };
        Err(refuse(shown, why))
    }

    /// The newest `n` audit entries, oldest first.
    pub fn audit_tail(&self, n: usize) -> Result<Vec<AuditEntry>, CoreError> {
        Ok(self.catalog.audit_tail(n)?)
    }

    /// Audit entries newer than `since` (all when `None`), oldest first.
    pub fn audit_log(
        &self,
        since: Option<chrono::DateTime<Utc>>,
    ) -> Result<Vec<AuditEntry>, CoreError> {
        let mut all = self.catalog.list_audit()?;
        if let Some(t) = since {
            all.retain(|e| e.at >= t);
        }
        Ok(all)
    }
}
