//! Randomness, from the operating system's source (via `getrandom`). The one place ids and
//! seeds are made: installation, session, batch and event ids, and the transport's jitter.
//!
//! Nothing here panics: when the OS source fails the answer is `None`, and the caller sends
//! nothing (an id that is not random could single out a user).

/// A random UUID v4, or `None` if the OS random source failed (`Uuid::new_v4` would panic).
pub(crate) fn uuid_v4() -> Option<uuid::Uuid> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// A random `u64`, or `None` if the OS random source failed.
pub(crate) fn u64() -> Option<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).ok()?;
    Some(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_version_4_and_differ() {
        let (a, b) = (super::uuid_v4().unwrap(), super::uuid_v4().unwrap());
        assert_eq!(a.get_version_num(), 4);
        assert_ne!(a, b);
        assert_ne!(super::u64(), super::u64());
    }
}
