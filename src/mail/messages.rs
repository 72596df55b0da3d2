//! One struct per email. Each renders a subject and two bodies, plain text
//! (`templates/email/<kind>.txt`, no escaping) and HTML
//! (`templates/email/<kind>.html`, escaped), sent together as
//! multipart/alternative. Emails are plain and kind, and say what happens
//! next. Subjects never carry what a user typed.

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};

use crate::{
    domain::{
        investing::Payout,
        money::{Money, Rate},
    },
    format,
};

/// A rendered email, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A message the platform sends.
pub trait Email {
    /// The message's name, stored with each queued email (`kyc_decision`).
    fn kind(&self) -> &'static str;

    fn subject(&self) -> String;

    /// Subject and both bodies.
    ///
    /// # Errors
    /// When a template fails to render.
    fn render(&self) -> Result<Rendered, askama::Error>;
}

/// Declares the two body templates of a message and its `Email` impl; the
/// subject comes from the message's own `subject_line`.
macro_rules! email {
    ($message:ident, $kind:tt, $text:ident = $text_path:tt, $html:ident = $html_path:tt) => {
        #[derive(Template)]
        #[template(path = $text_path)]
        struct $text<'a> {
            email: &'a $message,
        }

        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> {
            email: &'a $message,
        }

        impl Email for $message {
            fn kind(&self) -> &'static str {
                $kind
            }

            fn subject(&self) -> String {
                self.subject_line()
            }

            fn render(&self) -> Result<Rendered, askama::Error> {
                Ok(Rendered {
                    subject: self.subject(),
                    text: $text { email: self }.render()?,
                    html: $html { email: self }.render()?,
                })
            }
        }
    };
}

/// "1 month", "12 months".
fn months(count: i32) -> String {
    if count == 1 {
        "1 month".to_owned()
    } else {
        format!("{count} months")
    }
}

/// To a borrower, right after they apply.
#[derive(Debug, Clone)]
pub struct ApplicationReceived {
    pub full_name: String,
    pub loan_url: String,
    pub amount: Money,
    pub term_months: i32,
    pub purpose: String,
}

impl ApplicationReceived {
    fn subject_line(&self) -> String {
        "We have received your loan application".to_owned()
    }

    fn term(&self) -> String {
        months(self.term_months)
    }
}

email!(
    ApplicationReceived,
    "application_received",
    ApplicationReceivedText = "email/application_received.txt",
    ApplicationReceivedHtml = "email/application_received.html"
);

/// To a borrower whose application staff approved; the loan is listed.
#[derive(Debug, Clone)]
pub struct ApplicationApproved {
    pub full_name: String,
    pub loan_url: String,
    pub amount: Money,
    pub term_months: i32,
    pub rate: Rate,
    pub monthly_payment: Money,
    pub grade: String,
    pub funding_deadline: DateTime<Utc>,
}

impl ApplicationApproved {
    fn subject_line(&self) -> String {
        "Your loan application is approved".to_owned()
    }

    fn deadline(&self) -> String {
        format::datetime(&self.funding_deadline)
    }

    fn term(&self) -> String {
        months(self.term_months)
    }
}

email!(
    ApplicationApproved,
    "application_approved",
    ApplicationApprovedText = "email/application_approved.txt",
    ApplicationApprovedHtml = "email/application_approved.html"
);

/// To a borrower whose application was turned down (by a scoring rule or staff).
#[derive(Debug, Clone)]
pub struct ApplicationRejected {
    pub full_name: String,
    pub loan_url: String,
    pub reason: String,
}

impl ApplicationRejected {
    fn subject_line(&self) -> String {
        "About your loan application".to_owned()
    }
}

email!(
    ApplicationRejected,
    "application_rejected",
    ApplicationRejectedText = "email/application_rejected.txt",
    ApplicationRejectedHtml = "email/application_rejected.html"
);

/// To a borrower or investor once staff have checked their identity details.
#[derive(Debug, Clone)]
pub struct KycDecision {
    pub full_name: String,
    pub verified: bool,
    /// Why the details were not accepted (given when `verified` is false).
    pub reason: Option<String>,
    pub account_url: String,
}

impl KycDecision {
    fn subject_line(&self) -> String {
        if self.verified {
            "Your identity is verified".to_owned()
        } else {
            "We could not verify your identity".to_owned()
        }
    }
}

