//! PDF documents: the loan agreement, one per investment.
//!
//! Pure: plain data in, bytes out. No database, no clock, no files (the font
//! is compiled in), so the same data always gives the same bytes, and the
//! SHA-256 stored beside a document can be re-checked by rendering it again.
//! printpdf would otherwise make two things differ from run to run: the
//! trailer `/ID` (random) and the font resource names (random); here the
//! names are fixed and the `/ID` comes from the agreement number, and the
//! dates in the document information are the acceptance time. The bytes also
//! depend on the versions of printpdf, lopdf, allsorts and flate2 in
//! `Cargo.lock`: after upgrading them a re-rendering may differ from a stored
//! document, which is why the stored bytes, not a re-rendering, are what is served.
//!
//! The embedded face is DejaVu Sans (Latin and Cyrillic; its licence is in
//! `static/fonts/DejaVu-LICENSE.txt`), subset to the characters the document
//! uses, so a document carries tens of kilobytes of font, not 700 KB a face.

mod layout;

use chrono::{DateTime, NaiveDate, Utc};
use printpdf::{
    FontId, Mm, ParsedFont, PdfDocument, PdfFont, PdfPage, PdfParseErrorSeverity, PdfSaveOptions,
    PdfWarnMsg, Pt,
};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::domain::money::{Money, MoneyError, Rate};
use layout::{
    BOTTOM, CONTENT_WIDTH, Composer, FOOTER_BASELINE, Face, MARGIN, Metrics, PAGE_HEIGHT,
    PAGE_WIDTH, Style,
};

const REGULAR_TTF: &[u8] = include_bytes!("../../static/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../static/fonts/DejaVuSans-Bold.ttf");

/// Everything the agreement shows, assembled by the caller from the loan, the
/// investment and the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementData {
    /// The agreement's number, e.g. the investment id.
    pub agreement_number: String,
    pub lender_name: String,
    pub lender_email: String,
    pub borrower_name: String,
    pub borrower_email: String,
    /// The operator of the platform ("Crowdlend").
    pub platform_name: String,
    /// The whole loan, all lenders together.
    pub loan_amount: Money,
    /// This lender's part of it.
    pub investment_amount: Money,
    pub rate: Rate,
    pub term_months: u32,
    pub grade: String,
    pub purpose: String,
    pub disbursed_on: NaiveDate,
    /// When the lender accepted the agreement electronically.
    pub accepted_at: DateTime<Utc>,
    /// Withheld from each repayment before the lender is paid.
    pub servicing_fee: Rate,
    /// Of the loan amount, paid by the borrower at disbursement.
    pub origination_fee: Rate,
    /// Of the loan amount, paid into the reserve fund at disbursement.
    pub reserve_contribution: Rate,
    /// The lender's share of each installment.
    pub schedule: Vec<ShareRow>,
}

