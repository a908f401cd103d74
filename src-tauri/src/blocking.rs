//! Work that reads files, tokenises or computes runs off the main thread (which draws the
//! window and answers every other command), and a panic inside it, in the engine or a
//! dependency, becomes an `internal` error instead of a dead app.

use crate::error::{CommandError, CommandResult, ErrorCode};

/// Runs `f` on the blocking pool; `what` names it in the error if it panics.
pub async fn off_main<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> CommandResult<T> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(f).await.map_err(|e| {
        tracing::error!("{what} panicked: {e}");
        CommandError::new(
            ErrorCode::Internal,
            format!("{what} failed unexpectedly; the app is still running. Please report it."),
        )
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let result: CommandResult<()> = tauri::async_runtime::block_on(off_main("Counting tokens", || panic!("boom")));
        let e = result.unwrap_err();
        assert_eq!(e.code, ErrorCode::Internal);
        assert!(e.message.starts_with("Counting tokens failed unexpectedly"), "{}", e.message);
        let fine = tauri::async_runtime::block_on(off_main("Adding", || Ok(2 + 2)));
        assert_eq!(fine.unwrap(), 4);
    }
}
