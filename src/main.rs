use std::process::ExitCode;

use clap::Parser;
use crowdlend::{
    cli::Cli,
    config::{MissingSecret, Settings},
    telemetry,
};

/// jemalloc returns freed memory to the system (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let missing_secret = if cli.command.only_reads() {
        MissingSecret::Ephemeral
    } else {
        MissingSecret::GenerateAndKeep
    };
    let (settings, key_source) = match Settings::from_env(missing_secret) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_subscriber(telemetry::get_subscriber("info", std::io::stderr));
    crowdlend::cli::run(cli.command, settings, key_source).await
}