email!(
    KycDecision,
    "kyc_decision",
    KycDecisionText = "email/kyc_decision.txt",
    KycDecisionHtml = "email/kyc_decision.html"
);

/// One line of a schedule as an email shows it.
#[derive(Debug, Clone)]
pub struct ScheduleLine {
    pub number: u32,
    pub due_date: NaiveDate,
    pub principal: Money,
    pub interest: Money,
    pub total: Money,
}

impl ScheduleLine {
    fn due(&self) -> String {
        format::day(self.due_date)
    }
}

/// To an investor whose commitment is reserved.
#[derive(Debug, Clone)]
pub struct InvestmentConfirmed {
    pub full_name: String,
    pub investment_url: String,
    pub amount: Money,
    pub loan_amount: Money,
    pub rate: Rate,
    pub term_months: i32,
    pub grade: String,
    pub funded_percent: u32,
    pub funding_deadline: Option<DateTime<Utc>>,
    /// The auto-invest rule's page, when a rule made the investment.
    pub rule_url: Option<String>,
}

impl InvestmentConfirmed {
    fn subject_line(&self) -> String {
        if self.rule_url.is_some() {
            "Your auto-invest rule invested for you".to_owned()
        } else {
            "Your investment is reserved".to_owned()
        }
    }

    fn deadline(&self) -> String {
        self.funding_deadline
            .as_ref()
            .map(format::datetime)
            .unwrap_or_default()
    }

    fn term(&self) -> String {
        months(self.term_months)
    }
}

email!(
    InvestmentConfirmed,
    "investment_confirmed",
    InvestmentConfirmedText = "email/investment_confirmed.txt",
    InvestmentConfirmedHtml = "email/investment_confirmed.html"
);

/// To the borrower and to every investor when a loan is fully subscribed.
#[derive(Debug, Clone)]
pub struct LoanFunded {
    pub full_name: String,
    pub url: String,
    pub loan_amount: Money,
    /// The investor's own commitments in the loan; `None` for the borrower.
    pub your_amount: Option<Money>,
    /// Whether the money is paid out at once or waits for staff.
    pub automatic: bool,
}

impl LoanFunded {
    fn subject_line(&self) -> String {
        if self.your_amount.is_some() {
            "A loan you invested in is fully funded".to_owned()
        } else {
            "Your loan is fully funded".to_owned()
        }
    }
}

email!(
    LoanFunded,
    "loan_funded",
    LoanFundedText = "email/loan_funded.txt",
    LoanFundedHtml = "email/loan_funded.html"
);

/// To the borrower and to every investor when a loan is paid out, with the
/// schedule (the investor's share of it, for investors).
#[derive(Debug, Clone)]
pub struct LoanDisbursed {
    pub full_name: String,
    pub url: String,
    pub loan_amount: Money,
    pub rate: Rate,
    pub term_months: i32,
    /// For the borrower: what reached the wallet and what was kept.
    pub borrower: Option<Payout>,
    /// For an investor: what they lent.
    pub your_amount: Option<Money>,
    pub schedule: Vec<ScheduleLine>,
    pub schedule_total: Money,
}

impl LoanDisbursed {
    fn subject_line(&self) -> String {
        if self.borrower.is_some() {
            "Your loan has been paid out".to_owned()
        } else {
            "A loan you invested in has been paid out".to_owned()
        }
    }

    fn term(&self) -> String {
        months(self.term_months)
    }
}

email!(
    LoanDisbursed,
    "loan_disbursed",
    LoanDisbursedText = "email/loan_disbursed.txt",
    LoanDisbursedHtml = "email/loan_disbursed.html"
);

/// To every investor whose reservations in a loan were released because it
/// closed unfunded (funding expired, or the borrower withdrew it), and to
/// the borrower of an expired loan.
#[derive(Debug, Clone)]
pub struct FundingEnded {
    pub full_name: String,
    pub url: String,
    pub loan_amount: Money,
    /// The investor's released reservations; `None` for the borrower.
    pub released: Option<Money>,
    pub why: FundingEnd,
}

/// Why a loan's funding ended without a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundingEnd {
    /// The borrower withdrew the loan before it was funded.
    Withdrawn,
    /// The funding deadline passed before investors covered the amount.
    Expired { deadline: Option<DateTime<Utc>> },
}

impl FundingEnded {
    fn subject_line(&self) -> String {
        if self.released.is_some() {
            "Your reservation has been released".to_owned()
        } else {
            "Your loan listing has ended".to_owned()
        }
    }

