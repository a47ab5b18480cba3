//! Where the linker gathers every callsite: each annotated fn contributes its `static`
//! descriptor to one section of the binary, and the registry reads that section as an array
//! of slots. Nothing runs at startup and no function is generated per callsite, which keeps
//! annotating cheap to compile (docs/performance.md, "Compile time").
//!
//! The section's name carries a version: a binary that links two incompatible versions of
//! this crate keeps their callsites apart. Change it whenever `Callsite`'s layout changes
//! (all four places: the section, its bounds, and `callsite!`).
//!
//! Supported: Linux, Android, FreeBSD and Fuchsia (ELF, the linker's `__start_`/`__stop_`
//! symbols), macOS and iOS (Mach-O `section$start`/`section$end`), Windows (sections sorted
//! by their `$` suffix). Elsewhere callsites still work but are not enumerated, so nothing
//! is counted.

use crate::record::callsite::Callsite as Entry;

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
    #[unsafe(link_section = "telemetry_callsites_v3")]
    static mut PRESENT: [Entry; 0] = [];

    unsafe extern "Rust" {
        // Declared as empty arrays: the linker's symbols mark where the slots start and
        // stop, and claim no bytes of their own (the section may be empty).
        #[link_name = "__start_telemetry_callsites_v3"]
        pub(super) static START: [Entry; 0];
        #[link_name = "__stop_telemetry_callsites_v3"]
        pub(super) static STOP: [Entry; 0];
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
        #[link_name = "\x01section$start$__DATA$__tlm_cs_v3"]
        pub(super) static START: [Entry; 0];
        #[link_name = "\x01section$end$__DATA$__tlm_cs_v3"]
        pub(super) static STOP: [Entry; 0];
    }
}

#[cfg(windows)]
mod bounds {
    use super::Entry;

    // The linker sorts `.tlmcs3$a`, `.tlmcs3$b` (the callsites), `.tlmcs3$c` by name.
    #[used]
    #[unsafe(link_section = ".tlmcs3$a")]
    pub(super) static START: [Entry; 0] = [];
    #[used]
    #[unsafe(link_section = ".tlmcs3$c")]
    pub(super) static STOP: [Entry; 0] = [];
}

/// The section's slots: where the first one is, and how many there are. Each holds a
/// callsite or, where a linker padded, zeros (`Callsite::in_slot` tells them apart).
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
pub(crate) fn slots() -> (*const Entry, usize) {
    let start = (&raw const bounds::START).cast::<Entry>();
    let stop = (&raw const bounds::STOP).cast::<Entry>();
    let len = (stop as usize).saturating_sub(start as usize) / size_of::<Entry>();
    (start, len)
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
pub(crate) fn slots() -> (*const Entry, usize) {
    (std::ptr::NonNull::dangling().as_ptr(), 0)
}

/// Declares an annotated fn's callsite, `__TELEMETRY_CALLSITE`: its descriptor, in the
/// callsites' section. Used by generated code only.
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
            unsafe(link_section = "telemetry_callsites_v3")
        )]
        #[cfg_attr(
            any(
                target_os = "macos",
                target_os = "ios",
                target_os = "tvos",
                target_os = "watchos"
            ),
            unsafe(link_section = "__DATA,__tlm_cs_v3,regular,no_dead_strip")
        )]
        #[cfg_attr(windows, unsafe(link_section = ".tlmcs3$b"))]
        static __TELEMETRY_CALLSITE: $crate::__private::Callsite =
            $crate::__private::Callsite::new(
                $crate::__private::Kind::$kind,
                $name,
                ::core::module_path!(),
                $crate::__private::Features::NONE$(.union($crate::__private::Features::$flag))*,
            );
    };
}

/// With the kill switch, no callsite is emitted at all (the macros do not call this).
#[cfg(telemetry_disabled)]
#[doc(hidden)]
#[macro_export]
macro_rules! __callsite {
    ($($anything:tt)*) => {};
}