/// The lender's share of one installment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareRow {
    pub number: u32,
    pub due_date: NaiveDate,
    pub principal: Money,
    pub interest: Money,
    pub total: Money,
    pub balance_after: Money,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("an agreement needs at least one installment in its schedule")]
    EmptySchedule,
    #[error("the embedded font {0} could not be read")]
    Font(&'static str),
    #[error("the embedded font {face} could not be subset: {reason}")]
    FontSubset { face: &'static str, reason: String },
    #[error("the schedule's totals cannot be added up")]
    Amount(#[from] MoneyError),
    #[error("the acceptance time {0} cannot be written as a PDF date")]
    Timestamp(DateTime<Utc>),
    #[error("printpdf reported an error: {0}")]
    Render(String),
    #[error("the PDF could not be written")]
    Write(#[from] std::io::Error),
}

/// The loan agreement as PDF bytes.
///
/// # Errors
/// [`PdfError::EmptySchedule`] without installments; [`PdfError::Amount`] when
/// the schedule's totals overflow; the other variants only if the embedded
/// font or the PDF library fail.
pub fn render_loan_agreement(data: &AgreementData) -> Result<Vec<u8>, PdfError> {
    if data.schedule.is_empty() {
        return Err(PdfError::EmptySchedule);
    }
    let regular = ParsedFont::from_bytes(REGULAR_TTF, 0, &mut Vec::new())
        .ok_or(PdfError::Font("DejaVuSans"))?;
    let bold = ParsedFont::from_bytes(BOLD_TTF, 0, &mut Vec::new())
        .ok_or(PdfError::Font("DejaVuSans-Bold"))?;
    let metrics = Metrics::new(regular, bold);

    // Resource names are fixed (printpdf's `add_font` draws random ones).
    let regular_id = FontId("F1".to_owned());
    let bold_id = FontId("F2".to_owned());
    let mut composer = Composer::new(&metrics, regular_id.clone(), bold_id.clone());
    compose(&mut composer, data)?;
    footers(&mut composer, data);
    let (pages, [regular_chars, bold_chars]) = composer.finish();

    let mut doc = PdfDocument::new(&title(data));
    let accepted = printpdf::DateTime::from_unix_timestamp(data.accepted_at.timestamp())
        .map_err(|_| PdfError::Timestamp(data.accepted_at))?;
    let info = &mut doc.metadata.info;
    info.creation_date = accepted;
    info.modification_date = accepted;
    info.metadata_date = accepted;
    info.author.clone_from(&data.platform_name);
    info.creator.clone_from(&data.platform_name);
    info.producer = "printpdf".to_owned();
    info.subject = format!(
        "Loan agreement between {} and {}",
        data.lender_name, data.borrower_name
    );
    info.identifier.clone_from(&data.agreement_number);

    for (id, face, chars, name, tag) in [
        (
            regular_id,
            Face::Regular,
            regular_chars,
            "DejaVuSans",
            "CLAAAA",
        ),
        (bold_id, Face::Bold, bold_chars, "DejaVuSans-Bold", "CLAAAB"),
    ] {
        if chars.is_empty() {
            continue;
        }
        let mut font = subset(metrics.font(face), &chars, name)?;
        // A subset is named with a tag before the face's name (ISO 32000-1, 9.6.4).
        font.font_name = Some(format!("{tag}+{name}"));
        doc.resources.fonts.map.insert(id, PdfFont::new(font));
    }

    let pages = pages
        .into_iter()
        .map(|ops| PdfPage::new(Mm::from(Pt(PAGE_WIDTH)), Mm::from(Pt(PAGE_HEIGHT)), ops))
        .collect();
    doc.with_pages(pages);

    let mut warnings: Vec<PdfWarnMsg> = Vec::new();
    let options = PdfSaveOptions {
        // The fonts are subset above; printpdf's own subsetting needs its layout feature.
        subset_fonts: false,
        ..PdfSaveOptions::default()
    };
    let mut pdf = doc.to_lopdf_document(&options, &mut warnings);
    if let Some(error) = warnings
        .iter()
        .find(|w| w.severity == PdfParseErrorSeverity::Error)
    {
        return Err(PdfError::Render(error.msg.clone()));
    }
    // printpdf always writes a PDF/X version key, empty for a plain PDF, which
    // readers then report as PDF/X; this document claims no such conformance.
    if let Ok(info) = pdf
        .trailer
        .get(b"Info")
        .and_then(lopdf::Object::as_reference)
        && let Ok(info) = pdf.get_dictionary_mut(info)
    {
        info.remove(b"GTS_PDFXVersion");
    }
    // The file identifier: from the agreement, the same on every rendering.
    let id = Sha256::digest(data.agreement_number.as_bytes());
    let id = lopdf::Object::String(id[..16].to_vec(), lopdf::StringFormat::Hexadecimal);
    pdf.trailer
        .set("ID", lopdf::Object::Array(vec![id.clone(), id]));
    pdf.compress();
    let mut bytes = Vec::new();
    pdf.save_to(&mut bytes)?;
    Ok(bytes)
}

/// The SHA-256 of `bytes` in lowercase hex: the document hash stored with an agreement.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn title(data: &AgreementData) -> String {
    format!("Loan agreement No. {}", data.agreement_number)
}

/// "14 Mar 2026", as the web pages write dates.
fn date(day: NaiveDate) -> String {
    day.format("%-d %b %Y").to_string()
}

/// "14 Mar 2026, 09:30:05 UTC".
fn timestamp(at: &DateTime<Utc>) -> String {
    at.format("%-d %b %Y, %H:%M:%S UTC").to_string()
}

fn installments(n: u32) -> String {
    if n == 1 {
        "1 monthly installment".to_owned()
    } else {
        format!("{n} monthly installments")
    }
}

fn months(n: u32) -> String {
    if n == 1 {
        "1 month".to_owned()
    } else {
        format!("{n} months")
    }
}

/// The document's body, top to bottom.
fn compose(c: &mut Composer<'_>, data: &AgreementData) -> Result<(), PdfError> {
    let body = Style::regular(10.0);
    let heading = Style::bold(11.5);
    let label_width = 150.0;
    let platform = &data.platform_name;

    c.paragraph(MARGIN, Style::bold(16.0), &title(data));
    c.gap(4.0);
    c.paragraph(
        MARGIN,
        body,
        &format!(
            "Made on the {platform} platform. The loan was disbursed on {}.",
            date(data.disbursed_on)
        ),
    );

    let section = |c: &mut Composer<'_>, text: &str| {
        // Keep a heading with at least two lines of what follows it.
        if c.space_left() < heading.line_height() + 8.0 + 2.0 * body.line_height() {
            c.new_page();
        }
        c.gap(8.0);
        c.paragraph(MARGIN, heading, text);
        c.gap(2.0);
    };

    section(c, "1. Parties");
    c.field(
        "Lender",
        &format!("{} ({})", data.lender_name, data.lender_email),
        label_width,
        body,
    );
    c.field(
        "Borrower",
        &format!("{} ({})", data.borrower_name, data.borrower_email),
        label_width,
        body,
    );
    c.field(
        "Operator",
        &format!("{platform}, which runs the platform and acts as the lender's agent"),
        label_width,
        body,
    );
    c.gap(3.0);
    c.paragraph(
        MARGIN,
        body,
        &format!(
            "The lender lends the borrower the lender's share below, as part of a loan \
             funded by one or more lenders through {platform}. {platform} collects every \
             installment from the borrower, withholds its servicing fee and pays the lender's \
             share into the lender's wallet on the platform."
        ),
    );

    section(c, "2. The loan and the lender's share");
    let currency = data.investment_amount.currency();
    let (mut principal, mut interest, mut total) = (
        Money::zero(currency),
        Money::zero(currency),
        Money::zero(currency),
    );
    for row in &data.schedule {
        principal = principal.checked_add(row.principal)?;
        interest = interest.checked_add(row.interest)?;
        total = total.checked_add(row.total)?;
    }
    c.field(
        "Loan amount",
        &format!("{} (all lenders together)", data.loan_amount),
        label_width,
        body,
    );
    let share = share_percent(data.investment_amount, data.loan_amount)
        .map(|p| format!(" ({p}\u{a0}% of the loan)"))
        .unwrap_or_default();
    c.field(
        "Lender's share",
        &format!("{}{share}", data.investment_amount),
        label_width,
        body,
    );
    c.field(
        "Interest rate",
        &format!("{} a year", data.rate),
        label_width,
        body,
    );
    c.field(
        "Term",
        &format!(
            "{}, repaid in monthly installments",
            months(data.term_months)
        ),
        label_width,
        body,
    );
    c.field("Risk grade", &data.grade, label_width, body);
    c.field("Purpose", &data.purpose, label_width, body);
    c.field("Disbursed on", &date(data.disbursed_on), label_width, body);
    c.field(
        "Due to the lender",
        &format!("{total} in all: {principal} principal and {interest} interest"),
        label_width,
        body,
    );

    section(c, "3. Fees");
    c.field(
        "Servicing fee",
        &format!(
            "{} of each repayment received, withheld by {platform} before the lender's \
             share is paid out",
            data.servicing_fee
        ),
        label_width,
        body,
    );
    c.field(
        "Origination fee",
        &format!(
            "{} of the loan amount, paid by the borrower out of the disbursed amount",
            data.origination_fee
        ),
        label_width,
        body,
    );
    c.field(
        "Reserve contribution",
        &format!(
            "{} of the loan amount, paid by the borrower out of the disbursed amount into \
             the platform's reserve fund, which pays lenders their outstanding principal if \
             a loan defaults, as far as the fund's balance allows",
            data.reserve_contribution
        ),
        label_width,
        body,
    );

    section(c, "4. Repayment");
    c.paragraph(
        MARGIN,
        body,
        &format!(
            "The borrower repays the loan in {} through {platform}. Each payment received is \
             shared between the lenders in proportion to their shares. The table in section 6 \
             shows the lender's share of every installment. The borrower may repay early at \
             any time without a fee; an installment paid late accrues penalty interest under \
             the platform's rules.",
            installments(data.term_months)
        ),
    );

    section(c, "5. Electronic acceptance");
    c.field(
        "Accepted",
        &format!(
            "{}, by the lender, electronically on the {platform} platform",
            timestamp(&data.accepted_at)
        ),
        label_width,
        body,
    );

    section(c, "6. The lender's share of the repayment schedule");
    schedule_table(c, &data.schedule);

    c.gap(10.0);
    c.paragraph(
        MARGIN,
        Style::regular(9.0),
        &format!(
            "The SHA-256 hash of this document is stored by {platform} and shown on the page \
             where the agreement is downloaded: a copy whose hash differs from it is not this \
             agreement."
        ),
    );
    Ok(())
}

/// The investment as a percentage of the loan, to two places ("12.50").
fn share_percent(part: Money, whole: Money) -> Option<Decimal> {
    let ratio = part.amount().checked_div(whole.amount())?;
    Some((ratio * Decimal::ONE_HUNDRED).round_dp(2))
}

struct Column {
    title: &'static str,
    width: f32,
    right_aligned: bool,
}

const CELL_PADDING: f32 = 4.0;

fn schedule_table(c: &mut Composer<'_>, rows: &[ShareRow]) {
    let money_width = (CONTENT_WIDTH - 32.0 - 74.0) / 4.0;
    let columns = [
        Column {
            title: "No.",
            width: 32.0,
            right_aligned: true,
        },
        Column {
            title: "Due date",
            width: 74.0,
            right_aligned: false,
        },
        Column {
            title: "Principal",
            width: money_width,
            right_aligned: true,
        },
        Column {
            title: "Interest",
            width: money_width,
            right_aligned: true,
        },
        Column {
            title: "Total",
            width: money_width,
            right_aligned: true,
        },
        Column {
            title: "Balance after",
            width: money_width,
            right_aligned: true,
        },
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            [
                row.number.to_string(),
                date(row.due_date),
                row.principal.to_string(),
                row.interest.to_string(),
                row.total.to_string(),
                row.balance_after.to_string(),
            ]
        })
        .collect();

    // One size for the whole table: 9 pt, smaller only if the widest figure
    // (amounts near the platform's limit) would not fit its column.
    let metrics = c.metrics();
    let mut size: f32 = 9.0;
    for (i, column) in columns.iter().enumerate() {
        let widest = cells
            .iter()
            .map(|row| metrics.width(Style::regular(1.0), &row[i]))
            .chain(std::iter::once(
                metrics.width(Style::bold(1.0), column.title),
            ))
            .fold(0.0_f32, f32::max);
        if widest > 0.0 {
            size = size.min((column.width - 2.0 * CELL_PADDING) / widest);
        }
    }
    let size = size.max(4.0);
    let row_height = Style::regular(size).line_height() + 2.0;

    let header = |c: &mut Composer<'_>| {
        let y = c.advance(row_height);
        draw_row(c, &columns, y, Style::bold(size), |i| columns[i].title);
        c.rule(MARGIN, MARGIN + CONTENT_WIDTH, y - 0.3 * row_height, 0.6);
    };

    if c.space_left() < 2.0 * row_height {
        c.new_page();
    }
    header(c);
    for row in &cells {
        if c.space_left() < row_height {
            c.new_page();
            header(c);
        }
        let y = c.advance(row_height);
        draw_row(c, &columns, y, Style::regular(size), |i| row[i].as_str());
    }
    let under_last = (c.baseline() - 0.3 * row_height).max(BOTTOM);
    c.rule(MARGIN, MARGIN + CONTENT_WIDTH, under_last, 0.6);
}

