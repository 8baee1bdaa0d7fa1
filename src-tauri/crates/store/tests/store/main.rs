//! The store end to end on real SQLite files: the writer thread, chunks and rollups,
//! tails and windows, migrations, crashes, failures, exports.

mod common;
mod durability;
mod export;
mod journal;
mod migrate;
mod params;
mod runs;
mod tail;
mod window;