    /// Why it ended, in a sentence, for whom it is written to.
    fn reason(&self) -> String {
        let deadline =
            |at: &Option<DateTime<Utc>>| at.as_ref().map(format::date).unwrap_or_default();
        match (&self.why, self.released.is_some()) {
            (FundingEnd::Withdrawn, _) => {
                "The borrower has withdrawn a loan you had committed money to.".to_owned()
            }
            (FundingEnd::Expired { deadline: at }, true) => format!(
                "A loan you had committed money to was not fully funded by its deadline, {}.",
                deadline(at)
            ),
            (FundingEnd::Expired { deadline: at }, false) => format!(
                "Your loan was not fully funded by its deadline, {}, so the listing has ended.",
                deadline(at)
            ),
        }
    }
}

email!(
    FundingEnded,
    "funding_ended",
    FundingEndedText = "email/funding_ended.txt",
    FundingEndedHtml = "email/funding_ended.html"
);

/// To the borrower for every payment received on a loan, from the loan
/// page or collected from the wallet on a due date.
#[derive(Debug, Clone)]
pub struct PaymentReceived {
    pub full_name: String,
    pub loan_url: String,
    pub amount: Money,
    /// Taken from the wallet by the platform on a due date.
    pub collected: bool,
    pub penalties: Money,
    pub interest: Money,
    pub principal: Money,
    /// Whether it settled the loan.
    pub repaid: bool,
}

impl PaymentReceived {
    fn subject_line(&self) -> String {
        format!("We received {} for your loan", self.amount)
    }
}

email!(
    PaymentReceived,
    "payment_received",
    PaymentReceivedText = "email/payment_received.txt",
    PaymentReceivedHtml = "email/payment_received.html"
);

/// To the borrower and every investor when a loan's last installment is paid.
#[derive(Debug, Clone)]
pub struct LoanRepaid {
    pub full_name: String,
    /// The loan's page (the borrower), the investment's, or the portfolio
    /// when several loans ended together.
    pub loan_url: String,
    pub to_borrower: bool,
    /// How many loans ended (the investors are told of those ending
    /// together in one email).
    pub loans: usize,
}

impl LoanRepaid {
    fn subject_line(&self) -> String {
        if self.to_borrower {
            "Your loan is repaid in full".to_owned()
        } else if self.loans == 1 {
            "A loan you invested in is repaid in full".to_owned()
        } else {
            format!("{} loans you invested in are repaid in full", self.loans)
        }
    }
}

email!(
    LoanRepaid,
    "loan_repaid",
    LoanRepaidText = "email/loan_repaid.txt",
    LoanRepaidHtml = "email/loan_repaid.html"
);

/// To the borrower when installments pass their due date unpaid.
#[derive(Debug, Clone)]
pub struct InstallmentOverdue {
    pub full_name: String,
    pub loan_url: String,
    pub due_dates: Vec<chrono::NaiveDate>,
    /// Everything owed now.
    pub overdue: Money,
}

impl InstallmentOverdue {
    fn subject_line(&self) -> String {
        "A loan payment is overdue".to_owned()
    }

