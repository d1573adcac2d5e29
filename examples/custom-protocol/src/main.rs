//! `custom-protocol`: msgsim's whole command line (`run`, `check`, `sweep`, `shrink`, `trace`,
//! `merge`) over the bundled protocols and this crate's own. With `LADDER=name` it also runs one
//! of the challenge ladder's solutions (`custom_protocol::ladder::SOLUTIONS`) under the name the
//! challenges give the student's protocol.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(name) = std::env::var_os("LADDER") else {
        return msgsim::cli::main_with(custom_protocol::registry());
    };
    match custom_protocol::ladder::registry(&name.to_string_lossy()) {
        Some(registry) => msgsim::cli::main_with(registry),
        None => {
            let names: Vec<&str> = custom_protocol::ladder::SOLUTIONS.iter().map(|(n, _)| *n).collect();
            eprintln!("LADDER={}: no such solution (expected one of {})", name.to_string_lossy(), names.join(", "));
            ExitCode::from(2)
        }
    }
}
