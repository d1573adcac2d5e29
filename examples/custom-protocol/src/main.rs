//! `custom-protocol`: msgsim's whole command line (`run`, `check`, `sweep`, `shrink`, `trace`,
//! `merge`) over the bundled protocols and this crate's own.

fn main() -> std::process::ExitCode {
    msgsim::cli::main_with(custom_protocol::registry())
}
