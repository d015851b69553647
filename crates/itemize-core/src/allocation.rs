//! Cost allocation: the rules that put every line of the ledger on a cost centre or a business service, and the
//! shared-cost pools that split what belongs to many.
//!
//! Precedence (first match wins within a level, levels in this order):
//! 0. **pools**: a line matching a shared-cost pool is not allocated directly; the pool is split afterwards;
//! 1. **ownership**: an account, sub-account, resource id or name (a pattern), vendor or GL account → a target;
//! 2. **tag** rules: a tag equal to a value, in a set, present, matching a regex; ResourceName or ResourceId;
//! 3. **defaults**, typically per billing account or sub-account;
//! 4. everything else → the explicit **Unallocated** target, never dropped.
//!
//! Rules compile once per run: equality and set conditions become hash lookups, patterns become compiled regexes,
//! targets are resolved to interned indexes. Money is exact: a pool's split gives every target its share rounded
//! to [`SPLIT_DP`] places and the remainder to one deterministic target (the largest weight, then the first by
//! key), so the targets' sum equals the source's sum to the last digit.

use regex::Regex;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Decimal places of a pool share before the remainder goes to the deterministic target.
pub const SPLIT_DP: u32 = 10;

// ---------------------------------------------------------------------------------------------------------
// The rule set as written (TOML).

/// A rule set as its TOML document states it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetDoc {
    pub name: String,
    /// The first billing period (`YYYY-MM`) the rule set applies to; it applies until a later one takes over.
    pub effective_from: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Canonical tag key → the other spellings that mean it (compared case-insensitively).
    #[serde(default)]
    pub tag_aliases: BTreeMap<String, Vec<String>>,
    /// Tag keys carried into the cost cube as free dimensions (team, product, environment, customer…).
    #[serde(default)]
    pub dimensions: Vec<String>,
    #[serde(default)]
    pub ownership: Vec<RuleDoc>,
    #[serde(default)]
    pub tag: Vec<RuleDoc>,
    #[serde(default)]
    pub default: Vec<RuleDoc>,
    #[serde(default)]
    pub pool: Vec<PoolDoc>,
    #[serde(default)]
    pub journal: Option<JournalDoc>,
}

/// One rule: conditions (all must hold) and a target, fixed or read from a field of the line.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    #[serde(default)]
    pub name: Option<String>,
    pub when: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub cost_centre: Option<String>,
    /// The line's value of this field names the service (by code or name).
    #[serde(default)]
    pub service_from: Option<String>,
    /// The line's value of this field names the cost centre (by code or name).
    #[serde(default)]
    pub cost_centre_from: Option<String>,
}

/// A shared-cost pool: what it collects and how it is split.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolDoc {
    pub name: String,
    pub when: BTreeMap<String, toml::Value>,
    /// `even`, `proportional`, `fixed` or `driver`.
    pub split: String,
    /// `cc:CODE`, `svc:CODE-or-name`, or `pool:NAME` (even and fixed only).
    #[serde(default)]
    pub targets: Vec<String>,
    /// Without `targets`: `cost_centres` (the default) or `services`.
    #[serde(default)]
    pub among: Option<String>,
    /// For `fixed`: target → percentage, summing to exactly 100.
    #[serde(default)]
    pub percentages: BTreeMap<String, String>,
    /// For `driver`: `headcount` or `metric:<name>`.
    #[serde(default)]
    pub driver: Option<String>,
}

/// How a period's chargeback becomes journal lines.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JournalDoc {
    /// The IT provider's cost centre, credited with everything charged back.
    pub provider_cost_centre: String,
    /// Service category (FOCUS ServiceCategory, or `default`) → GL account debited.
    pub gl_accounts: BTreeMap<String, String>,
    /// The GL account credited on the provider's side.
    pub credit_account: String,
}

/// Parses a rule set's TOML, with the position of a syntax error.
pub fn parse_rule_set(text: &str) -> Result<RuleSetDoc, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------------------
// What rules see of a line.

/// The fields a condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Account = 0,
    SubAccount,
    Provider,
    Publisher,
    ServiceName,
    ServiceCategory,
    ChargeCategory,
    Region,
    ResourceId,
    ResourceName,
    Vendor,
    GlAccount,
    CostCentreColumn,
}

pub const FIELD_COUNT: usize = 13;

pub const FIELD_NAMES: &str = "account, sub_account, provider, publisher, service_name, service_category, \
    charge_category, region, resource_id, resource_name, vendor, gl_account, cost_centre_column, tag:<key>";

impl Field {
    pub fn parse(s: &str) -> Option<Field> {
        Some(match s {
            "account" | "billing_account" => Field::Account,
            "sub_account" => Field::SubAccount,
            "provider" => Field::Provider,
            "publisher" => Field::Publisher,
            "service_name" => Field::ServiceName,
            "service_category" => Field::ServiceCategory,
            "charge_category" => Field::ChargeCategory,
            "region" => Field::Region,
            "resource_id" => Field::ResourceId,
            "resource_name" => Field::ResourceName,
            "vendor" => Field::Vendor,
            "gl_account" => Field::GlAccount,
            "cost_centre_column" | "cost_center_column" => Field::CostCentreColumn,
            _ => return None,
        })
    }
}

/// One line as the rules see it: field values (empty = absent) and tags with normalized keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineRef<'a> {
    pub fields: [&'a str; FIELD_COUNT],
    pub tags: &'a [(String, String)],
}

