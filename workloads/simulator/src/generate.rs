//! The event generator: deterministic for a seed, realistic beyond the
//! originals (sessions follow the view -> cart -> purchase funnel, product
//! popularity is Zipf-skewed, traffic follows a daily curve), with faults and
//! bots on demand, and a ground-truth manifest of what it produced.
//!
//! Sessions keep normal users well below the detector's threshold: a user
//! has one session at a time and a session's events are at least 3 s apart,
//! so at most 4 of them fall in a 10-second window. Only bots exceed it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};

use chrono::{DateTime, FixedOffset, Timelike, Utc};
use pipegen_events::{EventType, Reason};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::profile::{self, Profile};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Settings {
    pub profile: Profile,
    pub events: u64,
    pub seed: u64,
    /// Fraction of events given a fault, 0-1.
    pub fault_rate: f64,
    /// Bot users, each firing more than `threshold` actions inside one window.
    pub bots: u32,
    pub threshold: u32,
    pub window_seconds: u32,
    /// Event time of the first event, UTC microseconds.
    pub start_micros: i64,
    /// Concurrent sessions: the traffic level (events per second of event
    /// time are about this divided by 16).
    pub concurrent_sessions: u32,
}

impl Settings {
    pub fn new(profile: Profile, events: u64, seed: u64) -> Settings {
        Settings {
            profile,
            events,
            seed,
            fault_rate: 0.0,
            bots: 0,
            threshold: 10,
            window_seconds: 10,
            start_micros: 1_761_177_600_000_000, // 2025-10-23T00:00:00Z
            // About 8 events per second of event time. Sessions cut off when
            // the count is reached are cut in funnel order (views first), so
            // fewer concurrent sessions also keep the type shares on target.
            concurrent_sessions: crate::sessions_for_rate(8.0, profile),
        }
    }
}

/// The faults of events.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    MalformedJson,
    UnknownCity,
    SpellingVariant,
    NonPositivePrice,
    MissingUser,
    FutureTimestamp,
    ExactDuplicate,
}

const FAULTS: [Fault; 7] = [
    Fault::MalformedJson,
    Fault::UnknownCity,
    Fault::SpellingVariant,
    Fault::NonPositivePrice,
    Fault::MissingUser,
    Fault::FutureTimestamp,
    Fault::ExactDuplicate,
];

/// One bot's burst: the ground truth the detector must find.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BotBurst {
    pub user_id: String,
    /// Window start, epoch seconds (aligned to `window_seconds`).
    pub window_start: i64,
    pub actions: u32,
}

/// What was generated, for tests to check the pipeline's outputs against.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Manifest {
    pub profile: String,
    pub source_format: String,
    pub seed: u64,
    /// Lines written, duplicates and malformed lines included.
    pub lines: u64,
    /// Distinct events (a duplicate is the same event again).
    pub events: u64,
    pub valid_by_type: BTreeMap<String, u64>,
    pub invalid_by_reason: BTreeMap<String, u64>,
    pub invalid: u64,
    pub duplicates: u64,
    pub faults: BTreeMap<String, u64>,
    pub bots: Vec<BotBurst>,
    pub first_event_time: String,
    pub last_event_time: String,
}

/// One generated line and what it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub text: String,
    pub user_id: Option<String>,
    /// Event time, UTC microseconds (of the event the line carries).
    pub time_micros: i64,
    pub partition_key: String,
}

struct Session {
    user: String,
    id: String,
    next_micros: i64,
    remaining: Vec<EventType>,
    product: usize,
    city: &'static str,
    device: &'static str,
    age: &'static str,
    gender: &'static str,
    referral: &'static str,
}

/// Generates lines; call [`Generator::manifest`] when done.
pub struct Generator {
    s: Settings,
    rng: SmallRng,
    produced: u64,
    /// Source of event ids: one per generated event (bot bursts included,
    /// which fill one slot of `produced` with many events).
    next_id: u64,
    now: i64,
    active: BinaryHeap<Reverse<(i64, u64)>>,
    sessions: BTreeMap<u64, Session>,
    busy_users: HashSet<String>,
    next_session: u64,
    zipf: Vec<f64>,
    manifest: Manifest,
    bot_at: Vec<u64>,
    pending: Vec<Line>,
    min_time: i64,
    max_time: i64,
}

