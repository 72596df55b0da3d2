//! `GET /admin/ledger`: the same report as `crowdlend verify`, and what the
//! platform's own wallets and all user wallets hold.

use actix_web::{HttpResponse, web::Data};
use askama::Template;

use crate::{
    domain::{
        money::Currency,
        wallet::{Wallet, WalletKind},
    },
    format,
    services::books::{self, CheckResult},
    state::AppState,
    web::{
        error::WebError,
        layout::{BaseCtx, page},
    },
};

struct WalletLine {
    name: String,
    balance: String,
}

#[derive(Template)]
#[template(path = "admin/ledger.html")]
struct LedgerPage {
    base: BaseCtx,
    holds: bool,
    entries: i64,
    checks: Vec<CheckResult>,
    wallets: Vec<WalletLine>,
}

fn show_money(minor: i64, currency: &str) -> String {
    Currency::parse(currency).map_or_else(
        || format!("{minor} (minor units, {currency})"),
        |c| format::money(minor, c),
    )
}

fn wallet_line(wallet: &Wallet) -> WalletLine {
    let label = match wallet.kind {
        WalletKind::Settlement => "Settlement (money in the platform's nominal account)",
        WalletKind::Fees => "Fees earned",
        WalletKind::ReserveFund => "Reserve fund",
        WalletKind::User => "A person's wallet",
    };
    WalletLine {
        name: format!("{label} · {}", wallet.currency()),
        balance: wallet.balance.to_string(),
    }
}

impl LedgerPage {
    fn entries_checked(&self) -> String {
        match self.entries {
            1 => "1 ledger entry".to_owned(),
            n => format!("{n} ledger entries"),
        }
    }
}

pub async fn show(base: BaseCtx, state: Data<AppState>) -> Result<HttpResponse, WebError> {
    let books = books::check(&state.db).await?;
    let mut wallets: Vec<WalletLine> = books.platform_wallets.iter().map(wallet_line).collect();
    wallets.extend(
        books
            .user_totals
            .iter()
            .map(|(currency, total)| WalletLine {
                name: format!("All user wallets · {currency}"),
                balance: show_money(*total, currency),
            }),
    );
    page(&LedgerPage {
        base,
        holds: books.hold(),
        entries: books.entries,
        checks: books.checks,
        wallets,
    })
}
