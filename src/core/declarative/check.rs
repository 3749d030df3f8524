//! Validation: every destination and task of a document checked, and turned
//! into what the catalog would store, before anything is written.

use crate::core::error::CoreError;
use crate::core::service::{Core, check_name, check_settings};
use crate::model::{
    AzureSpec, DestinationConfig, DestinationKind, Hooks, RetentionPolicy, S3Spec, SftpSpec,
    SourceConfig, SourceType, TaskConfig, default_compression,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::doc::{Config, DestDoc, HooksDoc, RetentionDoc, SourceDoc, TaskDoc};

/// `path` without `.` components or a trailing slash, the form stored and compared.
pub(super) fn normal(path: &Path) -> PathBuf {
    path.components().collect()
}

/// An absolute path from the file, or why not.
fn absolute(
    what: &str,
    key: &str,
    path: Option<&PathBuf>,
    example: &str,
) -> Result<PathBuf, CoreError> {
    let Some(path) = path else {
        return Err(CoreError::Invalid(format!(
            "{what} needs {key} = \"{example}\""
        )));
    };
    crate::core::bounds::check_path(&format!("{what}: {key}"), path).map_err(CoreError::Invalid)?;
    if !path.is_absolute() {
        return Err(CoreError::Invalid(format!(
            "{what}: {key} {:?} is relative; write it absolute so the file means the same from any directory",
            path.display().to_string()
        )));
    }
    Ok(normal(path))
}

/// `msg` on one line: some parser messages (the cron crate's) draw a caret
/// under the expression on extra lines, and errors are one line each.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().any(|c| c != '^'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first name that occurs a second time, for one clear error.
fn first_duplicate<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = BTreeSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
}

impl Core {
    /// Checks the whole document: names unique per kind, every destination and
    /// every task valid. Returns them as they would be stored, in file order.
    pub(super) fn check_doc(
        &self,
        doc: &Config,
    ) -> Result<(Vec<DestinationConfig>, Vec<TaskConfig>), CoreError> {
        if let Some(n) = first_duplicate(doc.destination.iter().map(|d| d.name.as_str())) {
            return Err(CoreError::Invalid(format!(
                "destination {n:?} is defined more than once; keep one [[destination]] table per name"
            )));
        }
        if let Some(n) = first_duplicate(doc.task.iter().map(|t| t.name.as_str())) {
            return Err(CoreError::Invalid(format!(
                "task {n:?} is defined more than once; keep one [[task]] table per name"
            )));
        }
        let dests = doc
            .destination
            .iter()
            .map(|d| check_dest(d, &self.home.root().join("known_hosts")))
            .collect::<Result<Vec<_>, _>>()?;
        let in_file: BTreeSet<&str> = dests.iter().map(|d| d.name.as_str()).collect();
        let tasks = doc
            .task
            .iter()
            .map(|t| self.check_task(t, &in_file))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((dests, tasks))
    }