impl<'a> LineRef<'a> {
    pub fn field(&self, f: Field) -> Option<&'a str> {
        let v = self.fields[f as usize];
        (!v.is_empty()).then_some(v)
    }

    pub fn tag(&self, key: &str) -> Option<&'a str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn get(&self, f: &FieldRef) -> Option<&'a str> {
        match f {
            FieldRef::Fixed(f) => self.field(*f),
            FieldRef::Tag(k) => self.tag(k),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FieldRef {
    Fixed(Field),
    Tag(String),
}

/// Tag-key normalization: case-insensitive, with configured aliases (`CostCenter`, `cost-center`, … → one key).
#[derive(Debug, Clone, Default)]
pub struct TagKeys {
    aliases: HashMap<String, String>,
}

impl TagKeys {
    pub fn new(aliases: &BTreeMap<String, Vec<String>>) -> TagKeys {
        let mut map = HashMap::new();
        for (canonical, spellings) in aliases {
            let c = canonical.to_lowercase();
            for s in spellings {
                map.insert(s.to_lowercase(), c.clone());
            }
        }
        TagKeys { aliases: map }
    }

    /// Whether `key` normalizes to `canonical` (a normalized key), exactly as [`TagKeys::normalize`] says;
    /// without aliases, an ASCII key is compared without allocating.
    pub fn is(&self, key: &str, canonical: &str) -> bool {
        if self.aliases.is_empty() {
            if key.is_ascii() { key.eq_ignore_ascii_case(canonical) } else { key.to_lowercase() == canonical }
        } else {
            self.normalize(key) == canonical
        }
    }

    pub fn normalize(&self, key: &str) -> String {
        let lower = key.to_lowercase();
        match self.aliases.get(&lower) {
            Some(c) => c.clone(),
            None => lower,
        }
    }

    /// Normalizes a line's tags into `out` (cleared first); when two spellings meet, the first one wins.
    pub fn normalize_into<'t>(
        &self,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
        out: &mut Vec<(String, String)>,
    ) {
        out.clear();
        for (k, v) in tags {
            let k = self.normalize(k);
            if !out.iter().any(|(o, _)| *o == k) {
                out.push((k, v.to_string()));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Targets and the catalog they come from.

/// Where money lands: a service (and through it its cost centre), a cost centre, or Unallocated (neither).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    pub cost_centre: Option<String>,
    pub service: Option<String>,
}

impl Target {
    pub const UNALLOCATED_KEY: &'static str = "unallocated";

    pub fn unallocated() -> Target {
        Target { cost_centre: None, service: None }
    }

    pub fn is_unallocated(&self) -> bool {
        self.cost_centre.is_none() && self.service.is_none()
    }

    /// `svc:CODE`, `cc:CODE` or `unallocated`.
    pub fn key(&self) -> String {
        match (&self.service, &self.cost_centre) {
            (Some(s), _) => format!("svc:{s}"),
            (None, Some(c)) => format!("cc:{c}"),
            (None, None) => Target::UNALLOCATED_KEY.to_string(),
        }
    }
}

/// What the rules can name, for the period being allocated. Each allocation run keeps the catalog its rules
/// were compiled against (as JSON), so a closed period is restated and explained as it was allocated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// (code, name)
    pub cost_centres: Vec<(String, String)>,
    /// (code, name, owning cost centre's code)
    pub services: Vec<(String, String, String)>,
    /// Active people per cost-centre code.
    pub headcount: HashMap<String, u64>,
    /// Metric name → (target reference as written in the metric file: a cost-centre or service code or name,
    /// value) for the period.
    pub metrics: HashMap<String, Vec<(String, Decimal)>>,
}

// ---------------------------------------------------------------------------------------------------------
// Compiled rules.

#[derive(Debug)]
enum Op {
    Eq(String),
    In(HashSet<String>),
    Present,
    Regex(Regex),
}

#[derive(Debug)]
struct Cond {
    field: FieldRef,
    op: Op,
}

impl Cond {
    fn holds(&self, line: &LineRef) -> bool {
        let Some(v) = line.get(&self.field) else { return false };
        match &self.op {
            Op::Eq(x) => v == x,
            Op::In(set) => set.contains(v),
            Op::Present => true,
            Op::Regex(r) => r.is_match(v),
        }
    }
}

#[derive(Debug)]
enum TargetSpec {
    Fixed(u32),
    ServiceFrom(FieldRef),
    CostCentreFrom(FieldRef),
}

#[derive(Debug)]
struct Rule {
    id: u32,
    conds: Vec<Cond>,
    target: TargetSpec,
}

/// One precedence level: single equality/set rules with fixed targets are found by hash lookup; rules whose
/// conditions all read one field (a regex or glob on the resource id, say) are grouped by that field, and what
/// a value matches in a group is remembered (see [`Memo`]); the rest are tested in order. The lowest matching
/// position wins.
#[derive(Debug, Default)]
struct Level {
    rules: Vec<Rule>,
    indexed: Vec<(FieldRef, FxHashMap<String, usize>)>,
    /// Per field read alone, the rules (positions, ascending) that read only it.
    groups: Vec<(FieldRef, Vec<usize>)>,
    /// Per group, its single-pattern rules as one automaton (one pass over a value tests them all) and their
    /// positions; the group's other rules are tested one by one.
    group_sets: Vec<Option<(regex::RegexSet, Vec<usize>)>>,
    /// Rules reading several fields, tested line by line, in order.
    scanned: Vec<usize>,
}

/// What values matched, per level and field group: a line's classification then costs hash lookups, not
/// pattern matches, for every value seen before. Owned by one [`Allocator`]; bounded in size.
#[derive(Debug, Default)]
pub struct Memo {
    /// `[level][group]`: value → the positions in the level whose conditions it satisfies (ascending).
    seen: Vec<Vec<FxHashMap<Box<str>, Vec<u32>>>>,
    /// A line's candidate positions (kept to spare an allocation per line).
    cands: Vec<u32>,
}

/// A memo map is dropped and started afresh beyond this many values (memory stays bounded).
const MEMO_LIMIT: usize = 1 << 20;

impl Memo {
    pub fn new(rules: &Rules) -> Memo {
        Memo {
            seen: rules
                .levels
                .iter()
                .map(|l| l.groups.iter().map(|_| FxHashMap::default()).collect())
                .collect(),
            cands: Vec::new(),
        }
    }
}

impl Level {
    fn build(rules: Vec<Rule>) -> Level {
        let mut indexed: Vec<(FieldRef, FxHashMap<String, usize>)> = Vec::new();
        let mut groups: Vec<(FieldRef, Vec<usize>)> = Vec::new();
        let mut scanned = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let values: Option<Vec<&String>> = match (&r.target, r.conds.as_slice()) {
                (TargetSpec::Fixed(_), [Cond { op: Op::Eq(v), .. }]) => Some(vec![v]),
                (TargetSpec::Fixed(_), [Cond { op: Op::In(set), .. }]) => Some(set.iter().collect()),
                _ => None,
            };
            match values {
                Some(values) => {
                    let field = &r.conds[0].field;
                    let pos = match indexed.iter().position(|(f, _)| f == field) {
                        Some(p) => p,
                        None => {
                            indexed.push((field.clone(), FxHashMap::default()));
                            indexed.len() - 1
                        }
                    };
                    for v in values {
                        indexed[pos].1.entry(v.clone()).or_insert(i);
                    }
                }
                None => match r.conds.first().map(|c| &c.field) {
                    Some(field) if r.conds.iter().all(|c| c.field == *field) => {
                        match groups.iter_mut().find(|(f, _)| f == field) {
                            Some((_, g)) => g.push(i),
                            None => groups.push((field.clone(), vec![i])),
                        }
                    }
                    _ => scanned.push(i),
                },
            }
        }
        let group_sets = groups
            .iter()
            .map(|(_, positions)| {
                let single: Vec<(usize, &str)> = positions
                    .iter()
                    .filter_map(|&i| match rules[i].conds.as_slice() {
                        [Cond { op: Op::Regex(r), .. }] => Some((i, r.as_str())),
                        _ => None,
                    })
                    .collect();
                if single.len() < 2 {
                    return None;
                }
                // Patterns of one field share a lazy DFA; room for its states keeps it from falling back to
                // the slower NFA on many patterns.
                let set = regex::RegexSetBuilder::new(single.iter().map(|(_, p)| *p))
                    .dfa_size_limit(64 << 20)
                    .build()
                    .ok()?;
                Some((set, single.into_iter().map(|(i, _)| i).collect()))
            })
            .collect();
        Level { rules, indexed, groups, group_sets, scanned }
    }

    /// The positions of a group's rules whose conditions a value satisfies, ascending.
    fn group_hits(&self, g: usize, line: &LineRef) -> Vec<u32> {
        let positions = &self.groups[g].1;
        let mut hits: Vec<u32> = match &self.group_sets[g] {
            Some((set, in_set)) => {
                let v = line.get(&self.groups[g].0).unwrap_or_default();
                let mut h: Vec<u32> = set.matches(v).iter().map(|k| in_set[k] as u32).collect();
                h.extend(
                    positions
                        .iter()
                        .filter(|i| !in_set.contains(i))
                        .filter(|&&i| self.rules[i].conds.iter().all(|c| c.holds(line)))
                        .map(|&i| i as u32),
                );
                h
            }
            None => positions
                .iter()
                .filter(|&&i| self.rules[i].conds.iter().all(|c| c.holds(line)))
                .map(|&i| i as u32)
                .collect(),
        };
        hits.sort_unstable();
        hits
    }

    /// [`Level::find`] with what the groups matched remembered in `memo` (this level's slot).
    fn find_memo(
        &self,
        line: &LineRef,
        rules: &Rules,
        memo: &mut [FxHashMap<Box<str>, Vec<u32>>],
        cands: &mut Vec<u32>,
    ) -> Option<(u32, u32)> {
        let mut best = usize::MAX;
        for (field, map) in &self.indexed {
            if let Some(i) = line.get(field).and_then(|v| map.get(v))
                && *i < best
            {
                best = *i;
            }
        }
        // Candidates from the groups, below the best indexed position, in position order.
        cands.clear();
        for (g, ((field, positions), seen)) in self.groups.iter().zip(memo.iter_mut()).enumerate() {
            if positions[0] >= best {
                continue;
            }
            let Some(v) = line.get(field) else { continue };
            let hits = match seen.get(v) {
                Some(h) => h,
                None => {
                    if seen.len() >= MEMO_LIMIT {
                        seen.clear();
                    }
                    let h = self.group_hits(g, line);
                    seen.entry(v.into()).or_insert(h)
                }
            };
            cands.extend(hits.iter().copied().filter(|&i| (i as usize) < best));
        }
        if cands.len() > 1 {
            cands.sort_unstable();
        }
        let (mut c, mut s) = (cands.iter().peekable(), self.scanned.iter().peekable());
        loop {
            let next = match (c.peek(), s.peek()) {
                (Some(&&a), Some(&&b)) if (a as usize) < b => {
                    c.next();
                    (a as usize, true)
                }
                (_, Some(&&b)) => {
                    s.next();
                    (b, false)
                }
                (Some(&&a), None) => {
                    c.next();
                    (a as usize, true)
                }
                (None, None) => break,
            };
            let (i, known) = next;
            if i > best {
                break;
            }
            let r = &self.rules[i];
            if (known || r.conds.iter().all(|c| c.holds(line)))
                && let Some(t) = rules.resolve(&r.target, line)
            {
                return Some((t, r.id));
            }
        }
        let r = self.rules.get(best)?;
        rules.resolve(&r.target, line).map(|t| (t, r.id))
    }

    fn find(&self, line: &LineRef, rules: &Rules) -> Option<(u32, u32)> {
        let mut best = usize::MAX;
        for (field, map) in &self.indexed {
            if let Some(i) = line.get(field).and_then(|v| map.get(v))
                && *i < best
            {
                best = *i;
            }
        }
        let mut tested: Vec<usize> =
            self.scanned.iter().chain(self.groups.iter().flat_map(|(_, g)| g)).copied().collect();
        tested.sort_unstable();
        for i in tested {
            if i > best {
                break;
            }
            let r = &self.rules[i];
            if r.conds.iter().all(|c| c.holds(line))
                && let Some(t) = rules.resolve(&r.target, line)
            {
                return Some((t, r.id));
            }
        }
        let r = self.rules.get(best)?;
        rules.resolve(&r.target, line).map(|t| (t, r.id))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Output {
    Target(u32),
    Pool(usize),
}

#[derive(Debug, Clone)]
enum Weighting {
    /// Fixed weights (even: 1 each; fixed: the percentages).
    Fixed(Vec<Decimal>),
    /// Each output's direct cost in the period.
    Proportional,
    /// Weights from the catalog, known at compile time (headcount, metric series).
    Driver(Vec<Decimal>),
}

#[derive(Debug)]
struct Pool {
    name: String,
    rule: u32,
    method: String,
    conds: Vec<Cond>,
    outputs: Vec<Output>,
    weighting: Weighting,
}

/// A line's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Directly on a target (an index into [`Rules::target`]) by a rule (an index into [`Rules::rule_label`]).
    Target { target: u32, rule: u32 },
    /// Into a shared-cost pool (an index into [`Rules::pool_name`]).
    Pool(u32),
}

/// A compiled rule set, ready to classify lines.
#[derive(Debug)]
pub struct Rules {
    pub name: String,
    pub effective_from: String,
    tag_keys: TagKeys,
    dimensions: Vec<String>,
    levels: Vec<Level>,
    pools: Vec<Pool>,
    pool_order: Vec<usize>,
    targets: Vec<Target>,
    target_index: HashMap<Target, u32>,
    services: HashMap<String, u32>,
    cost_centres: HashMap<String, u32>,
    /// For each target, its cost centre's target (itself for a cost centre; 0 for Unallocated).
    cost_centre_of: Vec<u32>,
    rule_labels: Vec<String>,
    journal: Option<JournalDoc>,
}

/// The rule id of money no rule claimed.
pub const UNALLOCATED_RULE: u32 = 0;

/// Whether `p` names a billing period: `YYYY-MM`.
pub fn is_billing_period(p: &str) -> bool {
    p.len() == 7
        && p.as_bytes()[4] == b'-'
        && p[..4].bytes().all(|b| b.is_ascii_digit())
        && matches!(p[5..].parse::<u8>(), Ok(1..=12))
}

/// Turns a glob (`*` any run, `?` one character) into an anchored regex.
fn glob_regex(glob: &str) -> Result<Regex, regex::Error> {
    let mut r = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => r.push_str(".*"),
            '?' => r.push('.'),
            c => r.push_str(&regex::escape(&c.to_string())),
        }
    }
    r.push('$');
    Regex::new(&r)
}

struct Compiler<'c> {
    errors: Vec<String>,
    tag_keys: TagKeys,
    targets: Vec<Target>,
    target_index: HashMap<Target, u32>,
    services: HashMap<String, u32>,
    cost_centres: HashMap<String, u32>,
    rule_labels: Vec<String>,
    catalog: &'c Catalog,
}

