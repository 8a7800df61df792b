//! Integration tests: one binary that starts the real app on 127.0.0.1:0 with a temp database.

mod check;
mod cli;
mod health;
mod helpers;