    /// Checks a task's `source = { … }` and returns it as it would be stored.
    fn check_source(&self, what: &str, source: &SourceDoc) -> Result<SourceConfig, CoreError> {
        let bad = |msg: String| CoreError::Invalid(format!("{what}: {}", one_line(&msg)));
        let SourceDoc {
            kind,
            path,
            exclude,
            dump,
            restore,
            r#type,
            timeout,
            env_file,
            create,
            clear,
            keep_local,
            keep_local_within,
        } = source;
        if kind != "snapshot" {
            for (k, set) in [
                ("create", create.is_some()),
                ("clear", clear.is_some()),
                ("keep_local", keep_local.is_some()),
                ("keep_local_within", keep_local_within.is_some()),
            ] {
                if set {
                    return Err(bad(format!(
                        "source.{k} applies only to snapshot sources; remove it from this {kind} source"
                    )));
                }
            }
        }
        let only = |key: &str, set: bool, kinds: &str| -> Result<(), CoreError> {
            if set {
                return Err(bad(format!(
                    "source.{key} applies only to {kinds} sources; remove it from this {kind} source"
                )));
            }
            Ok(())
        };
        let typ = match r#type.as_deref() {
            None => None,
            Some(t) => Some(SourceType::parse(t).ok_or_else(|| {
                bad(format!(
                    "source.type {t:?} is not valid; use \"snapshot\" or \"backup\""
                ))
            })?),
        };
        match kind.as_str() {
            "dir" => {
                for (k, set) in [
                    ("dump", dump.is_some()),
                    ("restore", restore.is_some()),
                    ("type", r#type.is_some()),
                    ("timeout", timeout.is_some()),
                    ("env_file", env_file.is_some()),
                ] {
                    only(k, set, "sqlite or command")?;
                }
                let path = absolute(what, "source.path", path.as_ref(), "/abs/dir")?;
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(bad(format!(
                            "source {} is not a directory; a dir source takes a directory",
                            path.display()
                        )));
                    }
                    Err(e) => {
                        return Err(bad(format!(
                            "source {} cannot be read ({e}); check the path",
                            path.display()
                        )));
                    }
                }
                Ok(SourceConfig::Dir {
                    path,
                    exclude: exclude.clone(),
                })
            }
            "sqlite" => {
                only("exclude", !exclude.is_empty(), "dir")?;
                for (k, set) in [
                    ("dump", dump.is_some()),
                    ("restore", restore.is_some()),
                    ("timeout", timeout.is_some()),
                    ("env_file", env_file.is_some()),
                ] {
                    only(k, set, "command")?;
                }
                let path = absolute(what, "source.path", path.as_ref(), "/abs/app.db")?;
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => {}
                    Ok(_) => {
                        return Err(bad(format!(
                            "source {} is not a file; a sqlite source takes a database file",
                            path.display()
                        )));
                    }
                    Err(e) => {
                        return Err(bad(format!(
                            "source {} cannot be read ({e}); check the path",
                            path.display()
                        )));
                    }
                }
                Ok(SourceConfig::Sqlite {
                    path,
                    r#type: typ.unwrap_or_default(),
                })
            }
            "command" => {
                only("exclude", !exclude.is_empty(), "dir")?;
                only("path", path.is_some(), "dir or sqlite")?;
                let Some(dump) = dump else {
                    return Err(bad(
                        "a command source needs source.dump = \"pg_dump …\"".into()
                    ));
                };
                let env_file = match env_file {
                    Some(p) => Some(absolute(
                        what,
                        "source.env_file",
                        Some(p),
                        "/etc/strata/app.env",
                    )?),
                    None => None,
                };
                crate::core::database::check_command(
                    dump,
                    restore.as_deref(),
                    timeout.as_deref(),
                    env_file.as_deref(),
                )
                .map_err(|(key, why)| bad(format!("{key} {why}")))?;
                Ok(SourceConfig::Command {
                    dump: dump.clone(),
                    restore: restore.clone(),
                    r#type: typ.unwrap_or(SourceType::Backup),
                    timeout: timeout.clone(),
                    env_file,
                })
            }
            "snapshot" => {
                only("exclude", !exclude.is_empty(), "dir")?;
                for (k, set) in [("dump", dump.is_some()), ("restore", restore.is_some())] {
                    only(k, set, "command")?;
                }
                if typ == Some(SourceType::Backup) {
                    return Err(bad(
                        "source.type of a snapshot source is always \"snapshot\"; remove it".into(),
                    ));
                }
                let need = |k: &str, v: &Option<String>, example: &str| {
                    v.clone().ok_or_else(|| {
                        bad(format!(
                            "a snapshot source needs source.{k} = \"{example}\""
                        ))
                    })
                };
                let create = need("create", create, "nodetool snapshot -t {tag}")?;
                let clear = need("clear", clear, "nodetool clearsnapshot -t {tag}")?;
                let path = need(
                    "path",
                    &path.as_ref().map(|p| p.to_string_lossy().into_owned()),
                    "/var/lib/cassandra/data/*/*/snapshots/{tag}",
                )?;
                let env_file = match env_file {
                    Some(p) => Some(absolute(
                        what,
                        "source.env_file",
                        Some(p),
                        "/etc/strata/app.env",
                    )?),
                    None => None,
                };
                crate::core::task_check::check_snapshot(
                    &create,
                    &path,
                    &clear,
                    *keep_local,
                    keep_local_within.as_deref(),
                    timeout.as_deref(),
                    env_file.as_deref(),
                )
                .map_err(|(key, why)| bad(format!("{key} {why}")))?;
                Ok(SourceConfig::Snapshot {
                    create,
                    path,
                    clear,
                    keep_local: *keep_local,
                    keep_local_within: keep_local_within.clone(),
                    timeout: timeout.clone(),
                    env_file,
                })
            }
            other => Err(bad(format!(
                "source kind {other:?} is not supported; use \"dir\", \"sqlite\", \"command\" or \"snapshot\""
            ))),
        }
    }

    /// Checks one task of the file and returns it as it would be stored (a new
    /// task: created now, active unless the file says paused). The same rules as
    /// `task add`, except that destinations may be defined in the same file and
    /// messages name the file's keys rather than command-line flags.
    fn check_task(&self, doc: &TaskDoc, in_file: &BTreeSet<&str>) -> Result<TaskConfig, CoreError> {
        let TaskDoc {
            name,
            source,
            destinations,
            full,
            incremental,
            differential,
            timezone,
            catch_up,
            retention,
            hooks,
            compression_level,
            paused,
            require,
            alert_after,
            notify,
            verify,
            verify_read_data,
        } = doc;
        check_name("task", name)?;
        let what = format!("task {name:?}");
        let bad = |msg: String| CoreError::Invalid(format!("{what}: {}", one_line(&msg)));
        if destinations.is_empty() {
            return Err(bad(
                "needs at least one destination, e.g. destinations = [\"local\"]".into(),
            ));
        }
        if let Some(d) = first_duplicate(destinations.iter().map(String::as_str)) {
            return Err(bad(format!("destinations lists {d:?} twice")));
        }
        for d in destinations {
            if !in_file.contains(d.as_str()) && self.catalog.get_destination(d)?.is_none() {
                return Err(CoreError::NotFound {
                    what: "destination",
                    name: d.clone(),
                    hint: format!(
                        "{what} writes to it; define it in the file with a [[destination]] table or add it with 'strata dest add {d} --local PATH'"
                    ),
                });
            }
        }
        let source = self.check_source(&what, source)?;
        let compression_level = compression_level.unwrap_or_else(default_compression);
        let RetentionDoc {
            keep_within,
            keep_last_full,
            keep_daily,
            keep_weekly,
            keep_monthly,
            keep_yearly,
        } = retention.clone();
        let HooksDoc {
            before,
            after,
            timeout_secs,
        } = hooks.clone();
        let task = TaskConfig {
            name: name.clone(),
            source,
            destinations: destinations.clone(),
            full: full.clone(),
            incremental: incremental.clone(),
            differential: differential.clone(),
            timezone: timezone.clone(),
            catch_up: catch_up.unwrap_or_default(),
            retention: RetentionPolicy {
                keep_within,
                keep_last_full,
                keep_daily,
                keep_weekly,
                keep_monthly,
                keep_yearly,
            },
            hooks: Hooks {
                before,
                after,
                timeout_secs,
            },
            compression_level,
            paused: paused.unwrap_or(false),
            created: chrono::Utc::now(),
            require: require.unwrap_or_default(),
            alert_after: alert_after.clone(),
            notify: notify.clone(),
            verify: verify.clone(),
            verify_read_data: *verify_read_data,
        };
        check_settings(&task).map_err(|(key, why)| bad(format!("{key}: {why}")))?;
        Ok(task)
    }
}