impl Compiler<'_> {
    fn intern(&mut self, t: Target) -> u32 {
        if let Some(i) = self.target_index.get(&t) {
            return *i;
        }
        let i = self.targets.len() as u32;
        self.targets.push(t.clone());
        self.target_index.insert(t, i);
        i
    }

    fn field(&mut self, at: &str, name: &str) -> Option<FieldRef> {
        if let Some(k) = name.strip_prefix("tag:") {
            if k.is_empty() {
                self.errors.push(format!("{at}: `tag:` needs a key"));
                return None;
            }
            return Some(FieldRef::Tag(self.tag_keys.normalize(k)));
        }
        match Field::parse(name) {
            Some(f) => Some(FieldRef::Fixed(f)),
            None => {
                self.errors.push(format!("{at}: unknown field `{name}` (fields: {FIELD_NAMES})"));
                None
            }
        }
    }

    fn conds(&mut self, at: &str, when: &BTreeMap<String, toml::Value>) -> Vec<Cond> {
        if when.is_empty() {
            self.errors.push(format!("{at}.when: at least one condition is needed"));
        }
        let mut out = Vec::new();
        for (name, v) in when {
            let here = format!("{at}.when.{name}");
            let Some(field) = self.field(&here, name) else { continue };
            let op = match v {
                toml::Value::String(s) => Some(Op::Eq(s.clone())),
                toml::Value::Table(t) if t.len() == 1 => {
                    let (op, arg) = t.iter().next().expect("one entry");
                    self.op(&here, op, arg)
                }
                _ => {
                    self.errors.push(format!(
                        "{here}: expected a value or one of {{ equals = …, in = […], present = true, \
                         matches = \"regex\", glob = \"pattern\" }}"
                    ));
                    None
                }
            };
            if let Some(op) = op {
                out.push(Cond { field, op });
            }
        }
        out
    }

    fn op(&mut self, at: &str, op: &str, arg: &toml::Value) -> Option<Op> {
        let text = |v: &toml::Value| v.as_str().map(str::to_string);
        let r = match (op, arg) {
            ("equals", v) => text(v).map(Op::Eq).ok_or("`equals` takes a string"),
            ("in", toml::Value::Array(a)) => a
                .iter()
                .map(text)
                .collect::<Option<HashSet<String>>>()
                .map(Op::In)
                .ok_or("`in` takes a list of strings"),
            ("present", toml::Value::Boolean(true)) => Ok(Op::Present),
            ("matches", v) => match text(v).map(|r| Regex::new(&r)) {
                Some(Ok(r)) => Ok(Op::Regex(r)),
                Some(Err(e)) => {
                    self.errors.push(format!("{at}: invalid regex: {e}"));
                    return None;
                }
                None => Err("`matches` takes a regex as a string"),
            },
            ("glob", v) => match text(v).map(|g| glob_regex(&g)) {
                Some(Ok(r)) => Ok(Op::Regex(r)),
                Some(Err(e)) => {
                    self.errors.push(format!("{at}: invalid pattern: {e}"));
                    return None;
                }
                None => Err("`glob` takes a pattern as a string"),
            },
            ("in" | "present", _) => Err("`in` takes a list of strings; `present` takes true"),
            _ => Err("unknown operator (equals, in, present, matches, glob)"),
        };
        r.map_err(|m| self.errors.push(format!("{at}: {m}"))).ok()
    }

    fn service(&mut self, at: &str, s: &str) -> Option<u32> {
        let t = self.services.get(&s.to_lowercase()).copied();
        if t.is_none() {
            self.errors.push(format!("{at}: no service with the code or name `{s}`"));
        }
        t
    }

    fn cost_centre(&mut self, at: &str, s: &str) -> Option<u32> {
        let t = self.cost_centres.get(&s.to_lowercase()).copied();
        if t.is_none() {
            self.errors.push(format!("{at}: no cost centre with the code or name `{s}`"));
        }
        t
    }

    /// `cc:CODE`, `svc:CODE-or-name` or `pool:NAME`.
    fn output(&mut self, at: &str, r: &str, pools: &HashMap<String, usize>) -> Option<Output> {
        if let Some(c) = r.strip_prefix("cc:") {
            self.cost_centre(at, c).map(Output::Target)
        } else if let Some(s) = r.strip_prefix("svc:") {
            self.service(at, s).map(Output::Target)
        } else if let Some(p) = r.strip_prefix("pool:") {
            let o = pools.get(p).map(|i| Output::Pool(*i));
            if o.is_none() {
                self.errors.push(format!("{at}: no pool named `{p}`"));
            }
            o
        } else {
            self.errors.push(format!("{at}: `{r}` should be cc:CODE, svc:CODE or pool:NAME"));
            None
        }
    }

    fn rule(&mut self, level: &str, n: usize, doc: &RuleDoc) -> Option<Rule> {
        let at = format!("{level}[{n}]");
        let conds = self.conds(&at, &doc.when);
        let given = [&doc.service, &doc.cost_centre, &doc.service_from, &doc.cost_centre_from]
            .iter()
            .filter(|x| x.is_some())
            .count();
        if given != 1 {
            self.errors.push(format!(
                "{at}: give exactly one of service, cost_centre, service_from, cost_centre_from"
            ));
            return None;
        }
        let target = if let Some(s) = &doc.service {
            TargetSpec::Fixed(self.service(&at, s)?)
        } else if let Some(c) = &doc.cost_centre {
            TargetSpec::Fixed(self.cost_centre(&at, c)?)
        } else if let Some(f) = &doc.service_from {
            TargetSpec::ServiceFrom(self.field(&format!("{at}.service_from"), f)?)
        } else {
            let f = doc.cost_centre_from.as_deref().unwrap_or_default();
            TargetSpec::CostCentreFrom(self.field(&format!("{at}.cost_centre_from"), f)?)
        };
        let label = match &doc.name {
            Some(name) => format!("{level}:{name}"),
            None => format!("{level}#{}", n + 1),
        };
        let id = self.rule_labels.len() as u32;
        self.rule_labels.push(label);
        Some(Rule { id, conds, target })
    }
}

