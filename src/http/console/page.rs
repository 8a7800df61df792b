//! The console's shell page: the login form and the empty frames the script fills. It holds no
//! data, so it is served without the token; its script and style are inline (no other request,
//! no external origin), and a Content-Security-Policy allows exactly that script by its hash.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use base64::Engine as _;
use maud::{DOCTYPE, PreEscaped, html};
use sha2::{Digest, Sha256};

const SCRIPT: &str = include_str!("console.js");
const STYLE: &str = include_str!("console.css");

/// Scripts: only ours (by hash; no `eval`, no inline handlers). Fetches: this origin only.
/// Forms post nowhere (the script does every request) and no site may frame the console.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
         connect-src 'self'; img-src 'self' data:; form-action 'none'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
});

pub async fn shell() -> impl IntoResponse {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { "leadsync console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "leadsync" }
                    nav #tabs hidden {
                        button type="button" data-tab="overview" { "Overview" }
                        button type="button" data-tab="activity" { "Activity" }
                        button type="button" data-tab="actions" { "Actions" }
                        button type="button" #logout { "Log out" }
                    }
                }
                p #error role="alert" {}
                form #login {
                    label for="token" { "Admin token" }
                    input #token type="password" autocomplete="off" required;
                    button type="submit" { "Log in" }
                    p.hint { "The token (server.admin_token) stays in this tab's session storage." }
                }
                main #app hidden {
                    section data-view="overview" {
                        div #overview {}
                        // Not refreshed with the overview: asking the systems spends their API
                        // budgets, so it is done when the operator asks.
                        div.row {
                            button.secondary #overview-check-webhooks type="button"
                                data-target="#webhook-check" data-get="/admin/ui/webhooks" {
                                "Check webhooks now"
                            }
                            span.hint { "asks Trello and Airtable which webhooks they hold and whether they are active" }
                        }
                        div #webhook-check {}
                    }
                    section data-view="activity" hidden {
                        form #filters {
                            input name="pair" placeholder="pair";
                            input name="lead" placeholder="lead id";
                            input name="field" placeholder="field";
                            input name="decision" placeholder="decision";
                            button type="submit" { "Filter" }
                        }
                        div #activity-result {}
                        div #activity {}
                    }
                    section data-view="lead" hidden {
                        div #lead {}
                    }
                    section data-view="actions" hidden {
                        div #actions {}
                        div #action-result {}
                    }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    (
        [
            (header::CONTENT_SECURITY_POLICY, CSP.as_str()),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(page.into_string()),
    )
}