/// Checks one destination of the file and returns it as it would be stored
/// (without a repository id until its repository is opened). An SFTP
/// destination without `known_hosts` gets the home's, as `dest add` does.
fn check_dest(doc: &DestDoc, default_known_hosts: &Path) -> Result<DestinationConfig, CoreError> {
    let DestDoc {
        name,
        kind,
        path,
        url,
        endpoint,
        region,
        storage_class,
        account,
        credentials,
        identity,
        known_hosts,
        rate_limit,
        encryption,
        parallel_uploads,
    } = doc;
    check_name("destination", name)?;
    let what = format!("destination {name:?}");
    // Keys of another kind are refused, not ignored: a `region` on an sftp
    // destination is a typo or a misunderstanding the operator should see.
    let given: [(&str, bool); 9] = [
        ("path", path.is_some()),
        ("url", url.is_some()),
        ("endpoint", endpoint.is_some()),
        ("region", region.is_some()),
        ("storage_class", storage_class.is_some()),
        ("account", account.is_some()),
        ("credentials", credentials.is_some()),
        ("identity", identity.is_some()),
        ("known_hosts", known_hosts.is_some()),
    ];
    let allowed: &[&str] = match kind.as_str() {
        "local" => &["path"],
        "s3" => &["url", "endpoint", "region", "storage_class", "credentials"],
        "azure" => &["url", "endpoint", "account", "credentials"],
        "sftp" => &["url", "identity", "known_hosts"],
        _ => {
            return Err(CoreError::Invalid(format!(
                "{what}: kind {kind:?} is unknown; use \"local\", \"s3\", \"azure\" or \"sftp\""
            )));
        }
    };
    if let Some((key, _)) = given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
        return Err(CoreError::Invalid(format!(
            "{what}: {key} does not apply to kind = {kind:?} (its keys: {})",
            allowed.join(", ")
        )));
    }
    let url = || {
        url.clone().ok_or_else(|| {
            CoreError::Invalid(format!("{what} (kind = {kind:?}) needs url = \"…\""))
        })
    };
    let dest_kind = match kind.as_str() {
        "s3" => DestinationKind::S3(S3Spec {
            url: url()?,
            endpoint: endpoint.clone(),
            region: region.clone(),
            storage_class: storage_class.clone(),
            credentials: credentials.clone(),
        }),
        "azure" => DestinationKind::Azure(AzureSpec {
            url: url()?,
            account: account.clone(),
            endpoint: endpoint.clone(),
            credentials: credentials.clone(),
        }),
        "sftp" => DestinationKind::Sftp(SftpSpec {
            url: url()?,
            identity: identity.clone(),
            known_hosts: Some(
                known_hosts
                    .clone()
                    .unwrap_or_else(|| default_known_hosts.to_path_buf()),
            ),
        }),
        _ => {
            let path = absolute(&what, "path", path.as_ref(), "/abs/dir")?;
            if path.exists() && !path.is_dir() {
                return Err(CoreError::Invalid(format!(
                    "{what}: {} exists and is not a directory; a local destination is a directory",
                    path.display()
                )));
            }
            DestinationKind::Local { path }
        }
    };
    crate::core::dest_spec::check_kind(name, &dest_kind)?;
    crate::core::dest_spec::check_rate(name, rate_limit.as_deref())?;
    if let Some(enc) = encryption {
        crate::core::dest_keys::check_sources(name, enc)?;
    }
    crate::core::dest_spec::check_parallel(name, *parallel_uploads)?;
    Ok(DestinationConfig {
        name: name.clone(),
        kind: dest_kind,
        repo_id: None,
        rate_limit: rate_limit.clone(),
        encryption: encryption.clone().map(Box::new),
        parallel_uploads: *parallel_uploads,
    })
}
