//! The shipped Apps Script with one pair's URL, secret, spreadsheet and sheet filled in.

use secrecy::ExposeSecret;

use super::AdminError;
use crate::config::{PairSettings, Settings};
use crate::inbound::SHEETS_PATH;

/// `apps-script/Code.gs`, compiled in so the binary prints the script it was built with.
const TEMPLATE: &str = include_str!("../../apps-script/Code.gs");

/// The script for `pair` (optional when exactly one pair is configured). The placeholders sit
/// inside JavaScript string literals, so each value is inserted string-escaped, without quotes.
pub fn apps_script_text(settings: &Settings, pair: Option<&str>) -> Result<String, AdminError> {
    let pair = choose_pair(settings, pair)?;
    let secret = settings.apps_script.secret.expose_secret();
    if secret.trim().is_empty() {
        return Err(AdminError::Config(
            "apps_script.secret is empty: the script cannot sign its events without it".into(),
        ));
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

fn choose_pair<'a>(
    settings: &'a Settings,
    name: Option<&str>,
) -> Result<&'a PairSettings, AdminError> {
    let names = || {
        settings
            .pairs
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (name, settings.pairs.as_slice()) {
        (_, []) => Err(AdminError::NoPairs),
        (Some(name), pairs) => pairs
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| AdminError::UnknownPair(name.to_owned(), names())),
        (None, [only]) => Ok(only),
        (None, _) => Err(AdminError::PairRequired(names())),
    }
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
                conflict_policy: None,
            })
            .collect();
        settings
    }

    #[test]
    fn the_script_gets_every_value_escaped_and_no_placeholder_is_left() {
        let text = apps_script_text(&settings(&["sales"], SECRET), None).expect("script");
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
    fn the_pair_is_chosen_by_name_and_required_among_several() {
        let s = settings(&["sales", "support"], SECRET);
        let text = apps_script_text(&s, Some("support")).expect("script");
        assert!(text.contains(r#"const SPREADSHEET_ID = "sheet-support";"#));
        let err = apps_script_text(&s, None).unwrap_err().to_string();
        assert!(err.contains("sales, support"), "{err}");
        let err = apps_script_text(&s, Some("nope")).unwrap_err();
        assert!(matches!(err, AdminError::UnknownPair(ref n, _) if n == "nope"));
        assert!(err.to_string().contains("\"nope\""), "{err}");
    }

    #[test]
    fn an_empty_secret_is_refused_by_key_name() {
        let err = apps_script_text(&settings(&["sales"], ""), None).unwrap_err();
        assert!(err.is_usage());
        assert!(
            err.to_string().starts_with("apps_script.secret is empty"),
            "{err}"
        );
    }

    #[test]
    fn line_separators_are_escaped_for_old_javascript_engines() {
        assert_eq!(js_string_body("a\u{2028}b\"c\n"), "a\\u2028b\\\"c\\n");
    }
}
