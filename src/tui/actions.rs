//! Actions of the keymap in the normal mode: what each key does in each view.
//! Like the rest of `App`, pure: it returns typed requests and never does I/O.

use super::app::{App, Mode, OnYes, Request, all_dependents, idx};
use super::keymap::{Action, View};
use super::restore::RestoreForm;
use super::source::Snapshot;
use crate::core::Action as CoreAction;
use crate::core::backups::BackupRow;
use crate::core::rows::{TaskRow, TaskStatus};
use ratatui::crossterm::event::KeyEvent;

impl App {
    /// The task an action applies to: the selected one in Tasks, the shown
    /// one in the detail view.
    pub fn current_task<'a>(&self, s: &'a Snapshot) -> Option<&'a TaskRow> {
        match self.view {
            View::Tasks => self.tasks(s).get(self.selection(s)).copied(),
            View::Detail => super::detail::task(self, s),
            _ => None,
        }
    }

    /// The backup an action applies to: the selected row in Backups, the
    /// backup under the cursor in the detail's chain tree.
    pub fn current_backup<'a>(&self, s: &'a Snapshot) -> Option<&'a BackupRow> {
        match self.view {
            View::Backups => self.backups(s).get(self.selection(s)).copied(),
            View::Detail => super::detail::backup_at(self, s, self.selection(s)),
            View::Browse => self.browsed_backup(s),
            _ => None,
        }
    }

    /// The tab the current view belongs to: the detail view sits on Tasks,
    /// the file browser on the tab it was opened from.
    pub fn tab(&self) -> View {
        match self.view {
            View::Detail => View::Tasks,
            View::Browse => match self.browse.as_ref().map_or(View::Backups, |b| b.from) {
                View::Detail => View::Tasks,
                v => v,
            },
            v => v,
        }
    }

    pub(super) fn normal_key(&mut self, key: KeyEvent, s: &Snapshot) -> Vec<Request> {
        let Some(b) = self.keymap.action(&key, self.view).cloned() else {
            return Vec::new();
        };
        let v = idx(self.view);
        if self.view == View::Detail
            && matches!(
                b.action,
                Action::Restore | Action::Verify | Action::Delete | Action::Pin
            )
            && self.current_backup(s).is_none()
        {
            self.notice(
                format!(
                    "{}: move the cursor to a backup of the chain tree first (j/k)",
                    b.help
                ),
                true,
            );
            return Vec::new();
        }
        if self.view == View::Browse
            && b.action == Action::Restore
            && self.current_backup(s).is_none()
        {
            let id = self
                .browse
                .as_ref()
                .map_or("", |b| b.id.as_str())
                .to_string();
            self.notice(format!("backup {id} is no longer in the catalog"), true);
            return Vec::new();
        }
        match b.action {
            Action::Quit if self.jobs_die_with_console && !s.jobs.is_empty() => {
                let tasks: Vec<&str> = s.jobs.iter().map(|j| j.task.as_str()).collect();
                self.mode = Mode::Confirm {
                    prompt: format!(
                        "{} job(s) run in this console ({}); quitting cancels them and removes their partial data. Quit? y/N",
                        s.jobs.len(),
                        tasks.join(", ")
                    ),
                    yes: OnYes::Quit,
                };
            }
            Action::Quit if self.restoring.is_some() => {
                let target = self.restoring.as_ref().map_or("", |(_, t)| t.as_str());
                self.mode = Mode::Confirm {
                    prompt: format!(
                        "A restore into {target} is still running; quitting now may leave it partly restored. Quit? y/N"
                    ),
                    yes: OnYes::Quit,
                };
            }
            Action::Quit => self.quit = true,
            Action::Help => self.mode = Mode::Help(String::new()),
            Action::CommandLine => self.mode = Mode::Command(String::new()),
            Action::Filter => self.mode = Mode::Filter(self.filter[v].clone()),
            Action::NextView | Action::PrevView => {
                // The detail view and the browser sit on a tab.
                let n = View::ALL.len();
                let here = self.tab();
                let tab = View::ALL.iter().position(|x| *x == here).unwrap_or(0);
                let step = if b.action == Action::NextView {
                    1
                } else {
                    n - 1
                };
                self.view = View::ALL[(tab + step) % n];
                if self.view == View::Log {
                    self.enter_log(s);
                }
            }
            Action::ViewTasks => self.view = View::Tasks,
            Action::ViewBackups => self.view = View::Backups,
            Action::ViewJobs => self.view = View::Jobs,
            Action::ViewAudit => self.view = View::Audit,
            Action::ViewLog => {
                self.view = View::Log;
                self.enter_log(s);
            }
            Action::ViewDestinations => self.view = View::Destinations,
            Action::AuditTimes => self.audit_relative = !self.audit_relative,
            Action::Up => self.select(s, |c, _| c.saturating_sub(1)),
            Action::Down => self.select(s, |c, _| c + 1),
            Action::Top => self.select(s, |_, _| 0),
            Action::Bottom => self.select(s, |_, n| n.saturating_sub(1)),
            Action::Back => {
                if !self.filter[v].is_empty() {
                    self.filter[v].clear();
                } else if self.view == View::Browse {
                    self.close_browser();
                } else if self.view == View::Detail {
                    self.view = View::Tasks;
                } else if self.view == View::Backups && self.task_filter.is_some() {
                    // Back to where the drill-down started: the task's detail.
                    self.view = if self.task_filter == self.detail {
                        View::Detail
                    } else {
                        View::Tasks
                    };
                    self.task_filter = None;
                }
            }
            Action::Enter => {
                if let Some(t) = self.tasks(s).get(self.selection(s)) {
                    let name = t.task.name.clone();
                    self.open_detail(s, name);
                }
            }
            // On a backup of the chain tree: its files.
            Action::TaskBackups if self.current_backup(s).is_some() => {
                if let Some(r) = self.current_backup(s) {
                    return self.open_browser(r);
                }
            }
            Action::Browse => {
                if let Some(r) = self.current_backup(s) {
                    return self.open_browser(r);
                }
            }
            Action::Open => self.browse_open(s),
            Action::Parent => self.browse_parent(),
            Action::TaskBackups => {
                if let Some(t) = self.detail.clone() {
                    let chosen = self.current_backup(s).map(|r| r.record.id.clone());
                    self.task_filter = Some(t);
                    self.view = View::Backups;
                    self.selected[idx(View::Backups)] = chosen
                        .and_then(|id| self.backups(s).iter().position(|r| r.record.id == id))
                        .unwrap_or(0);
                }
            }
            Action::Sort => {
                let chosen = self.current_backup(s).map(|r| r.record.id.clone());
                self.sort = self.sort.next();
                if let Some(i) =
                    chosen.and_then(|id| self.backups(s).iter().position(|r| r.record.id == id))
                {
                    self.selected[v] = i;
                }
                // Navigation, not a result: the header's arrow shows the order,
                // and the Log keeps results and errors only.
            }
            Action::Restore => {
                if let Some(r) = self.current_backup(s)
                    && self.allowed(b.needs, "restore")
                {
                    // Named after the time of the restore: restoring twice never collides.
                    let at = self.clock.or(s.taken).unwrap_or(r.record.finished);
                    let mut form = RestoreForm::new(r, s.restore_base.as_deref(), at);
                    form.check_role(self.role, s);
                    if self.view == View::Browse
                        && !form.database
                        && let Some(path) = self.browse_selected_path(s)
                    {
                        form.subpath = path;
                    }
                    self.mode = Mode::Restore(Box::new(form));
                }
            }
            Action::BackupNow => {
                if let Some(t) = self.current_task(s).map(|t| t.task.name.clone())
                    && self.allowed(b.needs, "backup now")
                {
                    self.mode = Mode::ChooseKind { task: t };
                }
            }
            Action::PauseResume => {
                if let Some(t) = self
                    .current_task(s)
                    .map(|t| (t.task.name.clone(), t.status))
                    && self.allowed(b.needs, "pause/resume")
                {
                    let verb = if t.1 == TaskStatus::Paused {
                        "resume"
                    } else {
                        "pause"
                    };
                    let name = t.0;
                    return vec![Request::Act(if verb == "pause" {
                        CoreAction::PauseTask { name }
                    } else {
                        CoreAction::ResumeTask { name }
                    })];
                }
            }
            Action::Verify => {
                if let Some(id) = self.current_backup(s).map(|r| r.record.id.clone())
                    && self.allowed(b.needs, "verify")
                {
                    return vec![Request::Act(CoreAction::Verify {
                        selection: crate::core::action::VerifySelection::One(id),
                        read_data: 0,
                    })];
                }
            }
            Action::Pin => {
                if let Some((id, pinned)) = self
                    .current_backup(s)
                    .map(|r| (r.record.id.clone(), r.record.pinned))
                    && self.allowed(b.needs, "pin")
                {
                    return vec![Request::Act(if pinned {
                        CoreAction::UnpinBackup { id }
                    } else {
                        CoreAction::PinBackup { id }
                    })];
                }
            }
            Action::Delete => {
                if let Some(r) = self.current_backup(s)
                    && self.allowed(b.needs, "delete")
                {
                    let deps = all_dependents(s, &r.record.id);
                    let pinned: Vec<&str> = std::iter::once(&r.record)
                        .chain(
                            s.backups
                                .iter()
                                .map(|x| &x.record)
                                .filter(|x| deps.contains(&x.id)),
                        )
                        .filter(|x| x.pinned)
                        .map(|x| x.id.as_str())
                        .collect();
                    if !pinned.is_empty() {
                        // The core would refuse after the question; say so before asking.
                        self.notice(
                            format!(
                                "cannot delete: {} pinned; unpin with P first",
                                pinned.join(", ")
                            ),
                            true,
                        );
                        return Vec::new();
                    }
                    let prompt = super::delete_prompt::prompt(s, r, &deps);
                    let yes = OnYes::Run(Request::Act(CoreAction::DeleteBackup {
                        id: r.record.id.clone(),
                        cascade: !deps.is_empty(),
                    }));
                    self.mode = Mode::Confirm { prompt, yes };
                }
            }
            Action::ClearSnapshots => {
                if let Some(t) = self.current_task(s)
                    && self.allowed(b.needs, "clear snapshots")
                {
                    self.ask_clear_snapshots(s, &t.task);
                }
            }
            Action::Cancel => {
                if let Some(j) = s.jobs.get(self.selection(s))
                    && self.allowed(b.needs, "cancel")
                {
                    self.mode = Mode::Confirm {
                        prompt: format!(
                            "Cancel job {} ({} of {})? y/N",
                            j.id,
                            j.kind_label(),
                            j.task
                        ),
                        yes: OnYes::Run(Request::Act(CoreAction::CancelJob { id: j.id })),
                    };
                }
            }
        }
        Vec::new()
    }

    /// `X` in a snapshot task's detail: asks to clear its local snapshots,
    /// saying how many and how much space only they hold.
    fn ask_clear_snapshots(&mut self, s: &Snapshot, task: &crate::model::TaskConfig) {
        let name = &task.name;
        if !matches!(task.source, crate::model::SourceConfig::Snapshot { .. }) {
            self.notice(
                format!("task {name} is not a snapshot task: it keeps no local snapshots"),
                true,
            );
            return;
        }
        let mine: Vec<_> = s.snapshots.iter().filter(|r| &r.task == name).collect();
        if mine.is_empty() {
            self.notice(
                format!("task {name} has no local snapshots on this host"),
                false,
            );
            return;
        }
        let own: u64 = mine.iter().map(|r| r.exclusive_bytes).sum();
        self.mode = Mode::Confirm {
            prompt: format!(
                "Clear the {} local snapshot(s) of task {name} with its clear command (frees {}; its backups stay)? y/N",
                mine.len(),
                crate::units::size(own)
            ),
            yes: OnYes::Run(Request::Act(CoreAction::ClearSnapshots {
                task: Some(name.clone()),
                older_than: None,
            })),
        };
    }
}