    fn dates(&self) -> String {
        self.due_dates
            .iter()
            .map(|d| crate::format::day(*d))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

email!(
    InstallmentOverdue,
    "installment_overdue",
    InstallmentOverdueText = "email/installment_overdue.txt",
    InstallmentOverdueHtml = "email/installment_overdue.html"
);

/// To a borrower a few days before an installment's due date.
#[derive(Debug, Clone)]
pub struct PaymentReminder {
    pub full_name: String,
    pub loan_url: String,
    pub due_date: NaiveDate,
    pub amount: Money,
    /// What the borrower's wallet holds available now.
    pub available: Money,
}

impl PaymentReminder {
    fn subject_line(&self) -> String {
        format!("Your loan payment is due on {}", format::day(self.due_date))
    }

    fn due(&self) -> String {
        format::day(self.due_date)
    }

    fn covered(&self) -> bool {
        self.available.minor() >= self.amount.minor()
    }
}

email!(
    PaymentReminder,
    "payment_reminder",
    PaymentReminderText = "email/payment_reminder.txt",
    PaymentReminderHtml = "email/payment_reminder.html"
);

/// To a borrower the first day penalties are charged on an installment.
#[derive(Debug, Clone)]
pub struct PenaltyStarted {
    pub full_name: String,
    pub loan_url: String,
    /// Principal and interest unpaid on the loan's overdue installments.
    pub overdue: Money,
    pub late_fee: Money,
    pub daily: Rate,
}

impl PenaltyStarted {
    fn subject_line(&self) -> String {
        "Penalties are now charged on your overdue loan payment".to_owned()
    }
}

email!(
    PenaltyStarted,
    "penalty_started",
    PenaltyStartedText = "email/penalty_started.txt",
    PenaltyStartedHtml = "email/penalty_started.html"
);

/// To a loan's borrower and each of its investors when it defaults. An
/// investor's email says what the reserve fund paid them.
#[derive(Debug, Clone)]
pub struct LoanDefaulted {
    pub full_name: String,
    pub loan_url: String,
    pub to_borrower: bool,
    /// For an investor: their principal outstanding at the default.
    pub outstanding: Money,
    /// For an investor: what the reserve fund paid them.
    pub covered: Money,
}

impl LoanDefaulted {
    fn subject_line(&self) -> String {
        if self.to_borrower {
            "Your loan is in default".to_owned()
        } else {
            "A loan you invested in has defaulted".to_owned()
        }
    }

    fn fully_covered(&self) -> bool {
        self.covered.minor() >= self.outstanding.minor()
    }
}

email!(
    LoanDefaulted,
    "loan_defaulted",
    LoanDefaultedText = "email/loan_defaulted.txt",
    LoanDefaultedHtml = "email/loan_defaulted.html"
);

/// To an investor when a defaulted loan's borrower pays something back.
#[derive(Debug, Clone)]
pub struct RecoveryReceived {
    pub full_name: String,
    pub investment_url: String,
    /// What reached the investor's wallet (after the servicing fee).
    pub amount: Money,
}

impl RecoveryReceived {
    fn subject_line(&self) -> String {
        format!("{} recovered from a defaulted loan", self.amount)
    }
}

email!(
    RecoveryReceived,
    "recovery_received",
    RecoveryReceivedText = "email/recovery_received.txt",
    RecoveryReceivedHtml = "email/recovery_received.html"
);

/// To an investor when a payment on a loan reaches their wallet (at most
/// one a day per loan).
#[derive(Debug, Clone)]
pub struct DistributionReceived {
    pub full_name: String,
    /// How many loans the repayments came from.
    pub loans: usize,
    /// The investment's page, or the portfolio when several loans paid.
    pub url: String,
    pub principal: Money,
    pub interest: Money,
    pub penalty: Money,
    pub fee: Money,
    /// What reached the wallet: the parts less the fee.
    pub net: Money,
}

impl DistributionReceived {
    fn subject_line(&self) -> String {
        if self.loans == 1 {
            format!("A loan repayment of {} reached your wallet", self.net)
        } else {
            format!(
                "Repayments of {} from {} loans reached your wallet",
                self.net, self.loans
            )
        }
    }
}

email!(
    DistributionReceived,
    "distribution_received",
    DistributionReceivedText = "email/distribution_received.txt",
    DistributionReceivedHtml = "email/distribution_received.html"
);

/// To the seller and to the buyer of principal on the secondary market.
#[derive(Debug, Clone)]
pub struct SecondarySaleDone {
    pub full_name: String,
    /// The investment the reader holds (or held) in the loan.
    pub url: String,
    pub principal: Money,
    pub price: Money,
    /// For the seller: the platform's fee and what reached their wallet.
    pub seller: Option<(Money, Money)>,
}

impl SecondarySaleDone {
    fn subject_line(&self) -> String {
        if self.seller.is_some() {
            format!("You sold {} of principal", self.principal)
        } else {
            format!("You bought {} of principal", self.principal)
        }
    }
}

email!(
    SecondarySaleDone,
    "secondary_sale",
    SecondarySaleDoneText = "email/secondary_sale.txt",
    SecondarySaleDoneHtml = "email/secondary_sale.html"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;

    /// 7 Dec 2026, 09:30 UTC.
    fn deadline() -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 30, 0).unwrap()
    }

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    #[test]
    fn html_bodies_escape_what_people_typed_and_text_bodies_keep_it() {
        let email = ApplicationRejected {
            full_name: "Ann <b>Lee</b>".to_owned(),
            loan_url: "http://lend.example/borrower/loans/1".to_owned(),
            reason: "Income < expenses & \"debts\"".to_owned(),
        };
        let rendered = email.render().unwrap();
        assert_eq!(rendered.subject, "About your loan application");
        assert!(
            rendered.html.contains("Ann &#60;b&#62;Lee&#60;/b&#62;")
                || rendered.html.contains("Ann &lt;b&gt;Lee&lt;/b&gt;"),
            "{}",
            rendered.html
        );
        assert!(!rendered.html.contains("<b>Lee"));
        assert!(rendered.text.contains("Hello Ann <b>Lee</b>,"));
        assert!(rendered.text.contains("Income < expenses & \"debts\""));
        assert!(
            rendered
                .text
                .contains("http://lend.example/borrower/loans/1")
        );
    }

