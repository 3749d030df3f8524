//! The `strata` binary: parse the command line, hand it to a running daemon if
//! one serves this home, otherwise run it here; exit with its code.

#![forbid(unsafe_code)]

use clap::Parser;
use std::process::ExitCode;
use strata::command::exec::{Io, execute};
use strata::command::{Cli, Command};
use strata::core::access::{Caller, Role};
use strata::core::home::Home;

fn init_logging(cli: &Cli, home: &Home) {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let filter = || {
        let default = if matches!(cli.command, Command::Serve { .. }) {
            "info"
        } else {
            "off"
        };
        tracing_subscriber::EnvFilter::try_from_env("STRATA_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
    };
    if matches!(cli.command, Command::Serve { .. }) {
        // The daemon logs to stderr and to a file in the home, for later reading.
        let _ = home.ensure();
        let _ = strata::core::private::create_dir(&home.logs());
        if let Ok(file) = strata::core::private::append(&home.logs().join("strata.log")) {
            let file = std::sync::Mutex::new(file);
            tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_ansi(false)
                .with_writer(std::io::stderr.and(file))
                .init();
            return;
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version are successes; anything else is a usage error (exit 2).
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(ExitCode::from(code));
        }
    };
    // Checked before anything starts threads: a wrong value is a usage error, not an abort.
    if let Err(e) = strata::core::bounds::threads_env() {
        eprintln!("strata: {e}");
        return Ok(ExitCode::from(2));
    }
    let home = Home::resolve(cli.home.clone());
    init_logging(&cli, &home);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Never hold the stderr lock for the whole command: the progress bar and
    // engine threads write to stderr too, and would block forever on it.
    let mut err = std::io::stderr();

    // The front ends that are not commands of a client are chosen here, once.
    let mut io = Io {
        local: true,
        binary: true,
        out: &mut out,
        err: &mut err,
    };
    let chosen = match &cli.command {
        Command::Demo => Some(strata::demo::run(cli.home.clone(), cli.json, &mut io)),
        Command::Info => Some(strata::command::info::info(&home, cli.json, &mut io)),
        Command::Serve { listen } => {
            Some(strata::daemon::server::serve(home.clone(), listen, &mut io))
        }
        Command::Tui { theme } => Some(strata::tui::run(
            home.clone(),
            cli.role.as_deref().and_then(Role::parse),
            theme.as_deref(),
        )),
        _ => None,
    };
    if let Some(result) = chosen {
        let code = match result {
            Ok(code) => code,
            Err(e) => strata::command::exec::fail(&e, &mut io),
        };
        return Ok(ExitCode::from(code));
    }
    {
        // Arguments that are not UTF-8 cannot travel in the JSON request: run here.
        let argv: Option<Vec<String>> = std::env::args_os()
            .skip(1)
            .map(|a| a.into_string().ok())
            .collect();
        if let Some(argv) = argv {
            let caller = Caller::local(cli.role.as_deref().and_then(Role::parse));
            if let Some(code) =
                strata::daemon::client::try_forward(&home, argv, caller, &mut out, &mut err)
            {
                return Ok(ExitCode::from(code));
            }
        }
    }
    // Only here, where the command runs in this process: the daemon, the console
    // and the demo never ask on a terminal.
    strata::command::prompt::install_on_terminal();
    let code = execute(
        cli,
        &mut Io {
            local: true,
            binary: true,
            out: &mut out,
            err: &mut err,
        },
    );
    Ok(ExitCode::from(code))
}