fn decimal(at: &str, s: &str, errors: &mut Vec<String>) -> Option<Decimal> {
    match s.trim().parse::<Decimal>() {
        Ok(d) if d > Decimal::ZERO => Some(d),
        _ => {
            errors.push(format!("{at}: `{s}` is not a positive number"));
            None
        }
    }
}

impl Rules {
    /// Compiles a rule set against the catalog of the period it allocates. Every problem is reported, each with
    /// where it is (`tag[2].when.team: …`).
    pub fn compile(doc: &RuleSetDoc, catalog: &Catalog) -> Result<Rules, Vec<String>> {
        let mut c = Compiler {
            errors: Vec::new(),
            tag_keys: TagKeys::new(&doc.tag_aliases),
            targets: Vec::new(),
            target_index: HashMap::new(),
            services: HashMap::new(),
            cost_centres: HashMap::new(),
            rule_labels: vec!["unallocated".to_string()],
            catalog,
        };
        if !is_billing_period(&doc.effective_from) {
            c.errors.push(format!("effective_from: `{}` is not a period (YYYY-MM)", doc.effective_from));
        }
        c.intern(Target::unallocated());
        for (code, name) in &catalog.cost_centres {
            let t = c.intern(Target { cost_centre: Some(code.clone()), service: None });
            c.cost_centres.insert(code.to_lowercase(), t);
            c.cost_centres.entry(name.to_lowercase()).or_insert(t);
        }
        for (code, name, cc) in &catalog.services {
            let t = c.intern(Target { cost_centre: Some(cc.clone()), service: Some(code.clone()) });
            c.services.insert(code.to_lowercase(), t);
            c.services.entry(name.to_lowercase()).or_insert(t);
        }
        let mut levels = Vec::new();
        for (name, docs) in [("ownership", &doc.ownership), ("tag", &doc.tag), ("default", &doc.default)] {
            let rules: Vec<Rule> = docs.iter().enumerate().filter_map(|(n, d)| c.rule(name, n, d)).collect();
            levels.push(Level::build(rules));
        }
        let pool_index: HashMap<String, usize> =
            doc.pool.iter().enumerate().map(|(i, p)| (p.name.clone(), i)).collect();
        if pool_index.len() != doc.pool.len() {
            c.errors.push("pool: two pools have the same name".to_string());
        }
        let mut pools = Vec::new();
        for (n, p) in doc.pool.iter().enumerate() {
            if let Some(pool) = compile_pool(&mut c, n, p, &pool_index) {
                pools.push(pool);
            }
        }
        let pool_order =
            if pools.len() == doc.pool.len() { pool_order(&pools, &mut c.errors) } else { Vec::new() };
        let mut journal = doc.journal.clone();
        if let Some(j) = &mut journal {
            // Named by code or name; the journal writes and compares the code.
            if let Some(t) = c.cost_centre("journal.provider_cost_centre", &j.provider_cost_centre)
                && let Some(code) = c.targets.get(t as usize).and_then(|t| t.cost_centre.clone())
            {
                j.provider_cost_centre = code;
            }
            if !j.gl_accounts.contains_key("default") {
                c.errors.push("journal.gl_accounts: a `default` account is needed".to_string());
            }
        }
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        let cost_centre_of = c
            .targets
            .iter()
            .map(|t| match &t.cost_centre {
                Some(cc) => c.cost_centres.get(&cc.to_lowercase()).copied().unwrap_or(0),
                None => 0,
            })
            .collect();
        Ok(Rules {
            name: doc.name.clone(),
            effective_from: doc.effective_from.clone(),
            dimensions: doc.dimensions.iter().map(|d| c.tag_keys.normalize(d)).collect(),
            tag_keys: c.tag_keys,
            levels,
            pools,
            pool_order,
            targets: c.targets,
            target_index: c.target_index,
            services: c.services,
            cost_centres: c.cost_centres,
            cost_centre_of,
            rule_labels: c.rule_labels,
            journal,
        })
    }

