//! `GET /admin`: who is signed in, what its key may do, and where to do it.

use askama::Template;
use poem::web::Data;
use poem::{Request, Response, handler};
use rieter::keys::Scope;

use super::keys::describe_scope;
use super::page::{Layout, render};
use super::session::signed_in;
use crate::auth::{Action, Principal};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    who: String,
    abilities: Vec<String>,
    may_manage_keys: bool,
    may_manage_mirrors: bool,
    may_manage_builds: bool,
}

#[handler]
pub async fn admin(state: Data<&AppState>, req: &Request) -> Response {
    let visitor = match signed_in(&state, req).await {
        Ok(visitor) => visitor,
        Err(resp) => return resp,
    };
    let abilities = match &visitor.principal {
        Principal::Key { scopes, .. } => scopes.iter().map(describe_scope).collect(),
        _ => vec![describe_scope(&Scope::Admin)],
    };
    render(&AdminPage {
        layout: Layout::for_visitor(&visitor),
        who: visitor.describe(),
        abilities,
        may_manage_keys: visitor.principal.may(Action::ManageKeys),
        may_manage_mirrors: visitor.principal.may(Action::ManageMirrors),
        may_manage_builds: visitor.principal.target_reach().is_some(),
    })
}
