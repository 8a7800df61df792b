//! Layered configuration: compiled-in defaults, the `--config` file, `.env`, then `LEADSYNC__…` env vars.

mod board_ref;
mod settings;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};

pub use board_ref::{BoardRef, is_full_id};
pub use settings::*;

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

/// Where the layers come from. Production uses [`Sources::from_process`]; tests pass their own.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub file: Option<PathBuf>,
    /// Contents of the `.env` file, if one exists.
    pub dotenv: HashMap<String, String>,
    /// The process environment (only `LEADSYNC__…` variables are read from it).
    pub env: HashMap<String, String>,
}

impl Sources {
    /// `--config`/`LEADSYNC_CONFIG` (already resolved by clap), `./.env`, and the environment.
    pub fn from_process(file: Option<PathBuf>) -> Result<Self, ConfigError> {
        Ok(Self {
            file,
            dotenv: read_dotenv(Path::new(".env"))?,
            env: std::env::vars().collect(),
        })
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

/// `config` reports serde errors as "unknown field `x`, expected … for key `server`"; turn that
/// into the `key: problem` form every other config error has.
fn describe_deserialize_error(err: config::ConfigError) -> ConfigError {
    let text = err.to_string();
    let with_key = if text.contains(" for key `") {
        text.clone()
    } else {
        format!("{text} for key ``")
    };
    if let Some((problem, key)) = with_key.rsplit_once(" for key `") {
        let key = key.trim_end_matches('`');
        if let Some(field) = problem
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            let full = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
            return ConfigError::Invalid {
                key: full,
                problem: "unknown key".into(),
            };
        }
        if !key.is_empty() {
            return ConfigError::Invalid {
                key: key.to_string(),
                problem: problem.to_string(),
            };
        }
    }
    ConfigError::Other(text)
}