    #[test]
    fn every_message_says_what_happens_next() {
        let messages: Vec<Box<dyn Email>> = vec![
            Box::new(ApplicationReceived {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                amount: rub(10_000_000),
                term_months: 12,
                purpose: "Home improvement".to_owned(),
            }),
            Box::new(ApplicationApproved {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                amount: rub(10_000_000),
                term_months: 1,
                rate: Rate::from_bps(1550).unwrap(),
                monthly_payment: rub(10_129_167),
                grade: "B".to_owned(),
                funding_deadline: deadline(),
            }),
            Box::new(ApplicationRejected {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                reason: "Debt-to-income too high".to_owned(),
            }),
            Box::new(KycDecision {
                full_name: "Ann Lee".to_owned(),
                verified: true,
                reason: None,
                account_url: "http://x/account/identity".to_owned(),
            }),
            Box::new(KycDecision {
                full_name: "Ann Lee".to_owned(),
                verified: false,
                reason: Some("The document number is unreadable".to_owned()),
                account_url: "http://x/account/identity".to_owned(),
            }),
            Box::new(InvestmentConfirmed {
                full_name: "Ann Lee".to_owned(),
                investment_url: "http://x/investor/investments/1".to_owned(),
                amount: rub(500_000),
                loan_amount: rub(10_000_000),
                rate: Rate::from_bps(1550).unwrap(),
                term_months: 12,
                grade: "B".to_owned(),
                funded_percent: 40,
                funding_deadline: Some(deadline()),
                rule_url: None,
            }),
            Box::new(InvestmentConfirmed {
                full_name: "Ann Lee".to_owned(),
                investment_url: "http://x/investor/investments/2".to_owned(),
                amount: rub(100_000),
                loan_amount: rub(10_000_000),
                rate: Rate::from_bps(1550).unwrap(),
                term_months: 12,
                grade: "B".to_owned(),
                funded_percent: 41,
                funding_deadline: Some(deadline()),
                rule_url: Some("http://x/investor/auto-invest/1".to_owned()),
            }),
            Box::new(SecondarySaleDone {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/investor/investments".to_owned(),
                principal: rub(400_000),
                price: rub(408_000),
                seller: Some((rub(4_080), rub(403_920))),
            }),
            Box::new(SecondarySaleDone {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/investor/investments/2".to_owned(),
                principal: rub(400_000),
                price: rub(408_000),
                seller: None,
            }),
            Box::new(OfferReceived {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/borrower/loans/1".to_owned(),
                loan_amount: rub(10_000_000),
                rate: Rate::from_bps(1_700).unwrap(),
                pending: 2,
            }),
            Box::new(OfferDecided {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/marketplace/1".to_owned(),
                loan_amount: rub(10_000_000),
                rate: Rate::from_bps(1_700).unwrap(),
                outcome: OfferOutcome::Accepted,
            }),
            Box::new(OfferDecided {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/marketplace/1".to_owned(),
                loan_amount: rub(10_000_000),
                rate: Rate::from_bps(1_800).unwrap(),
                outcome: OfferOutcome::Expired,
            }),
            Box::new(LoanFunded {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/borrower/loans/1".to_owned(),
                loan_amount: rub(10_000_000),
                your_amount: None,
                automatic: true,
            }),
            Box::new(LoanFunded {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/investor/investments/1".to_owned(),
                loan_amount: rub(10_000_000),
                your_amount: Some(rub(500_000)),
                automatic: false,
            }),
            Box::new(disbursed(true)),
            Box::new(disbursed(false)),
            Box::new(FundingEnded {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/marketplace".to_owned(),
                loan_amount: rub(10_000_000),
                released: Some(rub(500_000)),
                why: FundingEnd::Expired {
                    deadline: Some(deadline()),
                },
            }),
            Box::new(FundingEnded {
                full_name: "Ann Lee".to_owned(),
                url: "http://x/borrower/loans/1".to_owned(),
                loan_amount: rub(10_000_000),
                released: None,
                why: FundingEnd::Withdrawn,
            }),
            Box::new(PaymentReceived {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                amount: rub(1_000_000),
                collected: true,
                penalties: rub(0),
                interest: rub(100_000),
                principal: rub(900_000),
                repaid: false,
            }),
            Box::new(LoanRepaid {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/investor/investments/1".to_owned(),
                to_borrower: false,
                loans: 1,
            }),
            Box::new(LoanRepaid {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/investor/investments".to_owned(),
                to_borrower: false,
                loans: 2,
            }),
            Box::new(InstallmentOverdue {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                due_dates: vec![chrono::NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()],
                overdue: rub(1_000_000),
            }),
            Box::new(PaymentReminder {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                due_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(),
                amount: rub(1_000_000),
                available: rub(0),
            }),
            Box::new(PaymentReminder {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                due_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(),
                amount: rub(1_000_000),
                available: rub(2_000_000),
            }),
            Box::new(PenaltyStarted {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                overdue: rub(1_000_000),
                late_fee: rub(30_000),
                daily: Rate::from_bps(10).unwrap(),
            }),
            Box::new(LoanDefaulted {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/borrower/loans/1".to_owned(),
                to_borrower: true,
                outstanding: rub(0),
                covered: rub(0),
            }),
            Box::new(LoanDefaulted {
                full_name: "Ann Lee".to_owned(),
                loan_url: "http://x/investor/investments/1".to_owned(),
                to_borrower: false,
                outstanding: rub(500_000),
                covered: rub(250_000),
            }),
            Box::new(RecoveryReceived {
                full_name: "Ann Lee".to_owned(),
                investment_url: "http://x/investor/investments/1".to_owned(),
                amount: rub(12_345),
            }),
            Box::new(DistributionReceived {
                full_name: "Ann Lee".to_owned(),
                loans: 3,
                url: "http://x/investor/investments".to_owned(),
                principal: rub(80_000),
                interest: rub(10_000),
                penalty: rub(0),
                fee: rub(100),
                net: rub(89_900),
            }),
        ];
        for message in messages {
            let rendered = message.render().unwrap();
            for body in [&rendered.text, &rendered.html] {
                assert!(body.contains("Ann Lee"), "{}: {body}", message.kind());
                assert!(
                    body.contains("What happens next"),
                    "{}: {body}",
                    message.kind()
                );
                assert!(body.contains("http://x/"), "{}: {body}", message.kind());
            }
            assert!(
                !rendered.text.contains("\n\n\n"),
                "{}:\n{}",
                message.kind(),
                rendered.text
            );
            assert!(rendered.html.starts_with("<!doctype html>"));
        }
    }

