//! `Core`: the one door every front end goes through. It owns the catalog and
//! turns actions (add a task, run a backup, delete, restore…) into engine and
//! catalog work. Configuration actions live here; backups in `jobs`/`backups`.

use super::catalog::Catalog;
use super::error::CoreError;
use super::home::Home;
use crate::engine::{EngineError, Repository, repo};
use crate::model::{DestinationConfig, DestinationKind, SourceConfig, TaskConfig};

/// The core service for one home.
pub struct Core {
    pub(crate) home: Home,
    pub(crate) catalog: Catalog,
    /// What recovery did when this core opened (interrupted runs cleaned up).
    pub recovered: super::jobs::Recovery,
    /// Tasks whose repeated destinations were merged when this core opened
    /// (older builds accepted `--dest nas,nas`), one note each.
    pub repaired: Vec<String>,
    /// Jobs queued and running in this process (front ends list them with
    /// `Action::Jobs` and stop them with `Action::CancelJob` or `stop_jobs`).
    pub(crate) jobs: super::registry::Registry,
    /// Settings from the home's `strata.toml`.
    pub settings: super::home::HomeConfig,
    /// Change notifications for front ends.
    pub events: super::events::Bus,
    /// Whether this core belongs to `strata serve`, whose jobs outlive the
    /// request that started them (`backup run --detach`).
    pub(crate) serving: std::sync::atomic::AtomicBool,
    /// Destination checks, refreshed in the background (`rows::DestCheck`).
    pub(crate) health: super::health::Health,
    /// The console's list of local snapshots, reused for a few seconds.
    pub(crate) snapshots: super::snapshot_rows::SnapshotCache,
}

pub use super::task_check::check_name;
pub(crate) use super::task_check::{check_settings, first_duplicate_dest};

impl Core {
    /// Opens (creating if needed) the catalog of `home` and recovers from any
    /// run a crash interrupted. `holder` describes this process for lock messages.
    pub fn open(home: Home, holder: &str) -> Result<Core, CoreError> {
        home.ensure().map_err(|e| {
            CoreError::Failed(format!(
                "cannot create the Strata home {}: {e}; choose another with --home or STRATA_HOME",
                home.root().display()
            ))
        })?;
        let settings = home.settings().map_err(CoreError::Invalid)?;
        let catalog = Catalog::open(&home.catalog(), holder)?;
        let mut core = Core {
            home,
            catalog,
            recovered: Default::default(),
            repaired: Vec::new(),
            jobs: super::registry::Registry::new(
                settings
                    .max_parallel_jobs
                    .unwrap_or(super::registry::DEFAULT_MAX_PARALLEL),
            ),
            events: Default::default(),
            settings,
            serving: std::sync::atomic::AtomicBool::new(false),
            health: Default::default(),
            snapshots: Default::default(),
        };
        core.recovered = core.recover()?;
        core.repaired = core.repair_duplicate_dests()?;
        Ok(core)
    }

    /// Merges destinations a task lists twice (every backup of such a task
    /// fails on the second write, and `export` would write a file `apply`
    /// refuses), keeping the first occurrence's order.
    fn repair_duplicate_dests(&self) -> Result<Vec<String>, CoreError> {
        let mut notes = Vec::new();
        for mut task in self.catalog.list_tasks()? {
            if first_duplicate_dest(&task.destinations).is_none() {
                continue;
            }
            let before = task.destinations.join(",");
            let mut seen = std::collections::BTreeSet::new();
            task.destinations.retain(|d| seen.insert(d.clone()));
            self.catalog.put_task(&task)?;
            let note = format!(
                "task {:?} listed a destination twice ({before}); it now writes to {} once each",
                task.name,
                task.destinations.join(",")
            );
            tracing::warn!("{note}");
            notes.push(note);
        }
        Ok(notes)
    }