fn draw_row<'t>(
    c: &mut Composer<'_>,
    columns: &[Column],
    y: f32,
    style: Style,
    cell: impl Fn(usize) -> &'t str,
) {
    let mut x = MARGIN;
    for (i, column) in columns.iter().enumerate() {
        if column.right_aligned {
            c.text_right(x + column.width - CELL_PADDING, y, style, cell(i));
        } else {
            c.text_at(x + CELL_PADDING, y, style, cell(i));
        }
        x += column.width;
    }
}

/// "Loan agreement No. …" and "Page n of m" under every page.
fn footers(c: &mut Composer<'_>, data: &AgreementData) {
    let style = Style::regular(8.0);
    let pages = c.page_count();
    let mut label = title(data);
    let room = CONTENT_WIDTH - 80.0;
    if c.metrics().width(style, &label) > room {
        // Too long for one footer line: the first wrapped line and an ellipsis.
        let first = c
            .metrics()
            .wrap(style, &label, room - 10.0)
            .into_iter()
            .next()
            .unwrap_or_default();
        label = first;
        label.push('…');
    }
    for page in 0..pages {
        c.text_on(page, MARGIN, FOOTER_BASELINE, style, &label);
        let number = format!("Page {} of {pages}", page + 1);
        let x = MARGIN + CONTENT_WIDTH - c.metrics().width(style, &number);
        c.text_on(page, x, FOOTER_BASELINE, style, &number);
    }
}

