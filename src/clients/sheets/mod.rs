//! Google Sheets client: service-account auth, typed values calls, A1 notation.
pub mod a1;
