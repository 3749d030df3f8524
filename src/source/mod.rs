//! Sources: what a task backs up. `dir` trees are scanned by `engine::scan`.
