//! `/admin/keys`: the API keys (admin only), a form creating one (its secret shown once, in the
//! answer to that form) and a revoke button for each. The operations are the JSON API's
//! (`rieter::key_admin`), under the same permission (`Action::ManageKeys`).

use askama::Template;
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::{Data, Form, Path, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use rieter::db::keys::{self as key_db, KeyDbError};
use rieter::key_admin::{self, CreateKeyError, CreatedKey};
use rieter::keys::{Scope, Target};
use serde::Deserialize;
use uuid::Uuid;

use super::links::{Pager, page_number};
use super::page::{
    Layout, database_error, datetime, forbidden, not_found, render_with_status, server_error, time,
};
use super::session::{CsrfForm, Visitor, form_poster, signed_in};
use crate::auth::Action;
use crate::pagination::MAX_DEPTH;
use crate::state::AppState;

const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    layout: Layout,
    created: Option<CreatedLine>,
    error: String,
    keys: Vec<KeyLine>,
    total: i64,
    pager: Pager,
}

struct CreatedLine {
    name: String,
    secret: String,
}

struct KeyLine {
    name: String,
    prefix: String,
    scopes: String,
    created: String,
    created_datetime: String,
    revoke_href: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct KeysParams {
    page: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NewKeyForm {
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    permission: String,
    #[serde(default)]
    distro: String,
    #[serde(default)]
    repo: String,
}

/// A scope in words.
pub fn describe_scope(scope: &Scope) -> String {
    let target = |t: &Target| match t.repo() {
        Some(repo) => format!("{}/{repo}", t.distro()),
        None => format!("every repository of {}", t.distro()),
    };
    match scope {
        Scope::Admin => "admin: everything, including managing keys".to_owned(),
        Scope::Metrics => "read the metrics".to_owned(),
        Scope::Publish(t) => format!("publish to {}", target(t)),
        Scope::Remove(t) => match t.repo() {
            Some(_) => format!("remove from {}", target(t)),
            None => format!("remove from {}, or all of {}", target(t), t.distro()),
        },
        Scope::Read(t) => format!("read {}", target(t)),
        Scope::Build(t) => format!("manage the build targets of {}", target(t)),
        Scope::Agent => "run builds (a build agent)".to_owned(),
    }
}

#[handler]
pub async fn list_keys(
    state: Data<&AppState>,
    req: &Request,
    Query(params): Query<KeysParams>,
) -> Response {
    let visitor = match signed_in(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    if !visitor.principal.may(Action::ManageKeys) {
        return forbidden();
    }
    let page = page_number(params.page.as_deref(), MAX_DEPTH / PER_PAGE);
    keys_page(&state, &visitor, page, None, String::new(), StatusCode::OK).await
}

async fn keys_page(
    state: &AppState,
    visitor: &Visitor,
    page: i64,
    created: Option<CreatedKey>,
    error: String,
    status: StatusCode,
) -> Response {
    let (found, total) = match key_db::list(&state.pool, PER_PAGE, (page - 1) * PER_PAGE).await {
        Ok(found) => found,
        Err(KeyDbError::Sql(err)) => return database_error("listing API keys", err),
        Err(err) => {
            tracing::error!(error = %err, "listing API keys");
            return server_error();
        }
    };
    let keys = found
        .into_iter()
        .map(|k| KeyLine {
            scopes: k
                .scopes
                .iter()
                .map(describe_scope)
                .collect::<Vec<_>>()
                .join("; "),
            created: time(k.created_at),
            created_datetime: datetime(k.created_at),
            revoke_href: format!("/admin/keys/{}/revoke", k.id),
            name: k.name,
            prefix: k.prefix,
        })
        .collect();
    let fresh = created.is_some();
    let mut resp = render_with_status(
        &KeysPage {
            layout: Layout::for_visitor(visitor),
            created: created.map(|c| CreatedLine {
                name: c.name,
                secret: c.secret.secret,
            }),
            error,
            keys,
            total,
            pager: Pager::new(page, PER_PAGE, total, MAX_DEPTH, |p| {
                format!("/admin/keys?page={p}")
            }),
        },
        status,
    );
    if fresh {
        // The one answer holding a secret is never stored by a browser or a proxy.
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// The poster of a key form: a live session, its CSRF token, and a key that may manage keys.
async fn key_manager(
    state: &AppState,
    req: &Request,
    csrf: Option<&str>,
) -> Result<Visitor, Response> {
    let visitor = form_poster(state, req, csrf).await?;
    if visitor.principal.may(Action::ManageKeys) {
        Ok(visitor)
    } else {
        Err(forbidden())
    }
}

#[handler]
pub async fn create_key(
    state: Data<&AppState>,
    req: &Request,
    Form(form): Form<NewKeyForm>,
) -> Response {
    let visitor = match key_manager(&state, req, form.csrf.as_deref()).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let given = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
    let scope = match Scope::from_parts(
        form.permission.trim(),
        given(&form.distro).as_deref(),
        given(&form.repo).as_deref(),
    ) {
        Ok(scope) => scope,
        Err(err) => {
            return keys_page(
                &state,
                &visitor,
                1,
                None,
                err.to_string(),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    match key_admin::create(&state.pool, &form.name, &[scope]).await {
        Ok(created) => {
            keys_page(
                &state,
                &visitor,
                1,
                Some(created),
                String::new(),
                StatusCode::OK,
            )
            .await
        }
        Err(err @ (CreateKeyError::BadName | CreateKeyError::NoScopes)) => {
            keys_page(
                &state,
                &visitor,
                1,
                None,
                err.to_string(),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(CreateKeyError::Random(err)) => {
            tracing::error!(error = %err, "generating an API key");
            server_error()
        }
        Err(CreateKeyError::Sql(err)) => database_error("storing an API key", err),
    }
}

#[handler]
pub async fn revoke_key(
    state: Data<&AppState>,
    req: &Request,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(resp) = key_manager(&state, req, form.csrf.as_deref()).await {
        return resp;
    }
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found();
    };
    match key_admin::revoke(&state.pool, id).await {
        Ok(true) => Redirect::see_other("/admin/keys").into_response(),
        Ok(false) => not_found(),
        Err(err) => database_error("deleting an API key", err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_described_in_words() {
        let scope = |p, d, r| Scope::from_parts(p, d, r).unwrap();
        assert_eq!(
            describe_scope(&scope("publish", Some("arch"), Some("extra"))),
            "publish to arch/extra"
        );
        assert_eq!(
            describe_scope(&scope("read", Some("vault"), None)),
            "read every repository of vault"
        );
        assert_eq!(
            describe_scope(&scope("remove", Some("arch"), None)),
            "remove from every repository of arch, or all of arch"
        );
    }
}