    pub fn tag_keys(&self) -> &TagKeys {
        &self.tag_keys
    }

    /// The normalized tag keys carried into the cube.
    pub fn dimensions(&self) -> &[String] {
        &self.dimensions
    }

    pub fn journal(&self) -> Option<&JournalDoc> {
        self.journal.as_ref()
    }

    pub fn target(&self, i: u32) -> &Target {
        &self.targets[i as usize]
    }

    pub fn target_id(&self, t: &Target) -> Option<u32> {
        self.target_index.get(t).copied()
    }

    pub fn rule_label(&self, i: u32) -> &str {
        &self.rule_labels[i as usize]
    }

    pub fn pool_name(&self, i: u32) -> &str {
        &self.pools[i as usize].name
    }

    fn resolve(&self, spec: &TargetSpec, line: &LineRef) -> Option<u32> {
        match spec {
            TargetSpec::Fixed(t) => Some(*t),
            TargetSpec::ServiceFrom(f) => self.services.get(&line.get(f)?.to_lowercase()).copied(),
            TargetSpec::CostCentreFrom(f) => self.cost_centres.get(&line.get(f)?.to_lowercase()).copied(),
        }
    }

    /// Where a line goes: a pool, or a target by the first matching rule of the first level that has one.
    pub fn classify(&self, line: &LineRef) -> Decision {
        for (i, p) in self.pools.iter().enumerate() {
            if p.conds.iter().all(|c| c.holds(line)) {
                return Decision::Pool(i as u32);
            }
        }
        for level in &self.levels {
            if let Some((target, rule)) = level.find(line, self) {
                return Decision::Target { target, rule };
            }
        }
        Decision::Target { target: 0, rule: UNALLOCATED_RULE }
    }

