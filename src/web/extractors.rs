//! Request facts as typed arguments: the signed-in user, the client's address.

use std::{
    borrow::Cow,
    future::{Ready, ready},
};

use actix_session::SessionExt;
use actix_web::{
    FromRequest, HttpRequest,
    dev::Payload,
    http::header::{USER_AGENT, X_FORWARDED_FOR},
    web::Data,
};

use crate::{
    services::RequestMeta,
    state::AppState,
    web::{
        client_address,
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

/// Where the request came from: the peer address, or with
/// `TRUST_PROXY_HEADERS` the address the trusted proxies recorded in
/// `X-Forwarded-For` (see [`client_address`]), falling back to the peer
/// address when they recorded none.
#[derive(Debug, Clone)]
pub struct ClientMeta(pub RequestMeta);

impl FromRequest for ClientMeta {
    type Error = WebError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let proxy_hops = req
            .app_data::<Data<AppState>>()
            .filter(|state| state.settings.trust_proxy_headers)
            .map(|state| state.settings.trusted_proxy_hops);
        let forwarded = proxy_hops.and_then(|hops| {
            // Lossy, not strict: a byte that is not UTF-8 in the part the
            // client wrote must not hide what the proxies appended after it.
            let headers: Vec<Cow<'_, str>> = req
                .headers()
                .get_all(X_FORWARDED_FOR)
                .map(|value| String::from_utf8_lossy(value.as_bytes()))
                .collect();
            let headers: Vec<&str> = headers.iter().map(AsRef::as_ref).collect();
            client_address::forwarded_client(&headers, hops)
        });
        let ip = forwarded
            .or_else(|| req.peer_addr().map(|addr| addr.ip().to_canonical()))
            .map(|ip| ip.to_string());
        let user_agent = req
            .headers()
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        ready(Ok(ClientMeta(RequestMeta { ip, user_agent })))
    }
}
