//! The HTTP layer: thin handlers that read input, call one service or query,
//! and render a page or redirect. The route table below is the public
//! contract of DESIGN.md section 10.

pub mod account;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod borrower;
pub mod client_address;
pub mod csrf;
pub mod device_cookie;
pub mod error;
pub mod extractors;
pub mod forms;
pub mod guards;
pub mod headers;
pub mod invest;
pub mod investor;
pub mod layout;
pub mod loan_facts;
pub mod marketplace;
pub mod money_limit;
pub mod observe;
pub mod offer;
pub mod public;
pub mod repayment_view;
pub mod scorecard;
pub mod secondary;
pub mod session;
pub mod wallet;

use actix_web::{
    middleware::from_fn,
    web::{self, get, post, resource, scope},
};

use crate::web::error::WebError;

/// The one route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", get().to(public::home::show))
        .route("/calculator", get().to(public::calculator::show))
        .route("/marketplace", get().to(marketplace::index))
        .route("/marketplace/{loan_id}", get().to(marketplace::show))
        .service(
            resource("/marketplace/{loan_id}/invest")
                .wrap(from_fn(guards::investors))
                .route(get().to(invest::confirm))
                .route(post().to(invest::submit)),
        )
        .service(
            resource("/marketplace/{loan_id}/offers")
                .wrap(from_fn(guards::investors))
                .route(get().to(offer::confirm))
                .route(post().to(offer::submit)),
        )
        .route("/secondary", get().to(secondary::index))
        .service(
            resource("/secondary/{listing_id}/buy")
                .wrap(from_fn(guards::investors))
                .route(get().to(secondary::confirm_buy))
                .route(post().to(secondary::buy)),
        )
        .route("/healthz", get().to(public::health::healthz))
        .route("/metrics", get().to(public::health::metrics))
        .route("/static/{path:.*}", get().to(assets::serve))
        .service(
            resource("/register")
                .route(get().to(auth::register::form))
                .route(post().to(auth::register::submit)),
        )
        .service(
            resource("/login")
                .route(get().to(auth::login::form))
                .route(post().to(auth::login::submit)),
        )
        .route("/logout", post().to(auth::logout::submit))
        .service(
            scope("/account")
                .wrap(from_fn(guards::signed_in))
                .service(
                    resource("/password")
                        .route(get().to(account::password::form))
                        .route(post().to(account::password::submit)),
                )
                .service(
                    resource("/identity")
                        .wrap(from_fn(guards::borrowers_and_investors))
                        .route(get().to(account::identity::form))
                        .route(post().to(account::identity::submit)),
                ),
        )
        .service(
            scope("/borrower")
                .wrap(from_fn(guards::borrowers))
                .route("", get().to(borrower::dashboard::show))
                .service(
                    resource("/profile")
                        .route(get().to(borrower::profile::form))
                        .route(post().to(borrower::profile::submit)),
                )
                .route("/loans", post().to(borrower::loans::create))
                .route("/loans/new", get().to(borrower::loans::new))
                .route("/loans/{id}", get().to(borrower::loans::show))
                .route("/loans/{id}/withdraw", post().to(borrower::loans::withdraw))
                .service(
                    resource("/loans/{id}/pay")
                        .route(get().to(borrower::repayment::confirm))
                        .route(post().to(borrower::repayment::pay)),
                )
                .route("/loans/{id}/payoff", post().to(borrower::repayment::payoff))
                .service(
                    resource("/loans/{id}/offers/{offer_id}/accept")
                        .route(get().to(borrower::offers::confirm))
                        .route(post().to(borrower::offers::accept)),
                ),
        )
        // For the investor, the loan's borrower and staff: outside the
        // investors' scope, the service checks who is a party.
        .service(
            resource("/investor/investments/{id}/agreement.pdf")
                .wrap(from_fn(guards::signed_in))
                .route(get().to(investor::investments::agreement)),
        )
        .service(
            scope("/investor")
                .wrap(from_fn(guards::investors))
                .route("", get().to(investor::dashboard::show))
                .service(
                    resource("/profile")
                        .route(get().to(investor::profile::form))
                        .route(post().to(investor::profile::submit)),
                )
                .route("/investments", get().to(investor::investments::index))
                .route("/investments/{id}", get().to(investor::investments::show))
                .route(
                    "/investments/{id}/reduce",
                    post().to(investor::investments::reduce),
                )
                .route(
                    "/investments/{id}/cancel",
                    post().to(investor::investments::cancel),
                )
                .service(
                    resource("/auto-invest")
                        .route(get().to(investor::auto_invest::index))
                        .route(post().to(investor::auto_invest::create)),
                )
                .route("/auto-invest/{id}", get().to(investor::auto_invest::show))
                .route(
                    "/auto-invest/{id}/switch",
                    post().to(investor::auto_invest::switch),
                )
                .route("/offers/{id}/cancel", post().to(offer::cancel))
                .service(
                    resource("/investments/{id}/sell")
                        .route(get().to(investor::sell::confirm))
                        .route(post().to(investor::sell::submit)),
                )
                .route("/listings/{id}/cancel", post().to(investor::sell::cancel)),
        )
        .service(
            scope("/wallet")
                .wrap(from_fn(guards::wallet_holders))
                .route("", get().to(wallet::show))
                .service(
                    resource("/deposit")
                        .route(get().to(wallet::confirm_deposit))
                        .route(post().to(wallet::deposit)),
                )
                .service(
                    resource("/withdraw")
                        .route(get().to(wallet::confirm_withdrawal))
                        .route(post().to(wallet::withdraw)),
                )
                .route("/bank-accounts", post().to(wallet::add_bank_account))
                .route(
                    "/bank-accounts/{id}/delete",
                    post().to(wallet::remove_bank_account),
                ),
        )
        .service(
            scope("/admin")
                .wrap(from_fn(guards::staff))
                .route("", get().to(admin::dashboard::show))
                .route("/applications", get().to(admin::applications::index))
                .route("/applications/{id}", get().to(admin::applications::show))
                .route(
                    "/applications/{id}/decision",
                    post().to(admin::applications::decide),
                )
                .route("/loans", get().to(admin::loans::index))
                .route("/loans/{id}", get().to(admin::loans::show))
                .route("/loans/{id}/disburse", post().to(admin::loans::disburse))
                .route(
                    "/loans/{id}/default",
                    post().to(admin::loans::declare_default),
                )
                .service(
                    scope("/users")
                        .service(
                            resource("")
                                .route(get().to(admin::users::index))
                                // Only admins create staff; staff review users.
                                .route(
                                    post()
                                        .to(admin::users::create)
                                        .wrap(from_fn(guards::admins)),
                                ),
                        )
                        .route("/{id}", get().to(admin::users::show))
                        .route("/{id}/kyc", post().to(admin::users::decide_kyc)),
                )
                .service(
                    scope("/jobs")
                        .route("", get().to(admin::jobs::index))
                        .route("/run", post().to(admin::jobs::run_now))
                        .route("/emails/{id}/retry", post().to(admin::jobs::retry)),
                )
                .service(
                    scope("/ledger")
                        .wrap(from_fn(guards::admins))
                        .route("", get().to(admin::ledger::show)),
                )
                .service(
                    scope("/audit")
                        .wrap(from_fn(guards::admins))
                        .route("", get().to(admin::audit::index)),
                )
                .service(
                    scope("/settings").wrap(from_fn(guards::admins)).service(
                        resource("")
                            .route(get().to(admin::settings::show))
                            .route(post().to(admin::settings::update)),
                    ),
                ),
        );
}

/// Anything no route matched.
pub async fn not_found() -> Result<actix_web::HttpResponse, WebError> {
    Err(WebError::NotFound)
}
