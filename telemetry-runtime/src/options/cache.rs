//! What `cache` and `cache_ttl_secs` do: memoize results by argument values.

use std::any::{Any, TypeId};
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The argument types `cache` accepts as part of its key.
#[diagnostic::on_unimplemented(
    message = "`cache` needs every argument to be `Hash + Eq + Clone + Send + Sync + 'static`, and `{Self}` is not",
    label = "this argument cannot be part of a cache key",
    note = "cached results are looked up by the values of all arguments; pass owned values that can be hashed and compared, or remove `cache`"
)]
pub trait CacheKey: Hash + Eq + Clone + Send + Sync + 'static {}
impl<T: Hash + Eq + Clone + Send + Sync + 'static> CacheKey for T {}

/// One argument's share of a cache key.
///
/// It hashes and compares through functions chosen where its argument's bounds are checked,
/// so a key (a tuple of parts) is `Hash + Eq` whatever its contents: an argument that does
/// not qualify is reported once, on that argument, and not again for the whole tuple.
#[doc(hidden)]
pub struct Part<T> {
    value: T,
    hash: fn(&T, &mut dyn Hasher),
    eq: fn(&T, &T) -> bool,
    clone: fn(&T) -> T,
}

impl<T> Clone for Part<T> {
    fn clone(&self) -> Self {
        Part {
            value: (self.clone)(&self.value),
            ..*self
        }
    }
}

impl<T> Hash for Part<T> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.hash)(&self.value, state);
    }
}

impl<T> PartialEq for Part<T> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        (self.eq)(&self.value, &other.value)
    }
}

impl<T> Eq for Part<T> {}

fn part<T: CacheKey>(value: T) -> Part<T> {
    Part {
        value,
        hash: |v, mut state| v.hash(&mut state),
        eq: T::eq,
        clone: T::clone,
    }
}

/// The return types `cache` accepts.
#[diagnostic::on_unimplemented(
    message = "`cache` needs the function's result to be `Clone + Send + Sync + 'static`, and `{Self}` is not",
    label = "every cache hit returns a clone of the stored result",
    note = "derive or implement `Clone` for the result type, or remove `cache`"
)]
pub trait CacheValue: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> CacheValue for T {}

/// The key part for an argument passed by value.
#[doc(hidden)]
#[inline]
pub fn key<T: CacheKey>(arg: &T) -> Part<T> {
    part(arg.clone())
}

/// The key part for an argument passed by reference (`&str` gives `String`).
#[doc(hidden)]
#[inline]
pub fn key_ref<T: ?Sized + ToOwned>(arg: &T) -> Part<T::Owned>
where
    T::Owned: CacheKey,
{
    part(arg.to_owned())
}

/// A cache miss: where to store the result once the body has produced it.
#[doc(hidden)]
pub struct Miss<'a, K, V> {
    cache: &'a Cache,
    key: K,
    // Chosen by `lookup`, where the bounds are checked, so `store` needs none of its own
    // (one compile error per problem, not one per use).
    insert: fn(&Cache, K, &V),
}

impl<K, V> Miss<'_, K, V> {
    /// Keeps a clone of `value` for later calls with the same arguments.
    #[inline]
    pub fn store(self, value: &V) {
        (self.insert)(self.cache, self.key, value);
    }
}

struct Entry<V> {
    /// Shared by every stripe's copy of the entry.
    value: Arc<V>,
    stored: Option<Instant>,
}

/// How many copies of the map a cache keeps. Each thread reads its own copy, so threads
/// hitting the same entry at once do not fight over one lock's reader count (with one lock,
/// two threads made a hit 7 times slower); a store writes every copy. Misses are rare next
/// to hits, and the copies share each value.
const STRIPES: usize = 8;

/// One copy, on its own cache lines.
#[repr(align(128))]
struct Stripe(RwLock<Vec<(TypeId, Box<dyn Any + Send + Sync>)>>);

/// One annotated fn's cache. A generic fn has one map per instantiation, found by type.
/// Generated code only.
#[doc(hidden)]
pub struct Cache {
    ttl_secs: u64,
    stripes: [Stripe; STRIPES],
}

type Map<K, V> = HashMap<K, Entry<V>>;

/// The stripe this thread reads: threads are numbered in the order they first hit a cache.
fn my_stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    MINE.try_with(|mine| {
        if mine.get() == usize::MAX {
            mine.set(NEXT.fetch_add(1, Relaxed) % STRIPES);
        }
        mine.get()
    })
    .unwrap_or(0)
}

impl Cache {
    /// `ttl_secs == 0` means entries never expire.
    pub const fn new(ttl_secs: u64) -> Self {
        Self {
            ttl_secs,
            stripes: [const { Stripe(RwLock::new(Vec::new())) }; STRIPES],
        }
    }

