//! Layered configuration: compiled-in defaults, the `--config` file, `.env`, then `LEADSYNC__…` env vars.

mod board_ref;
mod enums;
mod mirrors;
mod settings;
mod tracker_keys;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_budgets;
#[cfg(test)]
mod tests_mirrors;
#[cfg(test)]
mod tests_notion;
#[cfg(test)]
mod tests_readme;
#[cfg(test)]
mod tests_server;
#[cfg(test)]
mod tests_trackers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};

pub use board_ref::{BoardRef, is_full_id};
pub use mirrors::{MirrorPolicySetting, MirrorSettings};
pub use settings::*;
pub use validate::is_placeholder;

/// The compiled-in defaults: every key, commented.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Why configuration could not be loaded. Every variant makes the process exit with status 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(".env file: {0}")]
    DotEnv(String),
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
    #[error("configuration: {0}")]
    Other(String),
}

/// Where the layers come from. Production uses [`ProcessEnv::sources`]; tests pass their own.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub file: Option<PathBuf>,
    /// Contents of the `.env` file, if one exists.
    pub dotenv: HashMap<String, String>,
    /// The process environment (only `LEADSYNC__…` variables are read from it).
    pub env: HashMap<String, String>,
}

/// The process environment and `./.env`, read once at start-up, before logging is set up and
/// before the config file is chosen: `LEADSYNC_CONFIG`, `LEADSYNC_LOG_FORMAT` and `RUST_LOG` may
/// come from either (the environment wins), and nothing is written back into the environment.
#[derive(Debug, Clone, Default)]
pub struct ProcessEnv {
    pub dotenv: HashMap<String, String>,
    pub env: HashMap<String, String>,
}

impl ProcessEnv {
    /// `./.env` (if any) and the environment.
    pub fn read() -> Result<Self, ConfigError> {
        Ok(Self {
            dotenv: read_dotenv(Path::new(".env"))?,
            env: std::env::vars().collect(),
        })
    }

    /// A variable from the environment, else from `.env`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .map(String::as_str)
    }

    /// The config file: `--config` when given, else `LEADSYNC_CONFIG` (environment, then `.env`).
    pub fn config_file(&self, flag: Option<PathBuf>) -> Option<PathBuf> {
        flag.or_else(|| {
            self.var("LEADSYNC_CONFIG")
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        })
    }

    /// The layers to load, with `file` as the config file.
    pub fn sources(self, file: Option<PathBuf>) -> Sources {
        Sources {
            file,
            dotenv: self.dotenv,
            env: self.env,
        }
    }
}

/// Reads `KEY=value` lines without touching the process environment (setting env vars is
/// `unsafe` in edition 2024 and would leak into child processes).
fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    dotenvy::from_path_iter(path)
        .and_then(|iter| iter.collect::<Result<HashMap<_, _>, _>>())
        .map_err(|e| ConfigError::DotEnv(e.to_string()))
}

/// Merges the layers, deserialises strictly (unknown keys are errors) and validates.
pub fn load(sources: &Sources) -> Result<Settings, ConfigError> {
    let mut builder = Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
    if let Some(path) = &sources.file {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
        // Parse once ourselves: toml's error names the line and column, config's does not.
        toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
        builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
    }
    builder = builder
        .add_source(env_layer(&sources.dotenv))
        .add_source(env_layer(&sources.env));
    let merged = builder
        .build()
        .map_err(|e| ConfigError::Other(e.to_string()))?;
    let settings: Settings = merged
        .try_deserialize()
        .map_err(describe_deserialize_error)?;
    validate::validate(&settings)?;
    Ok(settings)
}

fn env_layer(vars: &HashMap<String, String>) -> Environment {
    let only_ours = vars
        .iter()
        .filter(|(k, _)| k.starts_with("LEADSYNC__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Environment::with_prefix("LEADSYNC")
        .prefix_separator("__")
        .separator("__")
        // Values stay strings until serde asks for a number or a bool: parsing eagerly would
        // turn a token like "0123" into the integer 123.
        .try_parsing(false)
        .source(Some(only_ours))
}

/// `config` reports serde errors as "unknown field `x`, expected … for key `server` in the
/// environment"; turn that into the `key: problem` form every other config error has.
fn describe_deserialize_error(err: config::ConfigError) -> ConfigError {
    let text = err.to_string();
    let Some((problem, rest)) = text.rsplit_once(" for key `") else {
        return unknown_top_level_key(&text).unwrap_or(ConfigError::Other(text));
    };
    // `rest` is "server.max_body_bytes`" or "server.max_body_bytes` in the environment".
    let (key, origin) = rest.split_once('`').unwrap_or((rest, ""));
    let key = &dotted(key);
    let origin = origin.trim();
    let origin = origin
        .strip_prefix("in ")
        .map(|o| format!(" (set in {o})"))
        .unwrap_or_default();
    if let Some(field) = unknown_field(problem) {
        return ConfigError::Invalid {
            key: format!("{key}.{field}"),
            problem: format!("unknown key{origin}"),
        };
    }
    let problem = tracker_keys::describe_unknown_tracker(key, problem)
        .or_else(|| enums::describe(problem))
        .unwrap_or_else(|| problem.to_owned());
    ConfigError::Invalid {
        key: key.to_owned(),
        problem: format!("{problem}{origin}"),
    }
}

/// `config` writes a key inside a list without the dot after the index (`pairs[0]tracker`);
/// every other message names it `pairs[0].tracker`.
fn dotted(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == ']' && chars.peek().is_some_and(|n| *n != '.' && *n != '[') {
            out.push('.');
        }
    }
    out
}

/// A misspelt section (`[serverr]`) is reported without a key: the field is the key.
fn unknown_top_level_key(text: &str) -> Option<ConfigError> {
    let problem = text.split(" in ").next().unwrap_or(text);
    unknown_field(problem).map(|field| ConfigError::Invalid {
        key: field.to_owned(),
        problem: "unknown key".into(),
    })
}

fn unknown_field(problem: &str) -> Option<&str> {
    problem
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
}

/// Settings from `LEADSYNC__…` variables alone (no file): what the client builders' unit tests
/// start from.
#[cfg(test)]
pub(crate) fn from_env_only(env: &[(&str, &str)]) -> Settings {
    let env = (env.iter()).map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    load(&Sources {
        file: None,
        dotenv: HashMap::new(),
        env: env.collect(),
    })
    .expect("valid settings")
}
