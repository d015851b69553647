use super::*;
use proptest::prelude::*;
use std::str::FromStr;

fn catalog() -> Catalog {
    Catalog {
        cost_centres: vec![
            ("CC-1".into(), "Platform".into()),
            ("CC-2".into(), "Payments".into()),
            ("CC-3".into(), "Data".into()),
        ],
        services: vec![
            ("SVC-WEB".into(), "Customer Portal".into(), "CC-1".into()),
            ("SVC-PAY".into(), "Payments API".into(), "CC-2".into()),
            ("SVC-DWH".into(), "Data Warehouse".into(), "CC-3".into()),
        ],
        headcount: HashMap::from([("CC-1".into(), 10), ("CC-2".into(), 30), ("CC-3".into(), 0)]),
        metrics: HashMap::from([(
            "cpu-hours".into(),
            vec![("SVC-WEB".into(), Decimal::from(300)), ("payments api".into(), Decimal::from(100))],
        )]),
    }
}

fn rules(toml_text: &str) -> Rules {
    let doc = parse_rule_set(toml_text).unwrap();
    Rules::compile(&doc, &catalog()).unwrap()
}

fn errors(toml_text: &str) -> Vec<String> {
    let doc = parse_rule_set(toml_text).unwrap();
    Rules::compile(&doc, &catalog()).unwrap_err()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

struct L {
    fields: [&'static str; FIELD_COUNT],
    tags: Vec<(String, String)>,
}

fn line(account: &str, tags: &[(&str, &str)], keys: &TagKeys) -> L {
    let mut fields = [""; FIELD_COUNT];
    fields[Field::Account as usize] = Box::leak(account.to_string().into_boxed_str());
    fields[Field::Provider as usize] = "AWS";
    let mut t = Vec::new();
    keys.normalize_into(tags.iter().copied(), &mut t);
    L { fields, tags: t }
}

impl L {
    fn r(&self) -> LineRef<'_> {
        LineRef { fields: self.fields, tags: &self.tags }
    }
}

fn label(r: &Rules, dec: Decision) -> (String, String) {
    match dec {
        Decision::Target { target, rule } => (r.target(target).key(), r.rule_label(rule).to_string()),
        Decision::Pool(p) => ("pool".into(), r.pool_name(p).to_string()),
    }
}

const PRECEDENCE: &str = r#"
name = "t"
effective_from = "2026-01"
[tag_aliases]
cost_centre = ["CostCenter", "cost-center", "costcentre"]
[[ownership]]
when = { account = "111" }
service = "Payments API"
[[tag]]
when = { "tag:team" = "web" }
service = "SVC-WEB"
[[tag]]
name = "cc tag"
when = { "tag:cost_centre" = { present = true } }
cost_centre_from = "tag:cost_centre"
[[default]]
when = { account = "222" }
cost_centre = "CC-3"
"#;

#[test]
fn levels_apply_in_precedence_and_untouched_lines_are_unallocated() {
    let r = rules(PRECEDENCE);
    let k = r.tag_keys();
    // Ownership beats a matching tag.
    assert_eq!(
        label(&r, r.classify(&line("111", &[("team", "web")], k).r())),
        ("svc:SVC-PAY".into(), "ownership#1".into())
    );
    // A tag rule beats the account's default.
    assert_eq!(
        label(&r, r.classify(&line("222", &[("team", "web")], k).r())),
        ("svc:SVC-WEB".into(), "tag#1".into())
    );
    assert_eq!(label(&r, r.classify(&line("222", &[], k).r())), ("cc:CC-3".into(), "default#1".into()));
    assert_eq!(label(&r, r.classify(&line("333", &[], k).r())), ("unallocated".into(), "unallocated".into()));
}

#[test]
fn tag_keys_are_normalized_case_insensitively_with_aliases() {
    let r = rules(PRECEDENCE);
    let k = r.tag_keys();
    for key in ["CostCenter", "cost-center", "COSTCENTRE", "Cost_Centre"] {
        let l = line("333", &[(key, "cc-2")], k);
        assert_eq!(label(&r, r.classify(&l.r())), ("cc:CC-2".into(), "tag:cc tag".into()), "{key}");
    }
    // A value naming no cost centre falls through to the next level, here to Unallocated.
    let l = line("333", &[("CostCenter", "cc-9999")], k);
    assert_eq!(label(&r, r.classify(&l.r())).0, "unallocated");
    // By name, too.
    let l = line("333", &[("costcentre", "Data")], k);
    assert_eq!(label(&r, r.classify(&l.r())).0, "cc:CC-3");
}

#[test]
fn a_key_is_its_canonical_spelling_exactly_as_normalized() {
    let none = TagKeys::new(&BTreeMap::new());
    // Without aliases: any case, non-ASCII letters too.
    assert!(none.is("Équipe", &none.normalize("Équipe")));
    assert!(none.is("TEAM", "team") && !none.is("team-x", "team"));
    // Aliases are not chained: `a` is `b`, `b` is `c`, so `B` is `c` and not `b`, as allocation reads it.
    let aliases: BTreeMap<String, Vec<String>> =
        [("b".to_string(), vec!["a".to_string()]), ("c".to_string(), vec!["b".to_string()])].into();
    let k = TagKeys::new(&aliases);
    let want = k.normalize("a");
    assert_eq!(want, "b");
    assert!(k.is("A", &want));
    assert!(!k.is("B", &want));
    assert!(k.is("B", "c"));
}

#[test]
fn first_match_wins_within_a_level_whether_indexed_or_scanned() {
    let r = rules(
        r#"
name = "t"
effective_from = "2026-01"
[[tag]]
when = { "tag:app" = { matches = "^pay" } }
service = "SVC-PAY"
[[tag]]
when = { "tag:app" = "payroll" }
service = "SVC-DWH"
[[tag]]
when = { "tag:env" = { in = ["prod", "staging"] } }
service = "SVC-WEB"
[[tag]]
when = { "tag:env" = "prod", "tag:app" = "web" }
service = "SVC-DWH"
[[ownership]]
when = { resource_id = { glob = "arn:aws:rds:*:db-pay-*" } }
service = "SVC-PAY"
"#,
    );
    let k = r.tag_keys();
    // The scanned regex rule (first) beats the indexed equality (second).
    assert_eq!(label(&r, r.classify(&line("1", &[("app", "payroll")], k).r())).1, "tag#1");
    // The indexed set rule (third) beats the later scanned two-condition rule (fourth).
    assert_eq!(label(&r, r.classify(&line("1", &[("env", "prod"), ("app", "web")], k).r())).1, "tag#3");
    let mut l = line("1", &[], k);
    l.fields[Field::ResourceId as usize] = "arn:aws:rds:eu-west-1:db-pay-7";
    assert_eq!(label(&r, r.classify(&l.r())), ("svc:SVC-PAY".into(), "ownership#1".into()));
    l.fields[Field::ResourceId as usize] = "arn:aws:rds:eu-west-1:db-web-7";
    assert_eq!(label(&r, r.classify(&l.r())).0, "unallocated");
}

#[test]
fn compile_errors_say_where_and_why() {
    let e = errors(
        r#"
name = "t"
effective_from = "2026-13"
[[ownership]]
when = { acount = "1" }
service = "Nope"
[[tag]]
when = { "tag:x" = { matches = "(" } }
cost_centre = "CC-1"
[[tag]]
when = { "tag:x" = { equal = "y" } }
cost_centre = "CC-1"
service = "SVC-WEB"
[[pool]]
name = "p"
when = { provider = "AWS" }
split = "fixed"
percentages = { "cc:CC-1" = "60", "cc:CC-2" = "30" }
"#,
    );
    let all = e.join("\n");
    for want in [
        "effective_from: `2026-13` is not a period",
        "ownership[0].when.acount: unknown field `acount`",
        "ownership[0]: no service with the code or name `Nope`",
        "tag[0].when.tag:x: invalid regex",
        "tag[1].when.tag:x: unknown operator",
        "tag[1]: give exactly one of service, cost_centre",
        "pool[0] (p).percentages: they sum to 90%, not 100%",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
    // A wrong sum beside an unknown target: both, at once.
    let e = errors(
        r#"
name = "t"
effective_from = "2026-01"
[[pool]]
name = "p"
when = { provider = "AWS" }
split = "fixed"
percentages = { "cc:CC-1" = "60", "cc:CC-9999" = "30" }
"#,
    );
    let all = e.join("\n");
    assert!(all.contains("CC-9999") && all.contains("they sum to 90%, not 100%"), "{all}");
}

#[test]
fn a_cycle_of_pools_is_refused_with_the_cycle_named() {
    let e = errors(
        r#"
name = "t"
effective_from = "2026-01"
[[pool]]
name = "a"
when = { provider = "A" }
split = "even"
targets = ["pool:b", "cc:CC-1"]
[[pool]]
name = "b"
when = { provider = "B" }
split = "fixed"
percentages = { "pool:c" = "50", "cc:CC-2" = "50" }
[[pool]]
name = "c"
when = { provider = "C" }
split = "even"
targets = ["pool:a"]
"#,
    );
    assert_eq!(e, vec!["pool: the pools feed each other in a cycle: a → b → c → a".to_string()]);
}

fn cost(day: &'static str, billed: &str, effective: &str) -> LineCost<'static> {
    LineCost { day, billed: d(billed), effective: d(effective), provider_split: None }
}

fn totals(rows: &[CubeRow]) -> BTreeMap<String, (Decimal, Decimal, u64)> {
    let mut m = BTreeMap::new();
    for r in rows {
        let e = m.entry(r.target.key()).or_insert((Decimal::ZERO, Decimal::ZERO, 0));
        e.0 += r.sums.billed;
        e.1 += r.sums.effective;
        e.2 += r.sums.lines;
    }
    m
}

const POOLS: &str = r#"
name = "t"
effective_from = "2026-01"
[[ownership]]
when = { account = "web" }
service = "SVC-WEB"
[[ownership]]
when = { account = "pay" }
service = "SVC-PAY"
[[pool]]
name = "support"
when = { service_name = "Support" }
split = "proportional"
[[pool]]
name = "shared"
when = { service_name = "Shared" }
split = "fixed"
percentages = { "pool:cluster" = "50", "cc:CC-3" = "50" }
[[pool]]
name = "cluster"
when = { service_name = "Cluster" }
split = "driver"
driver = "metric:cpu-hours"
[[pool]]
name = "people"
when = { service_name = "Laptops" }
split = "driver"
driver = "headcount"
[[pool]]
name = "nobody"
when = { service_name = "Orphan" }
split = "proportional"
targets = ["cc:CC-3"]
"#;

#[test]
fn pools_split_by_their_methods_exactly_and_feed_each_other() {
    let r = rules(POOLS);
    let mut a = Allocator::new(&r);
    let k = r.tag_keys();
    let add = |a: &mut Allocator, acct: &str, svc: &'static str, amount: &str| {
        let mut l = line(acct, &[], k);
        l.fields[Field::ServiceName as usize] = svc;
        a.add(&l.r(), &cost("2026-01-01", amount, amount));
    };
    add(&mut a, "web", "EC2", "300"); // CC-1 direct 300
    add(&mut a, "pay", "EC2", "100"); // CC-2 direct 100
    add(&mut a, "x", "Support", "40"); // proportional to cost centres: CC-1 30, CC-2 10
    add(&mut a, "x", "Shared", "100"); // 50 to CC-3, 50 into the cluster pool
    add(&mut a, "x", "Cluster", "10"); // with the 50: 60 by cpu-hours, WEB 300 : PAY 100 → 45 / 15
    add(&mut a, "x", "Laptops", "1"); // headcount CC-1 10, CC-2 30 (CC-3 has none) → 0.25 / 0.75
    add(&mut a, "x", "Orphan", "7"); // CC-3 has no direct cost: no basis → Unallocated
    add(&mut a, "x", "Other", "2"); // no rule → Unallocated
    let rows = a.finish();
    let t = totals(&rows);
    let eff = |k: &str| t.get(k).map(|x| x.1).unwrap_or_default();
    assert_eq!(eff("svc:SVC-WEB"), d("345"));
    assert_eq!(eff("svc:SVC-PAY"), d("115"));
    assert_eq!(eff("cc:CC-1"), d("30.25"));
    assert_eq!(eff("cc:CC-2"), d("10.75"));
    assert_eq!(eff("cc:CC-3"), d("50"));
    assert_eq!(eff("unallocated"), d("9"));
    let sum: Decimal = t.values().map(|x| x.1).sum();
    assert_eq!(sum, d("560"));
    assert_eq!(t.values().map(|x| x.2).sum::<u64>(), 8, "every line counted once");
    let orphan = rows.iter().find(|r| r.rule == "pool:nobody").unwrap();
    assert_eq!((orphan.target.key().as_str(), orphan.method.as_str()), ("unallocated", "no-basis"));
    let cluster: Vec<&CubeRow> = rows.iter().filter(|r| r.rule == "pool:cluster").collect();
    assert!(cluster.iter().all(|r| r.method == "driver:metric:cpu-hours" && r.service_name == "Cluster"
        || r.service_name == "Shared"));
}

#[test]
fn a_split_that_does_not_divide_keeps_every_digit_and_gives_the_remainder_deterministically() {
    let w = [Decimal::ONE, Decimal::ONE, Decimal::ONE];
    let s = split(d("100"), &w, d("3"), 0);
    assert_eq!(s, vec![d("33.3333333334"), d("33.3333333333"), d("33.3333333333")]);
    assert_eq!(s.iter().sum::<Decimal>(), d("100"));
    let s = split(d("-0.01"), &[d("2"), d("1")], d("3"), 0);
    assert_eq!(s.iter().sum::<Decimal>(), d("-0.01"));
}

// --- properties --------------------------------------------------------------------------------------------

const ACCOUNTS: &[&str] = &["a1", "a2", "a3", "a4"];
const SERVICES: &[&str] = &["EC2", "S3", "Support", "Cluster", "Tax", "Egress"];
const TEAMS: &[&str] = &["web", "pay", "data", "nobody"];

#[derive(Debug, Clone)]
struct GenLine {
    account: usize,
    service: usize,
    team: Option<usize>,
    cc_tag: Option<usize>,
    day: u8,
    billed: i64,
    effective: i64,
    scale: u32,
}

fn gen_line() -> impl Strategy<Value = GenLine> {
    (
        0..ACCOUNTS.len(),
        0..SERVICES.len(),
        proptest::option::of(0..TEAMS.len()),
        proptest::option::of(0..4usize),
        1u8..29,
        -1_000_000_000i64..1_000_000_000,
        -1_000_000_000i64..1_000_000_000,
        0u32..12,
    )
        .prop_map(|(account, service, team, cc_tag, day, billed, effective, scale)| GenLine {
            account,
            service,
            team,
            cc_tag,
            day,
            billed,
            effective,
            scale,
        })
}

/// A random rule set over the generated vocabulary: some ownership, tag and default rules, and pools of every
/// method, some feeding others (never in a cycle: a pool only feeds pools declared after it).
fn gen_rules() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec((0..ACCOUNTS.len(), 0..3usize), 0..3),
        proptest::collection::vec((0..TEAMS.len(), 0..3usize), 0..4),
        any::<bool>(),
        proptest::collection::vec((0..SERVICES.len(), 0..5usize, any::<bool>()), 0..4),
    )
        .prop_map(|(own, tags, cc_from, pools)| {
            let svc = ["SVC-WEB", "SVC-PAY", "SVC-DWH"];
            let mut t = String::from("name = \"p\"\neffective_from = \"2026-01\"\n");
            for (a, s) in own {
                t += &format!("[[ownership]]\nwhen = {{ account = \"{}\" }}\nservice = \"{}\"\n", ACCOUNTS[a], svc[s]);
            }
            for (team, s) in tags {
                t += &format!("[[tag]]\nwhen = {{ \"tag:team\" = \"{}\" }}\nservice = \"{}\"\n", TEAMS[team], svc[s]);
            }
            if cc_from {
                t += "[[tag]]\nwhen = { \"tag:cc\" = { present = true } }\ncost_centre_from = \"tag:cc\"\n";
            }
            t += "[[default]]\nwhen = { account = \"a4\" }\ncost_centre = \"CC-1\"\n";
            let n = pools.len();
            for (i, (service, method, feed)) in pools.into_iter().enumerate() {
                t += &format!("[[pool]]\nname = \"p{i}\"\nwhen = {{ service_name = \"{}\" }}\n", SERVICES[service]);
                let next = (feed && i + 1 < n).then(|| format!("pool:p{}", i + 1));
                t += &match (method, next) {
                    (0, Some(p)) => format!("split = \"even\"\ntargets = [\"{p}\", \"cc:CC-2\", \"svc:SVC-DWH\"]\n"),
                    (0, None) => "split = \"even\"\n".into(),
                    (1, _) => "split = \"proportional\"\n".into(),
                    (2, Some(p)) => format!("split = \"fixed\"\npercentages = {{ \"{p}\" = \"33.3\", \"cc:CC-1\" = \"66.7\" }}\n"),
                    (2, None) => "split = \"fixed\"\npercentages = { \"cc:CC-1\" = \"12.5\", \"svc:SVC-PAY\" = \"87.5\" }\n".into(),
                    (3, _) => "split = \"driver\"\ndriver = \"headcount\"\n".into(),
                    _ => "split = \"driver\"\ndriver = \"metric:cpu-hours\"\namong = \"services\"\n".into(),
                };
            }
            t
        })
}

