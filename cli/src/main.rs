//! `rieter`: the command-line client of a Rieter server.

mod api;
mod args;
mod commands;
mod config;
mod output;
mod vieter;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("rieter: {err:#}");
            ExitCode::FAILURE
        }
    }
}