/// The face reduced to the glyphs of `chars` (and the missing glyph), with
/// its character map, parsed back for printpdf to embed.
fn subset(
    font: &ParsedFont,
    chars: &std::collections::BTreeSet<char>,
    face: &'static str,
) -> Result<ParsedFont, PdfError> {
    use allsorts::{binary::read::ReadScope, font_data::FontData, subset::CmapTarget};

    let mut glyphs: Vec<u16> = std::iter::once(0)
        .chain(
            chars
                .iter()
                .filter_map(|&c| font.lookup_glyph_index(u32::from(c))),
        )
        .collect();
    glyphs.sort_unstable();
    glyphs.dedup();
    let failed = |reason: String| PdfError::FontSubset { face, reason };
    let file = ReadScope::new(&font.original_bytes)
        .read::<FontData<'_>>()
        .map_err(|e| failed(e.to_string()))?;
    let provider = file.table_provider(0).map_err(|e| failed(e.to_string()))?;
    let bytes = allsorts::subset::subset(
        &provider,
        &glyphs,
        &allsorts::subset::SubsetProfile::Pdf,
        CmapTarget::Unicode,
    )
    .map_err(|e| failed(e.to_string()))?;
    ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()).ok_or(PdfError::Font(face))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use chrono::TimeZone;

    use super::*;
    use crate::domain::{
        money::Currency,
        schedule::{LoanTerms, annuity},
    };

    fn rub(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Rub).unwrap()
    }

    /// A lender's 50 000 ₽ share of a 500 000 ₽ loan over `months`.
    fn agreement(months: u32) -> AgreementData {
        let disbursed_on = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        let rate = Rate::from_bps(1550).unwrap();
        let schedule = annuity(&LoanTerms {
            principal: rub(5_000_000),
            rate,
            term_months: months,
            start: disbursed_on,
        })
        .unwrap();
        AgreementData {
            agreement_number: "0195f3a2-7c1e-7d4a-9b1e-3f2a1c0d9e8f".to_owned(),
            lender_name: "Иван Петров".to_owned(),
            lender_email: "ivan.petrov@example.ru".to_owned(),
            borrower_name: "Jane O'Connor-Smith".to_owned(),
            borrower_email: "jane@example.com".to_owned(),
            platform_name: "Crowdlend".to_owned(),
            loan_amount: rub(50_000_000),
            investment_amount: rub(5_000_000),
            rate,
            term_months: months,
            grade: "B".to_owned(),
            purpose: "Ремонт квартиры (home renovation)".to_owned(),
            disbursed_on,
            accepted_at: Utc.with_ymd_and_hms(2026, 1, 30, 21, 7, 45).unwrap(),
            servicing_fee: Rate::from_bps(100).unwrap(),
            origination_fee: Rate::from_bps(150).unwrap(),
            reserve_contribution: Rate::from_bps(200).unwrap(),
            schedule: schedule
                .installments
                .iter()
                .map(|i| ShareRow {
                    number: i.number,
                    due_date: i.due_date,
                    principal: i.principal,
                    interest: i.interest,
                    total: i.total().unwrap(),
                    balance_after: i.balance_after,
                })
                .collect(),
        }
    }

    /// The text of `pdf` as `pdftotext -layout` reads it, non-breaking
    /// spaces made plain; `None` (the test skips) when poppler-utils is not
    /// installed, unless `BROWSER_TESTS=required` (as CI sets it).
    fn pdftotext(pdf: &[u8]) -> Option<String> {
        let file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
        std::fs::write(file.path(), pdf).unwrap();
        let output = match Command::new("pdftotext")
            .args(["-layout", "-enc", "UTF-8"])
            .arg(file.path())
            .arg("-")
            .output()
        {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    std::env::var("BROWSER_TESTS").as_deref() != Ok("required"),
                    "BROWSER_TESTS=required but pdftotext (poppler-utils) is not installed"
                );
                eprintln!("PDF text check skipped: pdftotext (poppler-utils) is not installed");
                return None;
            }
            Err(error) => panic!("pdftotext did not run: {error}"),
        };
        assert!(
            output.status.success(),
            "pdftotext failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(plain(&String::from_utf8(output.stdout).unwrap()))
    }

    fn plain(text: &str) -> String {
        text.replace(['\u{a0}', '\u{202f}'], " ")
    }

    fn page_count(text: &str) -> usize {
        // pdftotext ends every page with a form feed.
        text.matches('\u{c}').count()
    }

    #[test]
    fn an_agreement_shows_both_parties_the_terms_and_every_installment() {
        // Arrange
        let data = agreement(24);

        // Act
        let pdf = render_loan_agreement(&data).unwrap();

        // Assert
        assert!(pdf.starts_with(b"%PDF-"));
        let Some(text) = pdftotext(&pdf) else { return };
        for expected in [
            "Loan agreement No. 0195f3a2-7c1e-7d4a-9b1e-3f2a1c0d9e8f",
            "Иван Петров",
            "ivan.petrov@example.ru",
            "Jane O'Connor-Smith",
            "jane@example.com",
            "Crowdlend",
            &plain(&data.loan_amount.to_string()),
            &plain(&data.investment_amount.to_string()),
            "(10.00 % of the loan)",
            "15.50 % a year",
            "24 months",
            "Ремонт квартиры (home renovation)",
            "31 Jan 2026",
            "30 Jan 2026, 21:07:45 UTC",
            "1.00 % of each repayment",
            "1.50 % of the loan amount",
            "2.00 % of the loan amount",
            "Balance after",
            "SHA-256",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        let lines: Vec<&str> = text.lines().collect();
        for row in &data.schedule {
            let (due, total) = (date(row.due_date), plain(&row.total.to_string()));
            assert!(
                lines.iter().any(|l| l.contains(&due) && l.contains(&total)),
                "installment {} ({due}, {total}) missing from:\n{text}",
                row.number
            );
        }
        let pages = page_count(&text);
        assert!(text.contains(&format!("Page 1 of {pages}")), "{text}");
        assert!(text.contains(&format!("Page {pages} of {pages}")), "{text}");
    }

    #[test]
    fn a_thirty_year_schedule_runs_over_several_pages_with_every_row() {
        // Arrange
        let data = agreement(360);

        // Act
        let pdf = render_loan_agreement(&data).unwrap();

        // Assert
        let Some(text) = pdftotext(&pdf) else { return };
        let pages = page_count(&text);
        assert!(pages >= 6, "{pages} pages");
        for page in 1..=pages {
            assert!(text.contains(&format!("Page {page} of {pages}")), "{text}");
        }
        // The header row is repeated on every page that carries the table.
        assert!(text.matches("Balance after").count() >= pages - 1, "{text}");
        let lines: Vec<&str> = text.lines().collect();
        for row in &data.schedule {
            let (due, total) = (date(row.due_date), plain(&row.total.to_string()));
            assert!(
                lines.iter().any(|l| l.contains(&due) && l.contains(&total)),
                "installment {} ({due}, {total}) missing",
                row.number
            );
        }
        assert!(text.contains("31 Jan 2056"), "the last due date");
    }

    #[test]
    fn the_same_data_renders_the_same_bytes_and_hash() {
        let data = agreement(24);

        let first = render_loan_agreement(&data).unwrap();
        let second = render_loan_agreement(&data).unwrap();

        assert_eq!(first, second);
        assert_eq!(sha256_hex(&first), sha256_hex(&second));
        let mut other = data;
        other.lender_name = "Пётр Иванов".to_owned();
        assert_ne!(
            sha256_hex(&first),
            sha256_hex(&render_loan_agreement(&other).unwrap())
        );
    }

    #[test]
    fn long_names_and_numbers_are_wrapped_not_cut() {
        // Arrange
        let mut data = agreement(3);
        data.agreement_number = format!("LA-{}", "7".repeat(90));
        data.borrower_name =
            "Анна-Мария Александровна Преображенская-Долгорукая-Оболенская".repeat(3);
        data.purpose = "Expanding a small family bakery in Kazan with a second oven, \
                        a delivery van and two more bakers for the morning shift"
            .repeat(4);

        // Act
        let pdf = render_loan_agreement(&data).unwrap();

        // Assert
        let Some(text) = pdftotext(&pdf) else { return };
        let words = text.split_whitespace().collect::<Vec<_>>().concat();
        for long in [&data.agreement_number, &data.borrower_name, &data.purpose] {
            let wanted: String = long.split_whitespace().collect();
            assert!(words.contains(&wanted), "{long:?} not all in:\n{text}");
        }
    }

    #[test]
    fn sha256_hex_is_the_lowercase_hex_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn an_agreement_without_installments_is_refused() {
        let mut data = agreement(12);
        data.schedule.clear();

        assert!(matches!(
            render_loan_agreement(&data),
            Err(PdfError::EmptySchedule)
        ));
    }

    #[test]
    fn the_embedded_font_draws_latin_cyrillic_and_the_rouble_sign() {
        let regular = ParsedFont::from_bytes(REGULAR_TTF, 0, &mut Vec::new()).unwrap();
        let bold = ParsedFont::from_bytes(BOLD_TTF, 0, &mut Vec::new()).unwrap();
        for font in [&regular, &bold] {
            for c in "AZaz09ЁЖЯёжя₽%…'\u{a0}".chars() {
                assert!(
                    font.lookup_glyph_index(u32::from(c))
                        .is_some_and(|g| g != 0),
                    "{c:?} has no glyph"
                );
            }
        }
    }

    #[test]
    fn long_text_is_wrapped_within_the_width_and_keeps_every_word() {
        let metrics = Metrics::new(
            ParsedFont::from_bytes(REGULAR_TTF, 0, &mut Vec::new()).unwrap(),
            ParsedFont::from_bytes(BOLD_TTF, 0, &mut Vec::new()).unwrap(),
        );
        let style = Style::regular(10.0);
        let text = format!(
            "Заёмщик Александр Константинович Долгорукий-Преображенский borrows \
             1\u{a0}000\u{a0}000,00\u{a0}₽ {}",
            "x".repeat(200)
        );

        let lines = metrics.wrap(style, &text, 200.0);

        assert!(lines.len() > 3, "{lines:?}");
        for line in &lines {
            assert!(metrics.width(style, line) <= 200.0, "{line:?} is too wide");
        }
        assert!(
            lines
                .iter()
                .any(|l| l.contains("1\u{a0}000\u{a0}000,00\u{a0}₽"))
        );
        assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
    }
}