impl Generator {
    pub fn new(s: Settings) -> Generator {
        let rng = SmallRng::seed_from_u64(s.seed);
        let n = s.profile.products();
        let mut acc = 0.0;
        let zipf = (1..=n)
            .map(|k| {
                acc += 1.0 / (k as f64).powf(1.1);
                acc
            })
            .collect();
        // Bots are spread evenly through the stream.
        let bot_at = (0..s.bots)
            .map(|i| (i as u64 + 1) * s.events / (s.bots as u64 + 1))
            .collect();
        let manifest = Manifest {
            profile: format!("{:?}", s.profile).to_lowercase(),
            source_format: s.profile.source_format().into(),
            seed: s.seed,
            ..Manifest::default()
        };
        Generator {
            now: s.start_micros,
            s,
            rng,
            produced: 0,
            next_id: 0,
            active: BinaryHeap::new(),
            sessions: BTreeMap::new(),
            busy_users: HashSet::new(),
            next_session: 0,
            zipf,
            manifest,
            bot_at,
            pending: Vec::new(),
            min_time: i64::MAX,
            max_time: i64::MIN,
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random::<f64>() * total;
        for (t, w) in items {
            if x < *w {
                return *t;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }

    fn product(&mut self) -> usize {
        let total = *self.zipf.last().unwrap();
        let x = self.rng.random::<f64>() * total;
        self.zipf.partition_point(|c| *c < x).min(self.zipf.len() - 1)
    }

    /// Traffic follows the day: busier in the evening (local 18-22 h).
    fn daily_factor(&self, micros: i64) -> f64 {
        let hour = DateTime::from_timestamp_micros(micros).map(|t| t.hour()).unwrap_or(12) as f64;
        1.0 + 0.8 * (std::f64::consts::PI * (hour - 8.0) / 12.0).sin().max(-0.6)
    }

    fn start_session(&mut self) {
        let users = self.s.profile.users();
        let user = loop {
            let u = self.s.profile.user_id(self.rng.random_range(0..users));
            if !self.busy_users.contains(&u) {
                break u;
            }
        };
        self.busy_users.insert(user.clone());
        // 1-8 events drawn from the profile's weights, then ordered along the
        // funnel: views and searches, then carts, then purchases.
        let k = self.rng.random_range(1..=8);
        let weights = self.s.profile.event_weights();
        let mut events: Vec<EventType> = (0..k).map(|_| self.weighted(weights)).collect();
        events.sort_by_key(|t| match t {
            EventType::View | EventType::Search => 0,
            EventType::AddToCart => 1,
            EventType::RemoveFromCart => 2,
            EventType::Purchase => 3,
            _ => 4,
        });
        events.reverse(); // popped from the end
        let id = self.next_session;
        self.next_session += 1;
        let gap = (self.rng.random_range(0.0..4.0) / self.daily_factor(self.now) * 1e6) as i64;
        let product = self.product();
        let session = Session {
            user,
            id: match self.s.profile {
                Profile::Flashcommerce => format!("S{}", 10_000 + (id % 90_000)),
                Profile::Capstone => format!("sess_{id:08x}"),
            },
            next_micros: self.now + gap,
            remaining: events,
            product,
            city: self.pick(profile::CITIES),
            device: self.pick(profile::DEVICES),
            age: self.pick(profile::AGE_GROUPS),
            gender: self.pick(profile::GENDERS),
            referral: self.pick(profile::REFERRALS),
        };
        self.active.push(Reverse((session.next_micros, id)));
        self.sessions.insert(id, session);
    }

    fn event_json(&mut self, sid: u64, event_type: EventType, time: i64) -> Map<String, Value> {
        let n = self.next_id;
        self.next_id += 1;
        let sess = &self.sessions[&sid];
        let (user, session_id, product, city, device, age, gender, referral) = (
            sess.user.clone(),
            sess.id.clone(),
            sess.product,
            sess.city,
            sess.device,
            sess.age,
            sess.gender,
            sess.referral,
        );
        match self.s.profile {
            Profile::Flashcommerce => {
                let p = &profile::FLASH_PRODUCTS[product];
                let price = round2(self.rng.random_range(p.min_price..=p.max_price));
                let cost = round2(price * self.rng.random_range(0.6..0.8));
                let discount = if event_type == EventType::PriceChange {
                    self.rng.random_range(5..=50)
                } else {
                    self.rng.random_range(0..=30)
                };
                let quantity = if event_type == EventType::Purchase { self.rng.random_range(1..=3) } else { 0 };
                let rating = if self.rng.random::<f64>() < 0.8 {
                    round1(self.rng.random_range(3.0..=5.0))
                } else {
                    round1(self.rng.random_range(1.0..=2.9))
                };
                let payment = self.weighted(profile::PAYMENTS);
                let ist = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
                let local = DateTime::<Utc>::from_timestamp_micros(time).unwrap().with_timezone(&ist);
                json!({
                    "event_id": format!("EV{:016x}", self.s.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n),
                    "event_time": local.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
                    "event_type": event_type.as_str(),
                    "user_id": user,
                    "session_id": session_id,
                    "product_id": format!("P{:03}", product + 1),
                    "product_name": p.name,
                    "category": p.category,
                    "price": price,
                    "cost_price": cost,
                    "discount_percentage": discount,
                    "quantity": quantity,
                    "stock_quantity": self.rng.random_range(10..=100),
                    "seller_id": format!("S{:03}", product % 7 + 1),
                    "city": city,
                    "payment_type": if event_type == EventType::Purchase { payment } else { "other" },
                    "customer_age_group": age,
                    "customer_gender": gender,
                    "device_type": device,
                    "referral_source": referral,
                    "campaign_id": format!("C{}", self.rng.random_range(100..=999)),
                    "rating": rating,
                    "promotion_active": discount > 10,
                })
            }
            Profile::Capstone => {
                let category = profile::CAPSTONE_CATEGORIES[product / 5];
                let product_id = format!("p_{}", (product / 5 + 1) * 1000 + product % 5 + 1);
                let mut v = json!({
                    "event_id": format!("evt_{:016x}", self.s.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n),
                    "timestamp": DateTime::<Utc>::from_timestamp_micros(time).unwrap().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                    "event_type": if event_type == EventType::View { "page_view" } else { event_type.as_str() },
                    "user_id": user,
                    "session_id": session_id,
                    "product_id": product_id,
                    "category": category,
                    "device_type": device,
                });
                if matches!(event_type, EventType::AddToCart | EventType::RemoveFromCart | EventType::Purchase) {
                    v["quantity"] = json!(self.rng.random_range(1..=5));
                    v["price"] = json!(round2(self.rng.random_range(9.99..=299.99)));
                }
                if event_type == EventType::Search {
                    v["search_query"] = json!(self.pick(profile::SEARCH_TERMS));
                    v.as_object_mut().unwrap().remove("product_id");
                }
                v
            }
        }
        .as_object_mut()
        .map(std::mem::take)
        .expect("an object")
    }

    fn emit(&mut self, mut obj: Map<String, Value>, event_type: EventType, time: i64, user: Option<String>) {
        let pk = obj
            .get("product_id")
            .or_else(|| obj.get("category"))
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string();
        self.manifest.events += 1;
        let fault =
            (self.s.fault_rate > 0.0 && self.rng.random::<f64>() < self.s.fault_rate).then(|| self.pick(&FAULTS));
        let mut reasons: Vec<Reason> = Vec::new();
        let mut duplicate = false;
        let mut malformed = false;
        if let Some(f) = fault {
            *self.manifest.faults.entry(format!("{f:?}")).or_default() += 1;
            match f {
                Fault::MalformedJson => malformed = true,
                Fault::UnknownCity if obj.contains_key("city") => {
                    obj.insert("city".into(), json!("Gotham"));
                    reasons.push(Reason::UnknownCity);
                }
                Fault::SpellingVariant if obj.contains_key("city") => {
                    obj.insert("city".into(), json!("Bengaluru")); // valid once aliased
                }
                Fault::NonPositivePrice if obj.contains_key("price") => {
                    obj.insert("price".into(), json!(-round2(self.rng.random_range(0.0..100.0))));
                    reasons.push(Reason::NonPositivePrice);
                }
                Fault::MissingUser => {
                    obj.remove("user_id");
                    reasons.push(Reason::MissingUserId);
                }
                Fault::FutureTimestamp => {
                    let key = if obj.contains_key("timestamp") {
                        "timestamp"
                    } else {
                        "event_time"
                    };
                    let t = DateTime::<Utc>::from_timestamp_micros(time + 3 * 86_400 * 1_000_000).unwrap();
                    obj.insert(key.into(), json!(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()));
                    reasons.push(Reason::FutureEventTime);
                }
                Fault::ExactDuplicate => duplicate = true,
                _ => {} // a fault that does not apply to this event's fields
            }
        }
        let mut text = Value::Object(obj).to_string();
        if malformed {
            text.truncate(text.len() / 2);
            reasons = vec![Reason::MalformedJson];
        }
        if reasons.is_empty() {
            *self
                .manifest
                .valid_by_type
                .entry(event_type.as_str().into())
                .or_default() += 1;
        } else {
            self.manifest.invalid += 1;
            for r in &reasons {
                *self.manifest.invalid_by_reason.entry(r.as_str().into()).or_default() += 1;
            }
        }
        let line = Line {
            text,
            user_id: user,
            time_micros: time,
            partition_key: pk,
        };
        if duplicate {
            self.manifest.duplicates += 1;
            self.pending.push(line.clone());
        }
        self.pending.push(line);
    }

    fn bot_burst(&mut self, index: usize) {
        let user = self.s.profile.bot_id(index as u32);
        let window = self.s.window_seconds as i64;
        let start_s = (self.now / 1_000_000).div_euclid(window) * window + window; // next full window
        let actions = self.s.threshold + 1 + self.rng.random_range(0..self.s.threshold.max(1));
        let product = self.product();
        let sid = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            sid,
            Session {
                user: user.clone(),
                id: format!("BOTSESSION{sid}"),
                next_micros: 0,
                remaining: vec![],
                product,
                city: "Mumbai",
                device: "desktop",
                age: "25-34",
                gender: "other",
                referral: "organic_search",
            },
        );
        for a in 0..actions {
            let t = start_s * 1_000_000 + (a as i64 * window * 1_000_000) / (actions as i64 + 1) + 1;
            let obj = self.event_json(sid, EventType::View, t);
            // Bots are not faulted: the detector test counts their actions exactly.
            let rate = self.s.fault_rate;
            self.s.fault_rate = 0.0;
            self.emit(obj, EventType::View, t, Some(user.clone()));
            self.s.fault_rate = rate;
        }
        self.sessions.remove(&sid);
        self.manifest.bots.push(BotBurst {
            user_id: user,
            window_start: start_s,
            actions,
        });
    }

    /// The next line, or `None` when `events` events were produced.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            if let Some(l) = self.pending.pop() {
                self.manifest.lines += 1;
                self.touch_time(l.time_micros);
                return Some(l);
            }
            if self.produced >= self.s.events {
                return None;
            }
            if let Some(i) = self.bot_at.iter().position(|b| *b == self.produced) {
                self.bot_at[i] = u64::MAX;
                self.bot_burst(i);
                self.produced += 1; // a burst counts as one slot of the stream
                continue;
            }
            while (self.active.len() as u32) < self.s.concurrent_sessions.max(1) {
                self.start_session();
            }
            let Reverse((t, sid)) = self.active.pop().expect("sessions are active");
            self.now = self.now.max(t);
            let event_type = self.sessions.get_mut(&sid).and_then(|s| s.remaining.pop());
            let Some(event_type) = event_type else {
                let s = self.sessions.remove(&sid).expect("session exists");
                self.busy_users.remove(&s.user);
                continue;
            };
            let obj = self.event_json(sid, event_type, t);
            let user = self.sessions[&sid].user.clone();
            self.produced += 1;
            self.emit(obj, event_type, t, Some(user));
            // Next event of the session: 3-30 s later.
            let gap = (self.rng.random_range(3.0..30.0) * 1e6) as i64;
            let s = self.sessions.get_mut(&sid).expect("session exists");
            s.next_micros = t + gap;
            self.active.push(Reverse((s.next_micros, sid)));
        }
    }

    fn touch_time(&mut self, t: i64) {
        self.min_time = self.min_time.min(t);
        self.max_time = self.max_time.max(t);
        self.manifest.first_event_time = pipegen_events::time::format_utc(self.min_time);
        self.manifest.last_event_time = pipegen_events::time::format_utc(self.max_time);
    }
}

impl Iterator for Generator {
    type Item = Line;
    fn next(&mut self) -> Option<Line> {
        self.next_line()
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
