//! The shipped Apps Script (the Sheets side's webhook sender) with one pair's URL, secret,
//! spreadsheet and sheet filled in. Which pair is the operator command's choice (`admin`).

use secrecy::ExposeSecret;

use crate::config::{PairSettings, Settings};
use crate::inbound::SHEETS_PATH;

/// `apps-script/Code.gs`, compiled in so the binary prints the script it was built with.
const TEMPLATE: &str = include_str!("../../../apps-script/Code.gs");

/// The script for `pair`. The placeholders sit inside JavaScript string literals, so each value
/// is inserted string-escaped, without quotes. Without `apps_script.secret` the error names it.
pub fn apps_script_text(settings: &Settings, pair: &PairSettings) -> Result<String, String> {
    let secret = settings.apps_script.secret.expose_secret();
    if secret.trim().is_empty() {
        return Err(
            "apps_script.secret is empty: the script cannot sign its events without it".into(),
        );
    }
    let url = format!("{}{SHEETS_PATH}", settings.server.public_url);
    let values = [
        ("LEADSYNC_URL", url.as_str()),
        ("LEADSYNC_SECRET", secret),
        ("SPREADSHEET_ID", pair.spreadsheet_id.as_str()),
        ("SHEET_NAME", pair.sheet.as_str()),
    ];
    let mut text = TEMPLATE.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{{{name}}}}}"), &js_string_body(value));
    }
    Ok(text)
}

/// JSON string escaping minus the quotes; U+2028/U+2029 are escaped too, as older JavaScript
/// engines end a string literal at them.
fn js_string_body(value: &str) -> String {
    let quoted = serde_json::Value::from(value).to_string();
    let body = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(&quoted);
    body.replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::{self, Sources};

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn settings(pairs: &[&str], secret: &str) -> Settings {
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert(
            "LEADSYNC__SERVER__PUBLIC_URL".into(),
            "https://sync.example.com".into(),
        );
        env.insert("LEADSYNC__APPS_SCRIPT__SECRET".into(), secret.into());
        let mut settings = config::load(&Sources {
            file: None,
            dotenv: HashMap::new(),
            env,
        })
        .expect("valid settings");
        settings.pairs = pairs
            .iter()
            .map(|name| PairSettings {
                name: (*name).into(),
                spreadsheet_id: format!("sheet-{name}"),
                sheet: "Leads \"2026\" \\ Q1".into(),
                board_id: format!("board{name}"),
                columns: Default::default(),
                status_lists: Default::default(),
                tracker: Default::default(),
                base_id: None,
                table: None,
                database_id: None,
                data_source_id: None,
                conflict_policy: None,
            })
            .collect();
        settings
    }

    #[test]
    fn the_script_gets_every_value_escaped_and_no_placeholder_is_left() {
        let s = settings(&["sales"], SECRET);
        let text = apps_script_text(&s, &s.pairs[0]).expect("script");
        assert!(
            text.contains(r#"const LEADSYNC_URL = "https://sync.example.com/webhooks/sheets";"#)
        );
        assert!(text.contains(&format!(r#"const LEADSYNC_SECRET = "{SECRET}";"#)));
        assert!(text.contains(r#"const SPREADSHEET_ID = "sheet-sales";"#));
        assert!(text.contains(r#"const SHEET_NAME = "Leads \"2026\" \\ Q1";"#));
        for name in [
            "LEADSYNC_URL",
            "LEADSYNC_SECRET",
            "SPREADSHEET_ID",
            "SHEET_NAME",
        ] {
            assert!(!text.contains(&format!("{{{{{name}}}}}")), "{name} left");
        }
    }

    #[test]
    fn an_empty_secret_is_refused_by_key_name() {
        let s = settings(&["sales"], "");
        let err = apps_script_text(&s, &s.pairs[0]).unwrap_err();
        assert!(err.starts_with("apps_script.secret is empty"), "{err}");
    }

    #[test]
    fn line_separators_are_escaped_for_old_javascript_engines() {
        assert_eq!(js_string_body("a\u{2028}b\"c\n"), "a\\u2028b\\\"c\\n");
    }
}
