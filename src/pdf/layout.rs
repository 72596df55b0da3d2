//! Page geometry, font metrics and a small flow composer: lines of text
//! placed top to bottom on A4 pages, wrapped at word boundaries, with a new
//! page whenever the next line would cross the bottom margin.
//!
//! Coordinates are PDF points from the bottom-left corner of the page. Floats
//! here measure ink on paper, never money.

use std::collections::BTreeSet;

use printpdf::{
    Color, FontId, Line, LinePoint, Op, ParsedFont, PdfFontHandle, Point, Pt, Rgb, TextItem,
};

/// A4 in points.
pub const PAGE_WIDTH: f32 = 595.276;
pub const PAGE_HEIGHT: f32 = 841.89;
/// 20 mm on every side.
pub const MARGIN: f32 = 56.693;
pub const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// Text never goes below this line; the footer lives underneath it.
pub const BOTTOM: f32 = MARGIN + 10.0;
/// Baseline of the footer ("Page n of m").
pub const FOOTER_BASELINE: f32 = MARGIN - 20.0;

/// Line height as a multiple of the font size.
const LEADING: f32 = 1.35;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Face {
    Regular,
    Bold,
}

impl Face {
    fn index(self) -> usize {
        match self {
            Self::Regular => 0,
            Self::Bold => 1,
        }
    }
}

/// The typeface at a size.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub face: Face,
    pub size: f32,
}

impl Style {
    pub const fn regular(size: f32) -> Self {
        Self {
            face: Face::Regular,
            size,
        }
    }

    pub const fn bold(size: f32) -> Self {
        Self {
            face: Face::Bold,
            size,
        }
    }

    pub fn line_height(self) -> f32 {
        self.size * LEADING
    }
}

/// Advance widths of the full (not yet subset) faces, to measure text.
pub struct Metrics {
    faces: [ParsedFont; 2],
}

impl Metrics {
    pub fn new(regular: ParsedFont, bold: ParsedFont) -> Self {
        Self {
            faces: [regular, bold],
        }
    }

    pub fn font(&self, face: Face) -> &ParsedFont {
        &self.faces[face.index()]
    }

    /// Width of `text` in points. A character the font lacks counts as zero
    /// (it would be drawn as the font's empty "missing glyph").
    pub fn width(&self, style: Style, text: &str) -> f32 {
        let font = self.font(style.face);
        let units: u32 = text
            .chars()
            .filter_map(|c| font.lookup_glyph_index(u32::from(c)))
            .filter_map(|gid| font.get_glyph_width(gid))
            .map(u32::from)
            .sum();
        let per_em = f32::from(font.units_per_em.max(1));
        // Widths of a page's text stay far below f32's exact-integer range.
        #[expect(clippy::cast_precision_loss)]
        let units = units as f32;
        units * style.size / per_em
    }

