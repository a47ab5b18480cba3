//! Where the linker gathers every callsite: each annotated fn contributes one pointer to its
//! `static` descriptor to one section of the binary, and the registry reads that section as
//! a slice. Nothing runs at startup and no function is generated per callsite, which keeps
//! annotating cheap to compile (README, "Compile time").
//!
//! The section's name carries a version: a binary that links two incompatible versions of
//! this crate keeps their callsites apart. Change it whenever `Callsite`'s layout changes
//! (all four places: the section, its bounds, and `callsite!`).
//!
//! Supported: Linux, Android, FreeBSD and Fuchsia (ELF, the linker's `__start_`/`__stop_`
//! symbols), macOS and iOS (Mach-O `section$start`/`section$end`), Windows (sections sorted
//! by their `$` suffix). Elsewhere callsites still work but are not enumerated, so nothing
//! is counted.

use crate::record::callsite::Registration as Entry;

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "fuchsia"
))]
mod bounds {
    use super::Entry;

    // Always present, so the section and its bounds exist even in a binary without a
    // single annotated fn.
    #[used]
    #[unsafe(link_section = "telemetry_callsites_v2")]
    static mut PRESENT: [Entry; 0] = [];

    unsafe extern "Rust" {
        #[link_name = "__start_telemetry_callsites_v2"]
        pub(super) static START: Entry;
        #[link_name = "__stop_telemetry_callsites_v2"]
        pub(super) static STOP: Entry;
    }
}

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos"
))]
mod bounds {
    use super::Entry;

    unsafe extern "Rust" {
        #[link_name = "\x01section$start$__DATA$__tlm_cs_v2"]
        pub(super) static START: Entry;
        #[link_name = "\x01section$end$__DATA$__tlm_cs_v2"]
        pub(super) static STOP: Entry;
    }
}

#[cfg(windows)]
mod bounds {
    use super::Entry;

    // The linker sorts `.tlmcs2$a`, `.tlmcs2$b` (the callsites), `.tlmcs2$c` by name.
    #[used]
    #[unsafe(link_section = ".tlmcs2$a")]
    pub(super) static START: [Entry; 0] = [];
    #[used]
    #[unsafe(link_section = ".tlmcs2$c")]
    pub(super) static STOP: [Entry; 0] = [];
}

/// Every registration the linker put in the section, in the order it put them there.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "fuchsia",
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    windows
))]
#[inline(always)]
pub(crate) fn registrations() -> &'static [Entry] {
    let start = (&raw const bounds::START).cast::<Entry>();
    let stop = (&raw const bounds::STOP).cast::<Entry>();
    let len = (stop as usize).saturating_sub(start as usize) / size_of::<Entry>();
    // SAFETY: the linker places every entry, each an `Option<&'static Callsite>` written by
    // `callsite!`, contiguously between the two bounds (padding, if any, is zeros: `None`).
    unsafe { std::slice::from_raw_parts(start, len) }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "fuchsia",
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    windows
)))]
#[inline(always)]
pub(crate) fn registrations() -> &'static [Entry] {
    &[]
}

/// Declares an annotated fn's callsite, `__TELEMETRY_CALLSITE`: its registration in the
/// callsites' section, pointing to its descriptor. Used by generated code only.
///
/// `callsite!(Task, "name", [ASYNC, METHOD])`.
#[cfg(not(telemetry_disabled))]
#[doc(hidden)]
#[macro_export]
macro_rules! __callsite {
    ($kind:ident, $name:literal, [$($flag:ident),*]) => {
        #[used]
        #[cfg_attr(
            any(
                target_os = "linux",
                target_os = "android",
                target_os = "freebsd",
                target_os = "fuchsia"
            ),
            unsafe(link_section = "telemetry_callsites_v2")
        )]
        #[cfg_attr(
            any(
                target_os = "macos",
                target_os = "ios",
                target_os = "tvos",
                target_os = "watchos"
            ),
            unsafe(link_section = "__DATA,__tlm_cs_v2,regular,no_dead_strip")
        )]
        #[cfg_attr(windows, unsafe(link_section = ".tlmcs2$b"))]
        static __TELEMETRY_CALLSITE: $crate::__private::Registration =
            ::core::option::Option::Some(&$crate::__private::Callsite::new(
                $crate::__private::Kind::$kind,
                $name,
                ::core::module_path!(),
                $crate::__private::Features::NONE$(.union($crate::__private::Features::$flag))*,
            ));
    };
}

/// With the kill switch, no callsite is emitted at all (the macros do not call this).
#[cfg(telemetry_disabled)]
#[doc(hidden)]
#[macro_export]
macro_rules! __callsite {
    ($($anything:tt)*) => {};
}
