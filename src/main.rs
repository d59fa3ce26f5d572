//! The `quorate` command: everything lives in the library (`quorate::run`).

fn main() -> std::process::ExitCode {
    quorate::install_panic_hook();
    let code = quorate::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::ExitCode::from(code)
}
