//! JSON read into typed values, errors naming the field that is wrong (`rope_theta: invalid
//! type: string "big", expected f64`), not only where in the text it is.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// `text` (the contents of `path`, which errors name) as a `T`.
///
/// ```
/// let err = dream_engine::json::parse::<dream_engine::DreamConfig>(r#"{"hidden_size": "big"}"#, "config.json".as_ref())
///     .unwrap_err();
/// assert!(err.to_string().starts_with("config.json: field `hidden_size`: invalid type: string \"big\""), "{err}");
/// ```
pub fn parse<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        Error::Json { path: path.to_owned(), field, source: e.into_inner() }
    })
}
