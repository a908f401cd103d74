//! The commands the UI may invoke. Each validates its input and answers errors as
//! `{ code, message }`.

pub mod copies;
pub mod document;
pub mod fit;
pub mod generate;
pub mod model;
pub mod settings;
pub mod window;
