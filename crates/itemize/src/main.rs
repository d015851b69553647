use clap::Parser;

fn main() -> std::process::ExitCode {
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
