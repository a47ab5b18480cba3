//! The bottom layer: what every other layer may use, and which uses nothing else of the
//! crate. Where variables come from ([`env`]), dates ([`calendar`]), random bytes
//! ([`random`]) and the names and places of the host's files ([`paths`]).

pub(crate) mod calendar;
pub(crate) mod env;
pub(crate) mod paths;
pub(crate) mod random;