fn allocate(r: &Rules, lines: &[GenLine]) -> Vec<CubeRow> {
    let mut a = Allocator::new(r);
    let days: Vec<String> = (1..29).map(|d| format!("2026-01-{d:02}")).collect();
    let ccs = ["CC-1", "cc-2", "Data", "CC-404"];
    let mut tags = Vec::new();
    for g in lines {
        let mut fields = [""; FIELD_COUNT];
        fields[Field::Account as usize] = ACCOUNTS[g.account];
        fields[Field::ServiceName as usize] = SERVICES[g.service];
        fields[Field::Provider as usize] = "AWS";
        let mut raw: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = g.team {
            raw.push(("Team", TEAMS[t]));
        }
        if let Some(c) = g.cc_tag {
            raw.push(("cc", ccs[c]));
        }
        r.tag_keys().normalize_into(raw, &mut tags);
        let c = LineCost {
            day: &days[g.day as usize - 1],
            billed: Decimal::new(g.billed, g.scale),
            effective: Decimal::new(g.effective, g.scale),
            provider_split: None,
        };
        a.add(&LineRef { fields, tags: &tags }, &c);
    }
    a.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Conservation: whatever the rules and pools, the targets (Unallocated included) hold exactly the lines'
    /// billed and effective cost, and every line is counted once.
    #[test]
    fn allocation_conserves_money_and_lines(rules_text in gen_rules(), lines in proptest::collection::vec(gen_line(), 0..200)) {
        let r = rules(&rules_text);
        let rows = allocate(&r, &lines);
        let billed: Decimal = lines.iter().map(|g| Decimal::new(g.billed, g.scale)).sum();
        let effective: Decimal = lines.iter().map(|g| Decimal::new(g.effective, g.scale)).sum();
        prop_assert_eq!(rows.iter().map(|r| r.sums.billed).sum::<Decimal>(), billed);
        prop_assert_eq!(rows.iter().map(|r| r.sums.effective).sum::<Decimal>(), effective);
        prop_assert_eq!(rows.iter().map(|r| r.sums.lines).sum::<u64>(), lines.len() as u64);
        // Per day as well: a pool's split keeps the line's dimensions.
        for day in 1..29u8 {
            let name = format!("2026-01-{day:02}");
            let src: Decimal = lines.iter().filter(|g| g.day == day).map(|g| Decimal::new(g.effective, g.scale)).sum();
            let got: Decimal = rows.iter().filter(|r| r.day == name).map(|r| r.sums.effective).sum();
            prop_assert_eq!(got, src);
        }
    }

    /// Determinism: the order lines arrive in changes nothing.
    #[test]
    fn allocation_does_not_depend_on_line_order(rules_text in gen_rules(), lines in proptest::collection::vec(gen_line(), 0..100)) {
        let r = rules(&rules_text);
        let forward = allocate(&r, &lines);
        // Cells come sorted by their text: day, target, rule, method, provider, account, service, region,
        // charge category, free dimensions, service category.
        let text = |c: &CubeRow| {
            (c.day.clone(), c.target.clone(), c.rule.clone(), c.method.clone(), c.provider.clone(), c.account.clone(),
             c.service_name.clone(), c.region.clone(), c.charge_category.clone(), c.dims.clone(), c.service_category.clone())
        };
        prop_assert!(forward.windows(2).all(|w| text(&w[0]) < text(&w[1])));
        let mut rev = lines.clone();
        rev.reverse();
        prop_assert_eq!(forward, allocate(&r, &rev));
    }
}