    /// [`Rules::classify`], remembering what values matched in `memo` (made by [`Memo::new`] for these rules).
    pub fn classify_with(&self, memo: &mut Memo, line: &LineRef) -> Decision {
        for (i, p) in self.pools.iter().enumerate() {
            if p.conds.iter().all(|c| c.holds(line)) {
                return Decision::Pool(i as u32);
            }
        }
        for (level, seen) in self.levels.iter().zip(memo.seen.iter_mut()) {
            if let Some((target, rule)) = level.find_memo(line, self, seen, &mut memo.cands) {
                return Decision::Target { target, rule };
            }
        }
        Decision::Target { target: 0, rule: UNALLOCATED_RULE }
    }
}

fn compile_pool(c: &mut Compiler, n: usize, p: &PoolDoc, pools: &HashMap<String, usize>) -> Option<Pool> {
    let at = format!("pool[{n}] ({})", p.name);
    let errors_before = c.errors.len();
    let conds = c.conds(&at, &p.when);
    let id = c.rule_labels.len() as u32;
    c.rule_labels.push(format!("pool:{}", p.name));
    let named = |c: &mut Compiler, refs: &[String]| -> Vec<Output> {
        refs.iter()
            .enumerate()
            .filter_map(|(i, r)| c.output(&format!("{at}.targets[{i}]"), r, pools))
            .collect()
    };
    let among = |c: &mut Compiler| -> Vec<Output> {
        match p.among.as_deref().unwrap_or("cost_centres") {
            "cost_centres" => {
                let mut v: Vec<u32> = c.cost_centres.values().copied().collect();
                v.sort_unstable();
                v.dedup();
                v.into_iter().map(Output::Target).collect()
            }
            "services" => {
                let mut v: Vec<u32> = c.services.values().copied().collect();
                v.sort_unstable();
                v.dedup();
                v.into_iter().map(Output::Target).collect()
            }
            other => {
                c.errors.push(format!("{at}.among: `{other}` (cost_centres or services)"));
                Vec::new()
            }
        }
    };
    let (method, outputs, weighting) = match p.split.as_str() {
        "even" => {
            let outputs = if p.targets.is_empty() { among(c) } else { named(c, &p.targets) };
            let w = vec![Decimal::ONE; outputs.len()];
            ("even".to_string(), outputs, Weighting::Fixed(w))
        }
        "proportional" => {
            let outputs = if p.targets.is_empty() { among(c) } else { named(c, &p.targets) };
            if outputs.iter().any(|o| matches!(o, Output::Pool(_))) {
                c.errors.push(format!(
                    "{at}: a proportional split cannot feed a pool (a pool has no direct cost)"
                ));
            }
            ("proportional".to_string(), outputs, Weighting::Proportional)
        }
        "fixed" => {
            if p.percentages.is_empty() {
                c.errors
                    .push(format!("{at}: a fixed split needs percentages = {{ \"cc:CODE\" = \"60\", … }}"));
            }
            let mut outputs = Vec::new();
            let mut w = Vec::new();
            let mut sum = Decimal::ZERO;
            let mut all_numbers = true;
            for (r, pct) in &p.percentages {
                let here = format!("{at}.percentages.{r}");
                let (o, d) = (c.output(&here, r, pools), decimal(&here, pct, &mut c.errors));
                // Summed whether or not the target is known: a wrong sum is reported beside an unknown target,
                // not only once that is put right.
                match d {
                    Some(d) => sum += d,
                    None => all_numbers = false,
                }
                if let (Some(o), Some(d)) = (o, d) {
                    outputs.push(o);
                    w.push(d);
                }
            }
            if !p.percentages.is_empty() && all_numbers && sum != Decimal::ONE_HUNDRED {
                c.errors.push(format!("{at}.percentages: they sum to {sum}%, not 100%"));
            }
            ("fixed".to_string(), outputs, Weighting::Fixed(w))
        }
        "driver" => {
            let driver = p.driver.clone().unwrap_or_default();
            let metric_only = p.targets.is_empty() && p.among.is_none() && driver.starts_with("metric:");
            // A metric's own series names its targets unless the pool narrows them.
            let candidates = if metric_only {
                Vec::new()
            } else if p.targets.is_empty() {
                among(c)
            } else {
                named(c, &p.targets)
            };
            let mut outputs = Vec::new();
            let mut w = Vec::new();
            if driver == "headcount" {
                for o in candidates {
                    let Output::Target(t) = o else {
                        c.errors.push(format!("{at}: a driver split cannot feed a pool"));
                        continue;
                    };
                    let cc = c.targets[t as usize].cost_centre.clone().unwrap_or_default();
                    let n = c.catalog.headcount.get(&cc).copied().unwrap_or(0);
                    if n > 0 {
                        outputs.push(o);
                        w.push(Decimal::from(n));
                    }
                }
            } else if let Some(metric) = driver.strip_prefix("metric:") {
                let series = c.catalog.metrics.get(metric).cloned().unwrap_or_default();
                let mut by_target: HashMap<u32, Decimal> = HashMap::new();
                for (r, v) in &series {
                    let key = r.to_lowercase();
                    match c.services.get(&key).or_else(|| c.cost_centres.get(&key)) {
                        Some(t) => *by_target.entry(*t).or_default() += *v,
                        None => c.errors.push(format!(
                            "{at}: the metric `{metric}` names `{r}`, which is no service or cost centre"
                        )),
                    }
                }
                let candidates = if metric_only {
                    let mut v: Vec<u32> = by_target.keys().copied().collect();
                    v.sort_unstable();
                    v.into_iter().map(Output::Target).collect()
                } else {
                    candidates
                };
                for o in candidates {
                    if let Output::Target(t) = o
                        && let Some(v) = by_target.get(&t)
                        && *v > Decimal::ZERO
                    {
                        outputs.push(o);
                        w.push(*v);
                    }
                }
            } else {
                c.errors.push(format!("{at}.driver: `{driver}` (headcount or metric:<name>)"));
            }
            (format!("driver:{driver}"), outputs, Weighting::Driver(w))
        }
        other => {
            c.errors.push(format!("{at}.split: `{other}` (even, proportional, fixed or driver)"));
            return None;
        }
    };
    if c.errors.len() > errors_before {
        return None;
    }
    Some(Pool { name: p.name.clone(), rule: id, method, conds, outputs, weighting })
}