    /// The home this core uses.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The catalog (read access for front ends' read models).
    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Adds a destination and initialises its repository.
    #[cfg(test)]
    pub(crate) fn add_destination(
        &self,
        cfg: DestinationConfig,
    ) -> Result<DestinationConfig, CoreError> {
        self.add_destination_with(cfg, crate::dest::OpenOptions::default(), None)
    }

    /// [`Core::add_destination`], with the one-time choices of `dest add`.
    pub(crate) fn add_destination_with(
        &self,
        cfg: DestinationConfig,
        opts: crate::dest::OpenOptions,
        share_key_of: Option<&str>,
    ) -> Result<DestinationConfig, CoreError> {
        check_name("destination", &cfg.name)?;
        if self.catalog.get_destination(&cfg.name)?.is_some() {
            return Err(CoreError::Refused(format!(
                "destination {:?} already exists; remove it first or choose another name",
                cfg.name
            )));
        }
        super::dest_spec::check_kind(&cfg.name, &cfg.kind)?;
        super::dest_spec::check_rate(&cfg.name, cfg.rate_limit.as_deref())?;
        super::dest_spec::check_parallel(&cfg.name, cfg.parallel_uploads)?;
        let kind = match cfg.kind {
            DestinationKind::Local { path } => {
                super::bounds::check_path(&format!("destination {:?}: path", cfg.name), &path)
                    .map_err(CoreError::Invalid)?;
                let path = std::path::absolute(&path).unwrap_or(path);
                std::fs::create_dir_all(&path).map_err(|e| {
                    CoreError::Failed(format!(
                        "cannot create destination directory {}: {e}; check the path and its permissions",
                        path.display()
                    ))
                })?;
                DestinationKind::Local { path }
            }
            DestinationKind::Sftp(mut s) => {
                // Host keys learnt on first use must outlive the process and
                // be the same file for the daemon and the CLI.
                if s.known_hosts.is_none() {
                    s.known_hosts = Some(self.home.root().join("known_hosts"));
                }
                DestinationKind::Sftp(s)
            }
            other => other,
        };
        let encrypt = cfg.encryption.is_some();
        let mut cfg = DestinationConfig {
            name: cfg.name,
            kind,
            repo_id: None,
            rate_limit: cfg.rate_limit,
            encryption: cfg.encryption,
            parallel_uploads: cfg.parallel_uploads,
        };
        let repo = super::dest_keys::create_or_adopt(self, &mut cfg, opts, encrypt, share_key_of)?;
        cfg.repo_id = repo.config().map(|c| c.id.clone());
        self.catalog.put_destination(&cfg)?;
        Ok(cfg)
    }

    /// Opens the repository of a destination, refusing to create one: an empty
    /// or different directory at that place (an unmounted disk, a wrong mount)
    /// must stop the run rather than start a new repository there.
    pub(crate) fn open_repo(&self, cfg: &DestinationConfig) -> Result<Repository, CoreError> {
        open_repository(cfg)
    }

    /// All destinations, by name.
    pub fn destinations(&self) -> Result<Vec<DestinationConfig>, CoreError> {
        Ok(self.catalog.list_destinations()?)
    }

    /// One destination.
    pub fn destination(&self, name: &str) -> Result<DestinationConfig, CoreError> {
        self.catalog
            .get_destination(name)?
            .ok_or_else(|| CoreError::NotFound {
                what: "destination",
                name: name.to_string(),
                hint: "list them with 'strata dest list'".into(),
            })
    }

