//! The passphrase prompt of the command line: asked on the terminal with echo
//! off, only when the command runs in this process on a terminal and the
//! destination's passphrase variable is unset (docs/encryption.md).

use crate::core::passphrase::Passphrase;
use std::io::IsTerminal;

/// Installs the prompt when standard input is a terminal, so a script (whose
/// input is a pipe or a file) never waits on a question.
pub fn install_on_terminal() {
    if std::io::stdin().is_terminal() {
        crate::core::passphrase::ask_with(ask);
    }
}

/// Reads one line from `/dev/tty` with echo off; `None` on end of input or a
/// terminal that cannot be read.
fn ask(prompt: &str) -> Option<Passphrase> {
    let line = rpassword::prompt_password(prompt).ok()?;
    Some(Passphrase::new(line.into_bytes()))
}
