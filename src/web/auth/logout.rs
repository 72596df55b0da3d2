//! `POST /logout`: ends the session for real (its row is deleted).

use actix_session::Session;
use actix_web::{HttpResponse, web::Data};

use crate::{
    services::auth,
    state::AppState,
    web::{
        error::WebError,
        extractors::ClientMeta,
        layout::see_other,
        session::{self, FlashLevel},
    },
};

pub async fn submit(
    session: Session,
    state: Data<AppState>,
    ClientMeta(meta): ClientMeta,
) -> Result<HttpResponse, WebError> {
    if let Some(user) = session::current_user(&session) {
        auth::record_logout(&state.db, state.clock.as_ref(), user.id, &meta).await?;
    }
    session::sign_out(&session);
    session::flash(&session, FlashLevel::Info, "You have been signed out.");
    Ok(see_other("/"))
}
