//! Reading a small file whole, with a size limit checked before a byte is read.

use std::path::Path;

use crate::error::{Error, Result};

/// The bytes of `path`, refused (naming the file and the limit) when it is over `max` bytes.
pub(crate) fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if len > max {
        return Err(Error::Config {
            path: path.to_owned(),
            field: "(file)",
            reason: format!("{len} bytes; the limit for this file is {max}"),
        });
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}