    fn disbursed(to_borrower: bool) -> LoanDisbursed {
        let line = |number, due: &str, principal, interest| ScheduleLine {
            number,
            due_date: due.parse().unwrap(),
            principal: rub(principal),
            interest: rub(interest),
            total: rub(principal + interest),
        };
        LoanDisbursed {
            full_name: "Ann Lee".to_owned(),
            url: "http://x/borrower/loans/1".to_owned(),
            loan_amount: rub(10_000_000),
            rate: Rate::from_bps(1200).unwrap(),
            term_months: 2,
            borrower: to_borrower.then_some(Payout {
                to_borrower: rub(9_700_000),
                reserve_contribution: rub(200_000),
                origination_fee: rub(100_000),
            }),
            your_amount: (!to_borrower).then_some(rub(500_000)),
            schedule: vec![
                line(1, "2026-12-23", 4_975_125, 100_000),
                line(2, "2027-01-23", 5_024_875, 50_249),
            ],
            schedule_total: rub(10_150_249),
        }
    }

    #[test]
    fn a_payout_email_lists_every_installment_and_the_deductions() {
        let borrower = disbursed(true).render().unwrap();
        assert_eq!(borrower.subject, "Your loan has been paid out");
        for expected in [
            "97\u{a0}000,00\u{a0}₽ is in your Crowdlend wallet",
            "2\u{a0}000,00\u{a0}₽",
            "1\u{a0}000,00\u{a0}₽",
            "23 Dec 2026",
            "23 Jan 2027",
            "50\u{a0}751,25\u{a0}₽",
            "101\u{a0}502,49\u{a0}₽",
        ] {
            assert!(
                borrower.text.contains(expected),
                "{expected} in {}",
                borrower.text
            );
            assert!(
                borrower.html.contains(expected),
                "{expected} in {}",
                borrower.html
            );
        }
        let investor = disbursed(false).render().unwrap();
        assert_eq!(investor.subject, "A loan you invested in has been paid out");
        assert!(
            investor
                .text
                .contains("Your share of the repayment schedule")
        );
        assert!(investor.text.contains("agreement is ready to download"));
    }