    /// Removes a destination definition; refused while tasks or backups use it.
    /// The repository data itself is never touched.
    pub(crate) fn remove_destination(&self, name: &str) -> Result<(), CoreError> {
        self.destination(name)?;
        let users: Vec<String> = self
            .catalog
            .list_tasks()?
            .into_iter()
            .filter(|t| t.destinations.iter().any(|d| d == name))
            .map(|t| t.name)
            .collect();
        if !users.is_empty() {
            return Err(CoreError::Refused(format!(
                "destination {name:?} is used by task(s) {}; remove or edit them first",
                users.join(", ")
            )));
        }
        let held = self
            .catalog
            .list_backups()?
            .iter()
            .filter(|b| b.destinations.iter().any(|d| d == name))
            .count();
        if held > 0 {
            return Err(CoreError::Refused(format!(
                "destination {name:?} holds {held} backup(s) in the catalog; delete them first"
            )));
        }
        self.catalog.remove_destination(name)?;
        Ok(())
    }

    /// Validates and stores a new task.
    pub(crate) fn add_task(&self, task: TaskConfig) -> Result<TaskConfig, CoreError> {
        check_name("task", &task.name)?;
        if self.catalog.get_task(&task.name)?.is_some() {
            return Err(CoreError::Refused(format!(
                "task {:?} already exists; remove it first or choose another name",
                task.name
            )));
        }
        let task = self.validate_task(task)?;
        self.catalog.put_task(&task)?;
        Ok(task)
    }

    fn validate_task(&self, mut task: TaskConfig) -> Result<TaskConfig, CoreError> {
        if task.destinations.is_empty() {
            return Err(CoreError::Invalid(format!(
                "task {:?} needs at least one destination (--dest NAME)",
                task.name
            )));
        }
        for d in &task.destinations {
            self.catalog.get_destination(d)?.ok_or_else(|| CoreError::NotFound {
                what: "destination",
                name: d.clone(),
                hint: "add it with 'strata dest add NAME --local PATH' or list them with 'strata dest list'".into(),
            })?;
        }
        match &mut task.source {
            SourceConfig::Dir { path, .. } => {
                super::bounds::check_path("source", path).map_err(CoreError::Invalid)?;
                let abs = std::path::absolute(&*path).unwrap_or(path.clone());
                match std::fs::metadata(&abs) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(CoreError::Invalid(format!(
                            "source {} is not a directory; --dir takes a directory",
                            abs.display()
                        )));
                    }
                    Err(e) => {
                        return Err(CoreError::Invalid(format!(
                            "source {} cannot be read ({e}); check the path",
                            abs.display()
                        )));
                    }
                }
                *path = abs;
            }
            SourceConfig::Sqlite { path, .. } => super::database::absolute_sqlite(path)?,
            SourceConfig::Command { .. } | SourceConfig::Snapshot { .. } => {}
        }
        check_settings(&task).map_err(|(key, why)| {
            let flag = match key {
                "full" => "--full",
                "incremental" => "--incremental",
                "differential" => "--differential",
                "timezone" => "--timezone",
                "compression_level" => "--compression",
                "retention.keep_within" => "--keep-within",
                "retention.keep_last_full" => "--keep-last-full",
                "retention.keep_daily" => "--keep-daily",
                "retention.keep_weekly" => "--keep-weekly",
                "retention.keep_monthly" => "--keep-monthly",
                "retention.keep_yearly" => "--keep-yearly",
                "destinations" => "--dest",
                "hooks.before" => "--before",
                "hooks.after" => "--after",
                "source.exclude" => "--exclude",
                "source.path" if task.source.kind() == "snapshot" => "--snapshot-path",
                "source.path" => "--sqlite",
                "source.create" => "--snapshot-create",
                "source.clear" => "--snapshot-clear",
                "source.keep_local" => "--keep-local",
                "source.keep_local_within" => "--keep-local-within",
                "source.dump" => "--command",
                "source.restore" => "--restore-command",
                "source.timeout" => "--dump-timeout",
                "source.env_file" => "--env-file",
                "notify.on" => "--notify-on",
                "notify.command" => "--notify-command",
                "notify.webhook_file" => "--notify-webhook-file",
                other => other,
            };
            CoreError::Invalid(format!("{flag}: {why}"))
        })?;
        Ok(task)
    }

    /// All tasks, by name.
    pub fn tasks(&self) -> Result<Vec<TaskConfig>, CoreError> {
        Ok(self.catalog.list_tasks()?)
    }

    /// One task.
    pub fn task(&self, name: &str) -> Result<TaskConfig, CoreError> {
        self.catalog
            .get_task(name)?
            .ok_or_else(|| CoreError::NotFound {
                what: "task",
                name: name.to_string(),
                hint: "list them with 'strata task list'".into(),
            })
    }

    /// Removes a task. Its backups stay restorable; without `keep_backups` the
    /// removal is refused while it has any, so nothing is orphaned by accident.
    pub(crate) fn remove_task(&self, name: &str, keep_backups: bool) -> Result<usize, CoreError> {
        self.task(name)?;
        let n = self
            .catalog
            .list_backups()?
            .iter()
            .filter(|b| b.task == name)
            .count();
        if n > 0 && !keep_backups {
            return Err(CoreError::Refused(format!(
                "task {name:?} has {n} backup(s); delete them first, or pass --keep-backups to remove only the task (its backups stay listed and restorable)"
            )));
        }
        self.catalog.remove_task(name)?;
        Ok(n)
    }
}

