//! Who may enter which area. Each scope in the route table is wrapped in one of
//! these; handlers inside additionally take the user as an extractor. An
//! anonymous visitor is sent to sign in (and back afterwards); a signed-in
//! user of the wrong role gets 403.

use actix_session::SessionExt;
use actix_web::{
    Error, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};

use crate::{
    domain::user::Role,
    web::{error::WebError, session},
};

async fn require(
    allowed: &[Role],
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let user = session::current_user(&req.get_session());
    let refusal = match user {
        None => Some(WebError::LoginRequired {
            next: local_target(&req),
        }),
        Some(user) if !allowed.contains(&user.role) => {
            tracing::warn!(user_id = %user.id, role = %user.role, path = %req.path(), "access denied");
            Some(WebError::Forbidden)
        }
        Some(_) => None,
    };
    match refusal {
        Some(err) => Ok(req.into_response(err.error_response())),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
    }
}

/// Where to come back to after signing in: the page that was asked for, if it
/// was a page (GET); otherwise the area's start.
fn local_target(req: &ServiceRequest) -> String {
    if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned())
    } else {
        req.path().to_owned()
    }
}

pub async fn borrowers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(&[Role::Borrower], req, next).await
}

pub async fn investors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(&[Role::Investor], req, next).await
}

/// The wallet belongs to the people whose money it holds.
pub async fn wallet_holders(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(&[Role::Borrower, Role::Investor], req, next).await
}

/// The people the platform checks the identity of.
pub async fn borrowers_and_investors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(&[Role::Borrower, Role::Investor], req, next).await
}

pub async fn staff(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(&[Role::Staff, Role::Admin], req, next).await
}

pub async fn admins(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(&[Role::Admin], req, next).await
}

pub async fn signed_in(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    require(&Role::ALL, req, next).await
}

/// Accepts a `next` target only if it is a path on this site (`/...`, not
/// `//host` or `/\host`, which browsers treat as another site).
#[must_use]
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let is_local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    is_local.then(|| next.to_owned())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_accepted_as_next() {
        assert_eq!(
            safe_next(Some("/investor?page=2")).as_deref(),
            Some("/investor?page=2")
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
        assert_eq!(safe_next(None), None);
    }
}