/// Rules of every shape a level holds: hash-indexed equalities, single-field patterns (remembered per value),
/// multi-field rules (tested line by line), targets read from a tag that may name nothing, spread over levels.
fn gen_pattern_rules() -> impl Strategy<Value = String> {
    proptest::collection::vec((0..3usize, 0..7usize, 0..4usize), 1..12).prop_map(|rules| {
        let svc = ["SVC-WEB", "SVC-PAY", "SVC-DWH", "Data Warehouse"];
        let mut t = String::from("name = \"m\"\neffective_from = \"2026-01\"\n");
        for (level, kind, k) in rules {
            let level = ["ownership", "tag", "default"][level];
            t += &format!("[[{level}]]\n");
            t += &match kind {
                0 => format!("when = {{ account = \"{}\" }}\nservice = \"{}\"\n", ACCOUNTS[k], svc[k]),
                1 => format!("when = {{ \"tag:team\" = {{ matches = \"^{}\" }} }}\ncost_centre = \"CC-{}\"\n", &TEAMS[k][..1], k % 3 + 1),
                2 => format!("when = {{ account = {{ glob = \"a{}*\" }}, \"tag:team\" = {{ present = true }} }}\ncost_centre = \"CC-2\"\n", k),
                3 => format!("when = {{ \"tag:team\" = {{ in = [\"{}\", \"{}\"] }} }}\nservice = \"{}\"\n", TEAMS[k], TEAMS[(k + 1) % 4], svc[k]),
                4 => "when = { \"tag:cc\" = { present = true } }\ncost_centre_from = \"tag:cc\"\n".into(),
                5 => format!("when = {{ service_name = {{ matches = \"^{}\" }} }}\nservice = \"{}\"\n", &SERVICES[k][..1], svc[k]),
                _ => format!("when = {{ \"tag:team\" = {{ glob = \"*{}*\" }} }}\nservice_from = \"tag:team\"\n", &TEAMS[k][1..2]),
            };
        }
        t
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Remembering what values matched never changes a decision: with one memo over many lines, every line is
    /// classified as the plain, line-by-line evaluation classifies it.
    #[test]
    fn remembered_classification_agrees_with_plain(rules_text in gen_pattern_rules(), lines in proptest::collection::vec(gen_line(), 1..120)) {
        let r = rules(&rules_text);
        let mut memo = Memo::new(&r);
        let ccs = ["CC-1", "cc-2", "Data", "CC-404"];
        let mut tags = Vec::new();
        for g in &lines {
            let mut fields = [""; FIELD_COUNT];
            fields[Field::Account as usize] = ACCOUNTS[g.account];
            fields[Field::ServiceName as usize] = SERVICES[g.service];
            let mut raw: Vec<(&str, &str)> = Vec::new();
            if let Some(t) = g.team {
                raw.push(("team", TEAMS[t]));
            }
            if let Some(c) = g.cc_tag {
                raw.push(("cc", ccs[c]));
            }
            r.tag_keys().normalize_into(raw, &mut tags);
            let l = LineRef { fields, tags: &tags };
            prop_assert_eq!(r.classify_with(&mut memo, &l), r.classify(&l), "{:?}", g);
        }
    }
}

#[test]
fn the_journal_names_the_providers_cost_centre_by_its_code() {
    // Named by its name (any case) in the rule set, the provider's cost centre is written and compared by code.
    for given in ["Platform", "platform", "CC-1", "cc-1"] {
        let r = rules(&format!(
            "name = \"x\"\neffective_from = \"2026-01\"\n[journal]\nprovider_cost_centre = \"{given}\"\n\
             credit_account = \"7990\"\n[journal.gl_accounts]\ndefault = \"7900\"\n"
        ));
        assert_eq!(r.journal().map(|j| j.provider_cost_centre.as_str()), Some("CC-1"), "{given}");
    }
}