/// Pools in an order where every pool comes before the pools it feeds; a cycle is an error naming it.
fn pool_order(pools: &[Pool], errors: &mut Vec<String>) -> Vec<usize> {
    // 0 = unvisited, 1 = on the stack, 2 = done
    fn visit(
        i: usize,
        pools: &[Pool],
        state: &mut [u8],
        stack: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), String> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let from = stack.iter().position(|&s| s == i).unwrap_or(0);
                let mut names: Vec<&str> = stack[from..].iter().map(|&s| pools[s].name.as_str()).collect();
                names.push(&pools[i].name);
                return Err(format!("pool: the pools feed each other in a cycle: {}", names.join(" → ")));
            }
            _ => {}
        }
        state[i] = 1;
        stack.push(i);
        for o in &pools[i].outputs {
            if let Output::Pool(q) = o {
                visit(*q, pools, state, stack, out)?;
            }
        }
        stack.pop();
        state[i] = 2;
        out.push(i);
        Ok(())
    }
    let mut state = vec![0u8; pools.len()];
    let mut out = Vec::new();
    for i in 0..pools.len() {
        if let Err(e) = visit(i, pools, &mut state, &mut Vec::new(), &mut out) {
            errors.push(e);
            return Vec::new();
        }
    }
    out.reverse(); // feeders first
    out
}

// ---------------------------------------------------------------------------------------------------------
// Allocating a period: direct lines aggregated into cube cells, then the pools split.

/// Money of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sums {
    pub billed: Decimal,
    pub effective: Decimal,
    pub lines: u64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.billed += o.billed;
        self.effective += o.effective;
        self.lines += o.lines;
    }
}

/// The cube's dimensions of a line, as interned strings: day, provider, account, service name, region, charge
/// category, free dimensions, service category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Dims([u32; 8]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CellKey {
    dims: Dims,
    target: u32,
    rule: u32,
    method: u32,
}

/// One cell of the cost cube.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CubeRow {
    pub day: String,
    pub provider: String,
    pub account: String,
    pub service_name: String,
    pub region: String,
    pub charge_category: String,
    pub service_category: String,
    /// The free dimensions, `key=value` joined by `;` in the rule set's order (absent keys left out).
    pub dims: String,
    pub target: Target,
    /// The rule or pool that put the money here.
    pub rule: String,
    /// `direct`, `provider:<AllocatedMethodId>` for lines a provider already split, or the pool's split
    /// method (`even`, `proportional`, `fixed`, `driver:headcount`, `driver:metric:<name>`, `no-basis`).
    pub method: String,
    pub sums: Sums,
}

/// A line's cost dimensions and money, beside its [`LineRef`].
#[derive(Debug, Clone, Copy)]
pub struct LineCost<'a> {
    pub day: &'a str,
    pub billed: Decimal,
    pub effective: Decimal,
    /// The provider's AllocatedMethodId when the provider already split this line.
    pub provider_split: Option<&'a str>,
}

#[derive(Debug, Default)]
struct Interner {
    map: FxHashMap<String, u32>,
    strings: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(i) = self.map.get(s) {
            return *i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.to_string());
        self.map.insert(s.to_string(), i);
        i
    }
}

/// Allocates one period: feed every line with [`Allocator::add`], then [`Allocator::finish`].
#[derive(Debug)]
pub struct Allocator<'r> {
    rules: &'r Rules,
    memo: Memo,
    strings: Interner,
    /// Per dimension slot, the id of the last value seen (bills repeat their day, account, region line after
    /// line: a comparison spares the hash).
    last: [u32; 8],
    cells: FxHashMap<CellKey, Sums>,
    pooled: Vec<FxHashMap<Dims, Sums>>,
    dims_buf: String,
    lines: u64,
}