    #[test]
    fn amounts_rates_and_terms_read_as_people_write_them() {
        let rendered = ApplicationApproved {
            full_name: "Ann Lee".to_owned(),
            loan_url: "http://x/borrower/loans/1".to_owned(),
            amount: rub(15_000_000),
            term_months: 12,
            rate: Rate::from_bps(1550).unwrap(),
            monthly_payment: rub(1_360_804),
            grade: "B".to_owned(),
            funding_deadline: deadline(),
        }
        .render()
        .unwrap();
        for expected in [
            "150\u{a0}000,00\u{a0}₽",
            "12 months",
            "15.50\u{a0}%",
            "13\u{a0}608,04\u{a0}₽",
            "7 Dec 2026",
        ] {
            assert!(
                rendered.text.contains(expected),
                "{expected} in {}",
                rendered.text
            );
            assert!(
                rendered.html.contains(expected),
                "{expected} in {}",
                rendered.html
            );
        }
        let rejected = KycDecision {
            full_name: "Ann Lee".to_owned(),
            verified: false,
            reason: Some("The document has expired".to_owned()),
            account_url: "http://x/account/identity".to_owned(),
        }
        .render()
        .unwrap();
        assert_eq!(rejected.subject, "We could not verify your identity");
        assert!(rejected.text.contains("The document has expired"));
    }
}

/// To a borrower whose loan received a lender's offer.
#[derive(Debug, Clone)]
pub struct OfferReceived {
    pub full_name: String,
    pub url: String,
    pub loan_amount: Money,
    pub rate: Rate,
    /// Offers pending on the loan now, this one included.
    pub pending: u32,
}

impl OfferReceived {
    fn subject_line(&self) -> String {
        format!("A lender offers {} for your loan", self.rate)
    }
}

email!(
    OfferReceived,
    "offer_received",
    OfferReceivedText = "email/offer_received.txt",
    OfferReceivedHtml = "email/offer_received.html"
);

/// What became of a lender's offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferOutcome {
    /// The borrower accepted it: the loan is funded from it.
    Accepted,
    /// The borrower accepted another offer.
    NotChosen,
    /// The listing ended unfunded (its deadline passed).
    Expired,
    /// The borrower withdrew the loan.
    Withdrawn,
}

/// To a lender whose offer was decided: accepted, not chosen, or ended
/// with the listing.
#[derive(Debug, Clone)]
pub struct OfferDecided {
    pub full_name: String,
    pub url: String,
    pub loan_amount: Money,
    pub rate: Rate,
    pub outcome: OfferOutcome,
}

impl OfferDecided {
    fn subject_line(&self) -> String {
        match self.outcome {
            OfferOutcome::Accepted => "Your offer was accepted".to_owned(),
            _ => "Your offer was not taken; your money is released".to_owned(),
        }
    }

    fn accepted(&self) -> bool {
        self.outcome == OfferOutcome::Accepted
    }

    /// What happened, in a sentence.
    fn what(&self) -> String {
        match self.outcome {
            OfferOutcome::Accepted => format!(
                "The borrower accepted your offer of {} a year for the whole loan of {}.",
                self.rate, self.loan_amount
            ),
            OfferOutcome::NotChosen => format!(
                "The borrower accepted another lender's offer for the loan of {}, so your offer of {} a year was not taken.",
                self.loan_amount, self.rate
            ),
            OfferOutcome::Expired => format!(
                "The listing of the loan of {} ended before the borrower accepted an offer, so your offer of {} a year has expired.",
                self.loan_amount, self.rate
            ),
            OfferOutcome::Withdrawn => format!(
                "The borrower withdrew the loan of {}, so your offer of {} a year has ended.",
                self.loan_amount, self.rate
            ),
        }
    }
}

email!(
    OfferDecided,
    "offer_decided",
    OfferDecidedText = "email/offer_decided.txt",
    OfferDecidedHtml = "email/offer_decided.html"
);