impl Core {
    /// Jobs queued or running in this process.
    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// Cancels every job of this process (shutdown, or a console quitting
    /// with its own jobs) and waits up to `grace` for them to clean up;
    /// returns how many were still running then.
    pub fn stop_jobs(&self, grace: std::time::Duration) -> usize {
        self.jobs.cancel_all();
        let deadline = std::time::Instant::now() + grace;
        while !self.jobs.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.jobs.len()
    }

    /// Test hook: registers a job that runs nothing, so console tests can
    /// draw its gauge; dropping the guard ends it.
    #[doc(hidden)]
    pub fn register_test_job(
        &self,
        task: &str,
        kind: crate::model::BackupKind,
        progress: std::sync::Arc<crate::progress::Progress>,
    ) -> Result<super::registry::JobGuard<'_>, CoreError> {
        self.jobs.start(task, kind, true, progress)
    }
}

/// [`Core::open_repo`] without the core.
pub(crate) fn open_repository(cfg: &DestinationConfig) -> Result<Repository, CoreError> {
    open_repository_as(cfg, true)
}

/// [`open_repository`] that never asks for a passphrase at a prompt (health
/// checks' threads, recovery): a locked destination stays locked.
pub(crate) fn probe_repository(cfg: &DestinationConfig) -> Result<Repository, CoreError> {
    open_repository_as(cfg, false)
}

fn open_repository_as(cfg: &DestinationConfig, asking: bool) -> Result<Repository, CoreError> {
    let r = match Repository::open(&cfg.name, crate::dest::open(cfg)?) {
        Ok(r) => r,
        Err(EngineError::Dest(crate::dest::DestError::NotFound { dest: describe, .. })) => {
            return Err(CoreError::Failed(format!(
                "destination {} ({describe}) holds no Strata repository ({} is missing); if it is a mount point, mount it and retry; to start over there, remove and re-add the destination",
                cfg.name,
                repo::CONFIG_KEY
            )));
        }
        Err(EngineError::Repo {
            dest: describe,
            detail,
        }) => {
            return Err(CoreError::Failed(format!(
                "destination {} ({describe}) is refused: {detail}",
                cfg.name
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if let (Some(want), Some(have)) = (&cfg.repo_id, r.config())
        && *want != have.id
    {
        return Err(CoreError::Failed(format!(
            "destination {} ({}) holds repository {}, not {} that this catalog uses; check what is mounted there",
            cfg.name,
            r.describe(),
            have.id,
            want
        )));
    }
    // An encrypted repository is unlocked here, once per process: every
    // reader and writer gets a handle that seals and opens.
    if asking {
        super::passphrase::unlock(cfg, r)
    } else {
        super::passphrase::unlock_unasked(cfg, r)
    }
}
