//! Request facts as typed arguments: the signed-in user, the client's address.

use std::future::{Ready, ready};

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web::Data};

use crate::{
    services::RequestMeta,
    state::AppState,
    web::{
        error::WebError,
        session::{self, SessionUser},
    },
};

/// The signed-in user; anonymous requests are sent to sign in first.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub SessionUser);

impl FromRequest for CurrentUser {
    type Error = WebError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            session::current_user(&req.get_session())
                .map(CurrentUser)
                .ok_or_else(|| WebError::LoginRequired {
                    next: req.path().to_owned(),
                }),
        )
    }
}

/// Where the request came from. The peer address unless `TRUST_PROXY_HEADERS`
/// says a reverse proxy in front sets `X-Forwarded-For` honestly.
#[derive(Debug, Clone)]
pub struct ClientMeta(pub RequestMeta);

impl FromRequest for ClientMeta {
    type Error = WebError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust_proxy = req
            .app_data::<Data<AppState>>()
            .is_some_and(|state| state.settings.trust_proxy_headers);
        let ip = if trust_proxy {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_owned)
        } else {
            req.peer_addr().map(|addr| addr.ip().to_string())
        };
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        ready(Ok(ClientMeta(RequestMeta { ip, user_agent })))
    }
}