    /// Breaks `text` into lines no wider than `max_width`: at spaces where it
    /// can, inside a word only when the word alone is too wide. Non-breaking
    /// spaces (inside amounts, "1 000,50 ₽") keep their neighbours together.
    pub fn wrap(&self, style: Style, text: &str, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text
            .split(|c: char| c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{202f}'))
            .filter(|w| !w.is_empty())
        {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(style, &candidate) <= max_width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if self.width(style, word) <= max_width {
                line = word.to_owned();
                continue;
            }
            for c in word.chars() {
                let mut longer = line.clone();
                longer.push(c);
                if !line.is_empty() && self.width(style, &longer) > max_width {
                    lines.push(std::mem::take(&mut line));
                }
                line.push(c);
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// Lays text out over as many pages as it needs.
pub struct Composer<'a> {
    metrics: &'a Metrics,
    font_ids: [FontId; 2],
    pages: Vec<Vec<Op>>,
    /// The baseline of the last line placed on the current page.
    y: f32,
    /// Every character drawn, per face: what the embedded subset must hold.
    used: [BTreeSet<char>; 2],
}

impl<'a> Composer<'a> {
    pub fn new(metrics: &'a Metrics, regular: FontId, bold: FontId) -> Self {
        Self {
            metrics,
            font_ids: [regular, bold],
            pages: vec![Vec::new()],
            y: PAGE_HEIGHT - MARGIN,
            used: [BTreeSet::new(), BTreeSet::new()],
        }
    }

    pub fn metrics(&self) -> &'a Metrics {
        self.metrics
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = PAGE_HEIGHT - MARGIN;
    }

    /// The baseline of the last line placed.
    pub fn baseline(&self) -> f32 {
        self.y
    }

    /// Room left on the current page below the last line.
    pub fn space_left(&self) -> f32 {
        self.y - BOTTOM
    }

    /// Moves down by `height` (a new page first when it does not fit) and
    /// returns the new baseline.
    pub fn advance(&mut self, height: f32) -> f32 {
        if self.space_left() < height {
            self.new_page();
        }
        self.y -= height;
        self.y
    }

    /// Vertical space that never starts a page.
    pub fn gap(&mut self, height: f32) {
        self.y = (self.y - height).max(BOTTOM);
    }

    /// Draws `text` with its left end at `x` on the baseline `y` of the current page.
    pub fn text_at(&mut self, x: f32, y: f32, style: Style, text: &str) {
        self.text_on(self.pages.len() - 1, x, y, style, text);
    }

    /// Draws `text` with its right end at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, style: Style, text: &str) {
        let x = right - self.metrics.width(style, text);
        self.text_at(x, y, style, text);
    }

    /// Draws on any page laid out so far (the footers, once the page count is known).
    pub fn text_on(&mut self, page: usize, x: f32, y: f32, style: Style, text: &str) {
        if text.is_empty() {
            return;
        }
        self.used[style.face.index()].extend(text.chars());
        let Some(ops) = self.pages.get_mut(page) else {
            return;
        };
        ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(self.font_ids[style.face.index()].clone()),
                size: Pt(style.size),
            },
            Op::SetTextCursor {
                pos: Point { x: Pt(x), y: Pt(y) },
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    /// A thin grey horizontal rule across `[x1, x2]` at height `y`.
    pub fn rule(&mut self, x1: f32, x2: f32, y: f32, thickness: f32) {
        let point = |x: f32| LinePoint {
            p: Point { x: Pt(x), y: Pt(y) },
            bezier: false,
        };
        if let Some(ops) = self.pages.last_mut() {
            ops.extend([
                Op::SetOutlineColor {
                    col: Color::Rgb(Rgb {
                        r: 0.6,
                        g: 0.6,
                        b: 0.6,
                        icc_profile: None,
                    }),
                },
                Op::SetOutlineThickness { pt: Pt(thickness) },
                Op::DrawLine {
                    line: Line {
                        points: vec![point(x1), point(x2)],
                        is_closed: false,
                    },
                },
            ]);
        }
    }

    /// Wrapped text from `x` to the right margin, line by line, breaking
    /// pages between lines.
    pub fn paragraph(&mut self, x: f32, style: Style, text: &str) {
        for line in self.metrics.wrap(style, text, MARGIN + CONTENT_WIDTH - x) {
            let y = self.advance(style.line_height());
            self.text_at(x, y, style, &line);
        }
    }

    /// A label on the left and its (wrapped) value beside it.
    pub fn field(&mut self, label: &str, value: &str, label_width: f32, style: Style) {
        let label_style = Style::bold(style.size);
        let labels = self.metrics.wrap(label_style, label, label_width - 6.0);
        let values = self.metrics.wrap(style, value, CONTENT_WIDTH - label_width);
        let rows = labels.len().max(values.len());
        for i in 0..rows {
            let y = self.advance(style.line_height());
            if let Some(label) = labels.get(i) {
                self.text_at(MARGIN, y, label_style, label);
            }
            if let Some(value) = values.get(i) {
                self.text_at(MARGIN + label_width, y, style, value);
            }
        }
    }

    /// The pages' drawing operations and the characters each face must hold.
    pub fn finish(self) -> (Vec<Vec<Op>>, [BTreeSet<char>; 2]) {
        (self.pages, self.used)
    }
}
