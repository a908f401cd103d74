//! Requests over real text (placeholder; filled in below).

use serde::{Deserialize, Serialize};

/// The live text of one masked span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanView {
    pub span: usize,
}
