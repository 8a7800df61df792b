//! `leadsync apps-script` and `/admin/apps-script`: the pair the operator means, and its filled-in
//! script (`connectors::sheets::apps_script`).

use super::AdminError;
use crate::config::{PairSettings, Settings};
use crate::connectors::sheets::apps_script;

/// The script for `pair` (optional when exactly one pair is configured).
pub fn apps_script_text(settings: &Settings, pair: Option<&str>) -> Result<String, AdminError> {
    let pair = choose_pair(settings, pair)?;
    apps_script::apps_script_text(settings, pair).map_err(AdminError::Config)
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

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::sync::test_support;

    /// The test settings' pair, once under each name, signing with `secret`.
    fn settings(pairs: &[&str], secret: &str) -> Settings {
        let mut settings = test_support::settings();
        let pair = settings.pairs[0].clone();
        settings.pairs = (pairs.iter())
            .map(|name| PairSettings {
                name: (*name).into(),
                spreadsheet_id: format!("sheet-{name}"),
                ..pair.clone()
            })
            .collect();
        settings.apps_script.secret = SecretString::from(secret);
        settings
    }

    #[test]
    fn the_pair_is_chosen_by_name_and_required_among_several() {
        let s = settings(
            &["sales", "support"],
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        );
        let text = apps_script_text(&s, Some("support")).expect("script");
        assert!(text.contains(r#"const SPREADSHEET_ID = "sheet-support";"#));
        let err = apps_script_text(&s, None).unwrap_err().to_string();
        assert!(err.contains("sales, support"), "{err}");
        let err = apps_script_text(&s, Some("nope")).unwrap_err();
        assert!(matches!(err, AdminError::UnknownPair(ref n, _) if n == "nope"));
        assert!(err.to_string().contains("\"nope\""), "{err}");
        let none = Settings {
            pairs: vec![],
            ..s.clone()
        };
        assert!(matches!(
            apps_script_text(&none, None),
            Err(AdminError::NoPairs)
        ));
    }

    #[test]
    fn an_empty_secret_is_a_usage_error_naming_the_key() {
        let err = apps_script_text(&settings(&["sales"], ""), None).unwrap_err();
        assert!(err.is_usage());
        assert!(
            err.to_string().starts_with("apps_script.secret is empty"),
            "{err}"
        );
    }
}
