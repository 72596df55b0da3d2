//! `GET /admin/audit`: who did what, to what, when and from where, with the
//! values before and after (admins only). Filter by action and by actor.

use actix_web::{
    HttpResponse,
    web::{Data, Query},
};
use askama::Template;
use serde::Deserialize;

use crate::{
    db::queries::{
        Page,
        audit::{self, AuditFilter},
    },
    format,
    state::AppState,
    web::{
        error::WebError,
        layout::{BaseCtx, page},
    },
};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    page: Option<u64>,
}

struct Line {
    at: String,
    actor: String,
    action: String,
    entity: String,
    before: String,
    after: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    base: BaseCtx,
    lines: Page<Line>,
    actions: Vec<String>,
    action: String,
    actor: String,
}

impl AuditPage {
    fn is_action(&self, action: &str) -> bool {
        self.action == action
    }

    fn page_link(&self, page: u64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !self.action.is_empty() {
            query.append_pair("action", &self.action);
        }
        if !self.actor.is_empty() {
            query.append_pair("actor", &self.actor);
        }
        query.append_pair("page", &page.to_string());
        format!("/admin/audit?{}", query.finish())
    }
}

/// "action_name" as "Action name".
pub(super) fn humanize(action: &str) -> String {
    let mut text = action.replace('_', " ");
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    text
}

pub(super) fn json(value: Option<serde_json::Value>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

pub async fn index(
    base: BaseCtx,
    state: Data<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    let filter = AuditFilter {
        action: non_empty(query.action),
        actor: non_empty(query.actor),
    };
    let rows = audit::list(&state.db, &filter, query.page).await?;
    let lines = Page {
        items: rows
            .items
            .into_iter()
            .map(|row| Line {
                at: format::datetime(&row.created_at),
                actor: row.actor_email.unwrap_or_else(|| "—".to_owned()),
                action: humanize(&row.action),
                entity: match (row.entity_type, row.entity_id) {
                    (Some(kind), Some(id)) => format!("{kind} {id}"),
                    (Some(kind), None) => kind,
                    _ => String::new(),
                },
                before: json(row.before),
                after: json(row.after),
                ip: row.ip.unwrap_or_default(),
            })
            .collect(),
        page: rows.page,
        pages: rows.pages,
        total: rows.total,
    };
    page(&AuditPage {
        base,
        lines,
        actions: audit::actions(&state.db).await?,
        action: filter.action.unwrap_or_default(),
        actor: filter.actor.unwrap_or_default(),
    })
}
