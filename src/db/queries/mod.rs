//! Read models: one query per screen, returning flat structs shaped for the
//! template. Nothing here writes.

pub mod users;
pub mod wallet;

/// A page of rows and what the pager needs.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
}

impl<T> Page<T> {
    #[must_use]
    pub fn has_previous(&self) -> bool {
        self.page > 1
    }

    #[must_use]
    pub fn has_next(&self) -> bool {
        self.page < self.pages
    }
}

/// Page numbers start at 1; anything else is read as the first page.
#[must_use]
pub fn clamp_page(page: Option<u64>) -> u64 {
    page.filter(|p| *p >= 1).unwrap_or(1)
}
