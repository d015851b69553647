use clap::Parser;

fn main() -> std::process::ExitCode {
    // Output piped into a reader that stops early (`| head`): end quietly, as a command-line tool killed by
    // SIGPIPE does, instead of a panic about the broken pipe.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let text =
            p.downcast_ref::<String>().map(String::as_str).or_else(|| p.downcast_ref::<&str>().copied());
        if text.is_some_and(|t| t.starts_with("failed printing to stdout") && t.contains("Broken pipe")) {
            std::process::exit(141);
        }
        report(info);
    }));
    let cli = itemize::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(itemize::cli::run(cli)) {
        Ok(code) => code,
        // Written straight to standard output (an export) and cut short by its reader: the same quiet end.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::ExitCode::from(141)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(app) = e.downcast_ref::<itemize_app::AppError>() {
                // The operator at the command line may see what an API caller is not shown.
                if let itemize_app::AppError::Internal(detail) = app {
                    eprintln!("  {detail}");
                }
                for d in app.details() {
                    eprintln!("  {}: {}", d.field, d.problem);
                }
            }
            std::process::ExitCode::FAILURE
        }
    }
}
