//! Helpers shared by the core's unit tests.

use super::service::Core;
use crate::model::{DestinationConfig, DestinationKind};

/// Adds local destination `name` at `path` (its repository is created).
pub(crate) fn local_dest(core: &Core, name: &str, path: std::path::PathBuf) {
    core.add_destination(DestinationConfig {
        name: name.into(),
        kind: DestinationKind::Local { path },
        repo_id: None,
        rate_limit: None,
        encryption: None,
        parallel_uploads: None,
    })
    .unwrap();
}
