//! The `msgsim` binary: the command line over the bundled protocols and checks.

fn main() -> std::process::ExitCode {
    msgsim::cli::main_with(msgsim::Registry::builtin())
}