    fn ttl(&self) -> Option<Duration> {
        (self.ttl_secs > 0).then(|| Duration::from_secs(self.ttl_secs))
    }

    /// The stored result for `key` (a clone), or where to store one.
    #[inline]
    pub fn lookup<K, V>(&self, key: K) -> Result<V, Miss<'_, K, V>>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: CacheValue,
    {
        match self.get(&key) {
            Some(value) => Ok(value),
            None => Err(Miss {
                cache: self,
                key,
                insert: Cache::put::<K, V>,
            }),
        }
    }

    fn get<K, V>(&self, key: &K) -> Option<V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: CacheValue,
    {
        let maps = self.stripes[my_stripe()]
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let map = find::<K, V>(&maps)?;
        let entry = map.get(key)?;
        match (self.ttl(), entry.stored) {
            (Some(ttl), Some(stored)) if stored.elapsed() >= ttl => None,
            _ => Some(V::clone(&entry.value)),
        }
    }

    fn put<K, V>(&self, key: K, value: &V)
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: CacheValue,
    {
        let ttl = self.ttl();
        let now = ttl.map(|_| Instant::now());
        let value = Arc::new(value.clone());
        // Every copy in the same order, so two stores never wait for each other in a cycle.
        for stripe in &self.stripes {
            let mut maps = stripe.0.write().unwrap_or_else(PoisonError::into_inner);
            let index = match maps
                .iter()
                .position(|(id, _)| *id == TypeId::of::<(K, V)>())
            {
                Some(i) => i,
                None => {
                    maps.push((TypeId::of::<(K, V)>(), Box::new(Map::<K, V>::new())));
                    maps.len() - 1
                }
            };
            let Some(map) = maps[index].1.downcast_mut::<Map<K, V>>() else {
                return;
            };
            // With a TTL, drop expired entries whenever the map has doubled, so a
            // long-running process does not keep every key it ever saw.
            if let (Some(ttl), Some(now)) = (ttl, now)
                && map.len() >= 64
                && map.len().is_power_of_two()
            {
                map.retain(|_, e| e.stored.is_some_and(|s| now.duration_since(s) < ttl));
            }
            map.insert(
                key.clone(),
                Entry {
                    value: Arc::clone(&value),
                    stored: now,
                },
            );
        }
    }
}

fn find<K: 'static, V: 'static>(
    maps: &[(TypeId, Box<dyn Any + Send + Sync>)],
) -> Option<&Map<K, V>> {
    maps.iter()
        .find(|(id, _)| *id == TypeId::of::<(K, V)>())
        .and_then(|(_, map)| map.downcast_ref::<Map<K, V>>())
}

#[cfg(test)]
mod tests {
    use super::Cache;

    #[test]
    fn stores_per_key_and_per_type() {
        let cache = Cache::new(0);
        assert_eq!(cache.get::<(u32,), String>(&(1,)), None);
        cache.put((1u32,), &"one".to_string());
        cache.put((1u64,), &"other type".to_string());
        assert_eq!(cache.get::<(u32,), String>(&(1,)).as_deref(), Some("one"));
        assert_eq!(
            cache.get::<(u64,), String>(&(1,)).as_deref(),
            Some("other type")
        );
        assert_eq!(cache.get::<(u32,), String>(&(2,)), None);
    }

    #[test]
    fn every_thread_sees_what_any_thread_stored() {
        let cache = Cache::new(0);
        std::thread::scope(|s| {
            for t in 0..super::STRIPES as u32 * 2 {
                let cache = &cache;
                s.spawn(move || cache.put((t,), &(t * 10)));
            }
        });
        std::thread::scope(|s| {
            for _ in 0..super::STRIPES * 2 {
                s.spawn(|| {
                    for t in 0..super::STRIPES as u32 * 2 {
                        assert_eq!(cache.get::<(u32,), u32>(&(t,)), Some(t * 10));
                    }
                });
            }
        });
    }

    #[test]
    fn expired_entries_are_not_returned() {
        let cache = Cache::new(1);
        cache.put(("k".to_string(),), &5u8);
        assert_eq!(cache.get::<(String,), u8>(&("k".to_string(),)), Some(5));
        // Backdate the entry (in every copy) instead of sleeping past the TTL.
        for stripe in &cache.stripes {
            let mut maps = stripe.0.write().unwrap();
            let map = maps[0]
                .1
                .downcast_mut::<super::Map<(String,), u8>>()
                .unwrap();
            for e in map.values_mut() {
                e.stored = e.stored.map(|s| s - std::time::Duration::from_secs(2));
            }
        }
        assert_eq!(cache.get::<(String,), u8>(&("k".to_string(),)), None);
    }
}
