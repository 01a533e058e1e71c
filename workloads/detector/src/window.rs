//! Per-user action counts of one tumbling window, kept in the state Lambda
//! passes between the invocations of a window.
//!
//! Lambda limits the state to 1 MB per shard. When the counts would grow past
//! `cap_bytes`, the heaviest users are kept exactly and the rest are folded
//! into one `overflow` entry (users and actions dropped), which the handler
//! reports as a metric. A dropped user starts again from zero if seen later in
//! the window, so only users with few actions can be under-counted.

use std::collections::HashMap;

/// One user's count and the event times of its first and last action (ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    pub actions: u32,
    pub first_ms: i64,
    pub last_ms: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowState {
    pub users: HashMap<String, Count>,
    pub overflow_users: u64,
    pub overflow_actions: u64,
}

const USER_PREFIX: &str = "u:";
const OVERFLOW_KEY: &str = "overflow";

impl WindowState {
    /// Reads the state Lambda passed in; entries that do not parse are an error
    /// (a state this handler did not write), not silently dropped.
    pub fn from_lambda(state: &HashMap<String, String>) -> Result<WindowState, String> {
        let mut s = WindowState::default();
        for (k, v) in state {
            if let Some(user) = k.strip_prefix(USER_PREFIX) {
                let parts: Vec<i64> = v
                    .split(',')
                    .map(|p| p.parse::<i64>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("state entry {k}={v}: {e}"))?;
                let [actions, first_ms, last_ms] = parts[..] else {
                    return Err(format!("state entry {k}={v}: expected 3 numbers"));
                };
                s.users.insert(
                    user.to_string(),
                    Count {
                        actions: actions as u32,
                        first_ms,
                        last_ms,
                    },
                );
            } else if k == OVERFLOW_KEY {
                let (u, a) = v.split_once(',').ok_or_else(|| format!("state entry {k}={v}"))?;
                s.overflow_users = u.parse().map_err(|e| format!("{k}: {e}"))?;
                s.overflow_actions = a.parse().map_err(|e| format!("{k}: {e}"))?;
            } else {
                return Err(format!("unknown state entry {k}"));
            }
        }
        Ok(s)
    }

    pub fn to_lambda(&self) -> HashMap<String, String> {
        let mut out: HashMap<String, String> = self
            .users
            .iter()
            .map(|(u, c)| {
                (
                    format!("{USER_PREFIX}{u}"),
                    format!("{},{},{}", c.actions, c.first_ms, c.last_ms),
                )
            })
            .collect();
        if self.overflow_users > 0 {
            out.insert(
                OVERFLOW_KEY.into(),
                format!("{},{}", self.overflow_users, self.overflow_actions),
            );
        }
        out
    }

    /// Bytes the state takes as Lambda's JSON (keys, values, quotes, separators).
    pub fn size_bytes(&self) -> usize {
        self.users
            .iter()
            .map(|(u, c)| u.len() + USER_PREFIX.len() + digits(c) + 8)
            .sum::<usize>()
            + 40
    }

    pub fn add(&mut self, user: &str, time_ms: i64) {
        let c = self.users.entry(user.to_string()).or_insert(Count {
            actions: 0,
            first_ms: time_ms,
            last_ms: time_ms,
        });
        c.actions += 1;
        c.first_ms = c.first_ms.min(time_ms);
        c.last_ms = c.last_ms.max(time_ms);
    }

    /// Keeps the state under `cap_bytes`: drops the lightest users (ties by
    /// name, so it is deterministic) until 80% of the cap is used. Returns how
    /// many users were dropped now.
    pub fn enforce_cap(&mut self, cap_bytes: usize) -> u64 {
        if self.size_bytes() <= cap_bytes {
            return 0;
        }
        let mut users: Vec<(String, Count)> = self.users.drain().collect();
        users.sort_by(|a, b| b.1.actions.cmp(&a.1.actions).then_with(|| a.0.cmp(&b.0)));
        let target = cap_bytes * 4 / 5;
        let mut size = 40;
        let mut dropped = 0;
        for (u, c) in users {
            let entry = u.len() + USER_PREFIX.len() + digits(&c) + 8;
            if size + entry <= target {
                size += entry;
                self.users.insert(u, c);
            } else {
                dropped += 1;
                self.overflow_users += 1;
                self.overflow_actions += c.actions as u64;
            }
        }
        dropped
    }

