//! `cassetto`: reads the command line and the settings, then hands over to the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
