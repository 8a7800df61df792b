//! The README's configuration table documents every default key.

use super::DEFAULT_TOML;

#[test]
fn every_default_key_is_documented_in_the_readme() {
    let readme = include_str!("../../README.md");
    let defaults: toml::Table = toml::from_str(DEFAULT_TOML).expect("defaults parse");
    for (section, table) in &defaults {
        let table = table
            .as_table()
            .expect("every top-level default is a table");
        for key in table.keys() {
            let needle = format!("| `{section}.{key}` |");
            assert!(
                readme.contains(&needle),
                "README's configuration table lacks {needle}"
            );
        }
    }
}