impl<'r> Allocator<'r> {
    pub fn new(rules: &'r Rules) -> Allocator<'r> {
        let mut strings = Interner::default();
        strings.id("direct");
        Allocator {
            rules,
            memo: Memo::new(rules),
            strings,
            last: [0; 8],
            cells: FxHashMap::default(),
            pooled: (0..rules.pools.len()).map(|_| FxHashMap::default()).collect(),
            dims_buf: String::new(),
            lines: 0,
        }
    }

    /// Classifies a line (remembering what its values matched) and adds it to its cell; returns what happened
    /// to it.
    pub fn add(&mut self, line: &LineRef, cost: &LineCost) -> Decision {
        let decision = self.rules.classify_with(&mut self.memo, line);
        self.add_decided(line, cost, decision);
        decision
    }

    /// Adds a line whose decision is known (from [`Rules::classify`]).
    pub fn add_decided(&mut self, line: &LineRef, cost: &LineCost, decision: Decision) {
        self.lines += 1;
        self.dims_buf.clear();
        for k in &self.rules.dimensions {
            if let Some(v) = line.tag(k) {
                if !self.dims_buf.is_empty() {
                    self.dims_buf.push(';');
                }
                self.dims_buf.push_str(k);
                self.dims_buf.push('=');
                self.dims_buf.push_str(v);
            }
        }
        let free = std::mem::take(&mut self.dims_buf);
        let values = [
            cost.day,
            line.fields[Field::Provider as usize],
            line.fields[Field::Account as usize],
            line.fields[Field::ServiceName as usize],
            line.fields[Field::Region as usize],
            line.fields[Field::ChargeCategory as usize],
            free.as_str(),
            line.fields[Field::ServiceCategory as usize],
        ];
        let mut ids = [0u32; 8];
        for (slot, v) in values.iter().enumerate() {
            let last = self.last[slot];
            ids[slot] = if self.strings.strings[last as usize] == *v {
                last
            } else {
                let id = self.strings.id(v);
                self.last[slot] = id;
                id
            };
        }
        let dims = Dims(ids);
        self.dims_buf = free;
        let sums = Sums { billed: cost.billed, effective: cost.effective, lines: 1 };
        match decision {
            Decision::Pool(p) => self.pooled[p as usize].entry(dims).or_default().add(&sums),
            Decision::Target { target, rule } => {
                let method = match cost.provider_split {
                    Some(m) => self.strings.id(&format!("provider:{m}")),
                    None => 0,
                };
                self.cells.entry(CellKey { dims, target, rule, method }).or_default().add(&sums);
            }
        }
    }

    /// Lines added so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Splits the pools and returns the cube's cells, sorted.
    pub fn finish(mut self) -> Vec<CubeRow> {
        let rules = self.rules;
        // Direct cost per target, and per cost centre (its own and its services'), the proportional basis.
        let mut basis = vec![Decimal::ZERO; rules.targets.len()];
        for (k, s) in &self.cells {
            if k.target != 0 {
                basis[k.target as usize] += s.effective;
                let cc = rules.cost_centre_of[k.target as usize];
                if cc != k.target && cc != 0 {
                    basis[cc as usize] += s.effective;
                }
            }
        }
        for &p in &rules.pool_order {
            let pool = &rules.pools[p];
            let cells = std::mem::take(&mut self.pooled[p]);
            let weights: Vec<Decimal> = match &pool.weighting {
                Weighting::Fixed(w) | Weighting::Driver(w) => w.clone(),
                Weighting::Proportional => pool
                    .outputs
                    .iter()
                    .map(|o| match o {
                        Output::Target(t) => basis[*t as usize].max(Decimal::ZERO),
                        Output::Pool(_) => Decimal::ZERO,
                    })
                    .collect(),
            };
            let total: Decimal = weights.iter().sum();
            let method = self.strings.id(if total > Decimal::ZERO { &pool.method } else { "no-basis" });
            // The remainder goes to the largest weight, the first such by output order.
            let recipient =
                weights.iter().enumerate().fold(0, |best, (i, w)| if *w > weights[best] { i } else { best });
            let mut sorted: Vec<(Dims, Sums)> = cells.into_iter().collect();
            sorted.sort_by_key(|(d, _)| *d);
            for (dims, sums) in sorted {
                if total <= Decimal::ZERO {
                    let key = CellKey { dims, target: 0, rule: pool.rule, method };
                    self.cells.entry(key).or_default().add(&sums);
                    continue;
                }
                let billed = split(sums.billed, &weights, total, recipient);
                let effective = split(sums.effective, &weights, total, recipient);
                for (i, out) in pool.outputs.iter().enumerate() {
                    if weights[i] <= Decimal::ZERO {
                        continue;
                    }
                    let share = Sums {
                        billed: billed[i],
                        effective: effective[i],
                        lines: if i == recipient { sums.lines } else { 0 },
                    };
                    match out {
                        Output::Target(t) => {
                            let key = CellKey { dims, target: *t, rule: pool.rule, method };
                            self.cells.entry(key).or_default().add(&share);
                        }
                        Output::Pool(q) => self.pooled[*q].entry(dims).or_default().add(&share),
                    }
                }
            }
        }
        // Sorted by the values' text (day, target, rule, method, provider, account, service, region, charge
        // category, free dimensions, service category): each interned value's rank in text order stands for it,
        // so the sort compares integers.
        let st = &self.strings.strings;
        let string_rank = ranks(st.len(), |a, b| st[a].cmp(&st[b]));
        let target_rank = ranks(rules.targets.len(), |a, b| rules.targets[a].cmp(&rules.targets[b]));
        let rule_rank =
            ranks(rules.rule_labels.len(), |a, b| rules.rule_labels[a].cmp(&rules.rule_labels[b]));
        let mut cells: Vec<(CellKey, Sums)> = self.cells.into_iter().collect();
        cells.sort_by_cached_key(|(k, _)| {
            let d = |i: usize| string_rank[k.dims.0[i] as usize];
            [
                d(0),
                target_rank[k.target as usize],
                rule_rank[k.rule as usize],
                string_rank[k.method as usize],
                d(1),
                d(2),
                d(3),
                d(4),
                d(5),
                d(6),
                d(7),
            ]
        });
        let rows: Vec<CubeRow> = cells
            .into_iter()
            .map(|(k, sums)| CubeRow {
                day: st[k.dims.0[0] as usize].clone(),
                provider: st[k.dims.0[1] as usize].clone(),
                account: st[k.dims.0[2] as usize].clone(),
                service_name: st[k.dims.0[3] as usize].clone(),
                region: st[k.dims.0[4] as usize].clone(),
                charge_category: st[k.dims.0[5] as usize].clone(),
                dims: st[k.dims.0[6] as usize].clone(),
                service_category: st[k.dims.0[7] as usize].clone(),
                target: rules.targets[k.target as usize].clone(),
                rule: rules.rule_labels[k.rule as usize].clone(),
                method: st[k.method as usize].clone(),
                sums,
            })
            .collect();
        rows
    }
}

/// Each of `n` items' rank in the order `cmp` gives; equal items share a rank.
fn ranks(n: usize, cmp: impl Fn(usize, usize) -> std::cmp::Ordering) -> Vec<u32> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    let mut rank = vec![0u32; n];
    let mut r = 0u32;
    for (i, &item) in order.iter().enumerate() {
        if i > 0 && cmp(order[i - 1], item) != std::cmp::Ordering::Equal {
            r += 1;
        }
        rank[item] = r;
    }
    rank
}

/// Splits `amount` by `weights` (summing to `total` > 0): each share rounded to [`SPLIT_DP`] places, the
/// recipient taking what is left, so the shares sum to `amount` exactly.
pub fn split(amount: Decimal, weights: &[Decimal], total: Decimal, recipient: usize) -> Vec<Decimal> {
    let mut shares = vec![Decimal::ZERO; weights.len()];
    let mut given = Decimal::ZERO;
    for (i, w) in weights.iter().enumerate() {
        if i == recipient || *w <= Decimal::ZERO {
            continue;
        }
        let exact = amount
            .checked_mul(*w)
            .and_then(|x| x.checked_div(total))
            .unwrap_or_else(|| amount * (*w / total));
        let s = exact.round_dp(SPLIT_DP);
        shares[i] = s;
        given += s;
    }
    shares[recipient] = amount - given;
    shares
}

#[cfg(test)]
mod tests;
