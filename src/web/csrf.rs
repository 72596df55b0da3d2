//! CSRF protection by synchronizer token: every request that may change state
//! must carry, in its form body, the `csrf_token` stored in the caller's
//! session. Checked here for every route, so no handler can forget it; without
//! a valid token the answer is 403 and nothing runs.

use actix_session::SessionExt;
use actix_web::{
    Error, HttpMessage, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web::BytesMut,
};
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use crate::web::{error::WebError, session};

/// The largest form body accepted (ASVS 12.1.1); larger ones get 413.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

pub const FIELD: &str = "csrf_token";

pub async fn verify_csrf(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Ok(req.into_response(WebError::UnsupportedMediaType.error_response()));
    }

    let mut body = BytesMut::new();
    let mut payload = req.take_payload();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Ok(req.into_response(
                WebError::BadRequest("The form could not be read.".into()).error_response(),
            ));
        };
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Ok(req.into_response(WebError::PayloadTooLarge.error_response()));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();

    let sent: Vec<String> = url::form_urlencoded::parse(&body)
        .filter(|(key, _)| key == FIELD)
        .map(|(_, value)| value.into_owned())
        .collect();
    let expected = session::existing_csrf_token(&req.get_session());
    let valid = match (expected, sent.as_slice()) {
        (Some(expected), [sent]) => bool::from(expected.as_bytes().ct_eq(sent.as_bytes())),
        _ => false,
    };
    if !valid {
        tracing::warn!(path = %req.path(), "request refused: missing or invalid CSRF token");
        return Ok(req.into_response(WebError::CsrfRejected.error_response()));
    }

    let (_, mut replay) = actix_http::h1::Payload::create(true);
    replay.unread_data(body);
    req.set_payload(replay.into());
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}
