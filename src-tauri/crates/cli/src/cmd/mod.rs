//! The CLI's subcommands, one per file.

pub mod sim;