    /// Users with more than `threshold` actions, heaviest first, then by name.
    pub fn flagged(&self, threshold: u32) -> Vec<(&str, Count)> {
        let mut out: Vec<(&str, Count)> = self
            .users
            .iter()
            .filter(|(_, c)| c.actions > threshold)
            .map(|(u, c)| (u.as_str(), *c))
            .collect();
        out.sort_by(|a, b| b.1.actions.cmp(&a.1.actions).then_with(|| a.0.cmp(b.0)));
        out
    }
}

fn digits(c: &Count) -> usize {
    c.actions.to_string().len() + c.first_ms.to_string().len() + c.last_ms.to_string().len() + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(counts: &[(&str, u32)]) -> WindowState {
        let mut s = WindowState::default();
        for (u, n) in counts {
            for i in 0..*n {
                s.add(u, 1_000 + i as i64);
            }
        }
        s
    }

    #[test]
    fn exactly_the_threshold_is_not_flagged_one_more_is() {
        let s = state_with(&[("at", 10), ("over", 11), ("quiet", 1)]);
        let flagged: Vec<&str> = s.flagged(10).iter().map(|(u, _)| *u).collect();
        assert_eq!(flagged, ["over"]);
        assert_eq!(
            s.flagged(10)[0].1,
            Count {
                actions: 11,
                first_ms: 1_000,
                last_ms: 1_010
            }
        );
    }

    #[test]
    fn state_round_trips_through_lambda_across_many_invocations() {
        let mut state = HashMap::new();
        for invocation in 0..50 {
            let mut s = WindowState::from_lambda(&state).unwrap();
            s.add("bot", invocation);
            if invocation % 10 == 0 {
                s.add("human", invocation);
            }
            state = s.to_lambda();
        }
        let s = WindowState::from_lambda(&state).unwrap();
        assert_eq!(
            s.users["bot"],
            Count {
                actions: 50,
                first_ms: 0,
                last_ms: 49
            }
        );
        assert_eq!(s.users["human"].actions, 5);
    }

    #[test]
    fn a_foreign_state_is_an_error() {
        let bad = HashMap::from([("u:x".to_string(), "not,a,count".to_string())]);
        assert!(WindowState::from_lambda(&bad).is_err());
        let unknown = HashMap::from([("something".to_string(), "1".to_string())]);
        assert!(WindowState::from_lambda(&unknown).is_err());
    }

    #[test]
    fn the_cap_keeps_the_heaviest_users_exactly() {
        let mut s = WindowState::default();
        for i in 0..20_000 {
            s.add(&format!("user-{i:05}"), 1);
        }
        for _ in 0..50 {
            s.add("bot-a", 2);
        }
        for _ in 0..30 {
            s.add("bot-b", 3);
        }
        let cap = 100_000;
        let dropped = s.enforce_cap(cap);
        assert!(s.size_bytes() <= cap, "{}", s.size_bytes());
        assert!(dropped > 10_000, "{dropped}");
        assert_eq!(s.users["bot-a"].actions, 50);
        assert_eq!(s.users["bot-b"].actions, 30);
        assert_eq!(s.overflow_users, dropped);
        assert_eq!(s.overflow_actions, dropped);
        let back = WindowState::from_lambda(&s.to_lambda()).unwrap();
        assert_eq!(back, s);
        let flagged: Vec<&str> = back.flagged(10).iter().map(|(u, _)| *u).collect();
        assert_eq!(flagged, ["bot-a", "bot-b"]);
    }

    #[test]
    fn state_size_is_measured_like_lambda_would_serialize_it() {
        let s = state_with(&[("U0001", 3), ("U0002", 12)]);
        let json = serde_json::to_string(&s.to_lambda()).unwrap();
        assert!(s.size_bytes() >= json.len(), "{} < {}", s.size_bytes(), json.len());
        assert!(s.size_bytes() < json.len() + 64);
    }
}
