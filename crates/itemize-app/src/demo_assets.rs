//! The demo's asset register: about 3,000 hardware assets across the demo organisation's sites, generated
//! from its people as one itemize-format asset file, plus the steps a real estate's history is made of —
//! repairs, thefts, loans, retirements and certified disposals, contracts, relationships and audits — which
//! the demo loader replays through the ordinary use cases.
//!
//! Pure and deterministic like the rest of the demo: the same (seed, as of, people) gives the same text and
//! steps. References in the steps are by natural key (tag, employee id, location or cost-centre code,
//! service name, vendor name); the loader resolves them to ids.

use crate::demo_gen::{Csv, Rng, SERVICES};
use jiff::Span;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The asset file's header, in itemize's own columns.
pub(crate) const HEADER: &str = "tag,name,class,model,manufacturer,serial,hostname,resource_id,purchase_date,\
purchase_cost,currency,po_number,invoice_number,depreciation_method,useful_life_months,warranty_end,end_of_life,\
location,cost_centre,vendor,assignee,service,state,notes,custom.os";

/// The AWS instances of the demo bills that the register tracks as cloud-resource assets: (resource id, name,
/// service). Each id appears in the demo's AWS bill, so the asset's ledger cost is real.
pub(crate) const CLOUD_RESOURCES: &[(&str, &str, &str)] = &[
    ("i-0a4f1c9e2b7d30011", "k8s-prod-node-pool-a", "Kubernetes Platform"),
    ("i-0b7e2d4a9c1f50022", "portal-web-prod", "Customer Portal"),
    ("i-0c1d8e3f6a2b40033", "payments-api-prod", "Payments API"),
    ("i-0d9a7b5c3e1f20044", "search-indexer-prod", "Search Service"),
    ("i-02b4d6f8a0c1e0088", "dwh-etl-prod", "Data Warehouse"),
    ("i-03c5e7a9b1d3f0099", "ml-training-gpu", "Machine Learning Platform"),
];

/// What the loader does after importing the asset file, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// A lifecycle transition (body as the API takes it, with `assignee`/`location`/`service` natural keys).
    Transition {
        tag: String,
        body: Value,
    },
    CheckOut {
        tag: String,
        body: Value,
    },
    CheckIn {
        tag: String,
        body: Value,
    },
    Cost {
        tag: String,
        body: Value,
    },
    /// A relationship from `tag` (body with `to_asset` as a tag or `to_service` as a service name).
    Relation {
        tag: String,
        body: Value,
    },
    /// A contract (body with `vendor`, `cost_centre` and `owner` natural keys) covering `tags`; archived once
    /// registered when `archive` (a contract that ended and was cancelled).
    Contract {
        body: Value,
        tags: Vec<String>,
        archive: bool,
    },
    /// An audit of `location`: every expected asset scanned but `missing` of them, plus `extra` scans (an
    /// asset found elsewhere, an unknown label), then closed marking the unfound missing; or, when not
    /// `close`, half of them scanned and the audit left open.
    Audit {
        location: &'static str,
        missing: usize,
        extra: Vec<String>,
        close: bool,
    },
}

/// The generated register.
pub(crate) struct AssetDemo {
    /// The asset file, in [`HEADER`]'s columns.
    pub csv: String,
    /// The register's settings: custom fields and the required-field policy.
    pub settings: Value,
    pub steps: Vec<Step>,
}

/// One person of the demo's people file.
struct Staff {
    id: String,
    title: String,
    cc: String,
    location: String,
    leaver: bool,
    leave_date: Option<Date>,
}

fn read_staff(people_csv: &str) -> Vec<Staff> {
    let mut rdr = csv::Reader::from_reader(people_csv.as_bytes());
    let header: Vec<String> =
        rdr.headers().map(|h| h.iter().map(str::to_string).collect()).unwrap_or_default();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or(usize::MAX);
    let (id, title, cc, loc, status, leave) = (
        col("employee_id"),
        col("job_title"),
        col("cost_centre_code"),
        col("location_code"),
        col("status"),
        col("leave_date"),
    );
    rdr.records()
        .flatten()
        .map(|r| {
            let get = |i: usize| r.get(i).unwrap_or_default().to_string();
            Staff {
                id: get(id),
                title: get(title),
                cc: get(cc),
                location: get(loc),
                leaver: get(status) == "leaver",
                leave_date: get(leave).parse().ok(),
            }
        })
        .collect()
}

/// A model the organisation buys: list price in USD (whole dollars), useful life and warranty in months.
#[derive(Clone, Copy)]
struct Model {
    class: &'static str,
    make: &'static str,
    name: &'static str,
    vendor: &'static str,
    price: u32,
    life: u32,
    warranty: u32,
}

const fn m(
    class: &'static str,
    make: &'static str,
    name: &'static str,
    vendor: &'static str,
    price: u32,
    life: u32,
    warranty: u32,
) -> Model {
    Model { class, make, name, vendor, price, life, warranty }
}

// Laptops: current and previous generation of each family.
const MBP: [Model; 2] = [
    m("laptop", "Apple", "MacBook Pro 14 (M3 Pro)", "Apple", 2499, 48, 36),
    m("laptop", "Apple", "MacBook Pro 14 (M1 Pro)", "Apple", 2299, 48, 36),
];
const AIR: [Model; 2] = [
    m("laptop", "Apple", "MacBook Air 13 (M3)", "Apple", 1299, 48, 36),
    m("laptop", "Apple", "MacBook Air 13 (M1)", "Apple", 999, 48, 36),
];
const LATITUDE: [Model; 2] = [
    m("laptop", "Dell", "Latitude 7440", "Dell Technologies", 1689, 48, 36),
    m("laptop", "Dell", "Latitude 7420", "Dell Technologies", 1599, 48, 36),
];
const THINKPAD: [Model; 2] = [
    m("laptop", "Lenovo", "ThinkPad T14 Gen 4", "Lenovo", 1449, 48, 36),
    m("laptop", "Lenovo", "ThinkPad T14 Gen 2", "Lenovo", 1389, 48, 36),
];
const ELITEBOOK: [Model; 2] = [
    m("laptop", "HP", "EliteBook 840 G10", "HP Inc.", 1549, 48, 36),
    m("laptop", "HP", "EliteBook 840 G8", "HP Inc.", 1479, 48, 36),
];
const MAC_STUDIO: Model = m("desktop", "Apple", "Mac Studio (M2 Max)", "Apple", 2199, 60, 36);
const PRECISION: Model = m("desktop", "Dell", "Precision 3660 Tower", "Dell Technologies", 2349, 60, 36);
const OPTIPLEX: Model = m("desktop", "Dell", "OptiPlex 7010 Micro", "Dell Technologies", 899, 60, 36);
const MONITOR: [Model; 2] = [
    m("peripheral", "Dell", "UltraSharp U2723QE", "Dell Technologies", 579, 60, 36),
    m("peripheral", "Dell", "UltraSharp U2720Q", "Dell Technologies", 549, 60, 36),
];
const IPHONE: [Model; 2] = [
    m("mobile", "Apple", "iPhone 15", "Apple", 799, 24, 12),
    m("mobile", "Apple", "iPhone 13", "Apple", 699, 24, 12),
];
const SERVER: [Model; 2] = [
    m("server", "Dell", "PowerEdge R760", "Dell Technologies", 14500, 60, 36),
    m("server", "Dell", "PowerEdge R740", "Dell Technologies", 11900, 60, 36),
];
const CORE_SWITCH: Model = m("network", "Cisco", "Nexus 93180YC-FX3", "Cisco", 18200, 60, 12);
const DC_FIREWALL: Model = m("network", "Cisco", "Firepower 2130", "Cisco", 14900, 60, 12);
const ACCESS_SWITCH: Model = m("network", "Cisco", "Catalyst 9300-48P", "Cisco", 7450, 84, 60);
const ACCESS_POINT: Model = m("network", "Cisco", "Meraki MR46", "Cisco", 1150, 72, 60);
const BRANCH_FIREWALL: Model = m("network", "Cisco", "Meraki MX85", "Cisco", 2600, 72, 60);
const STORAGE: Model = m("storage", "NetApp", "AFF A250", "", 46500, 60, 36);
const PRINTER: Model = m("peripheral", "HP", "Color LaserJet Enterprise M555dn", "HP Inc.", 1299, 60, 12);
const ROOM_PANEL: Model = m("iot", "Logitech", "Tap Scheduler", "Logitech", 699, 60, 24);
const CAMERA: Model = m("iot", "Cisco", "Meraki MV12", "Cisco", 899, 60, 36);

/// Data centres: (location, hostname prefix, servers).
const DATA_CENTRES: [(&str, &str, usize); 3] =
    [("US-ASH-DC", "ash", 50), ("GB-SLO-DC", "slo", 30), ("DE-FRA-DC", "fra", 30)];

/// Offices with a comms room, printers and meeting rooms.
const OFFICES: [&str; 12] = [
    "US-NYC",
    "US-AUS",
    "US-SFO",
    "GB-LON",
    "GB-MAN",
    "DE-BER",
    "DE-MUC",
    "FR-PAR",
    "NL-AMS",
    "IE-DUB",
    "US-NYC-F12",
    "GB-LON-B1-F3",
];

/// Where the IT team keeps stock, per country.
fn stock_room(country: &str) -> &'static str {
    match country {
        "GB" => "GB-LON",
        "DE" => "DE-MUC",
        "FR" => "FR-PAR",
        "NL" => "NL-AMS",
        "IE" => "IE-DUB",
        _ => "US-NYC",
    }
}

/// The services the data-centre servers run, in round-robin order.
const SERVER_SERVICES: [&str; 10] = [
    "Kubernetes Platform",
    "Data Warehouse",
    "Backup & Recovery",
    "Observability",
    "CI/CD Platform",
    "ERP (Finance)",
    "Identity & SSO",
    "Data Pipelines",
    "SIEM",
    "Search Service",
];

/// The service code (SVC-nnn) of a service name in the demo's services file.
pub(crate) fn service_code(name: &str) -> Option<String> {
    SERVICES.iter().position(|l| l.split('|').next() == Some(name)).map(|i| format!("SVC-{:03}", i + 1))
}

fn country_of(location: &str) -> &str {
    location.get(..2).unwrap_or("US")
}

/// Purchase currency and the price factor (‰ of the USD price) by country.
fn money(country: &str) -> (&'static str, u64) {
    match country {
        "US" => ("USD", 1000),
        "GB" => ("GBP", 800),
        _ => ("EUR", 930),
    }
}

#[derive(Default, Clone)]
struct Row {
    tag: String,
    name: String,
    class: &'static str,
    model: &'static str,
    make: &'static str,
    serial: String,
    hostname: String,
    resource_id: String,
    purchase: Option<Date>,
    cost: String,
    currency: &'static str,
    po: String,
    invoice: String,
    method: &'static str,
    life: String,
    warranty: Option<Date>,
    eol: Option<Date>,
    location: String,
    cc: String,
    vendor: &'static str,
    assignee: String,
    service: String,
    state: &'static str,
    notes: String,
    os: &'static str,
}

struct Gen {
    rng: Rng,
    as_of: Date,
    rows: Vec<Row>,
    steps: Vec<Step>,
    counters: HashMap<&'static str, u32>,
}

fn add_days(d: Date, days: i64) -> Date {
    d.checked_add(Span::new().days(days)).unwrap_or(d)
}

fn add_months(d: Date, months: i64) -> Date {
    d.checked_add(Span::new().months(months)).unwrap_or(d)
}

impl Gen {
    fn tag(&mut self, prefix: &'static str) -> String {
        let n = self.counters.entry(prefix).or_insert(0);
        *n += 1;
        format!("{prefix}-{n:05}")
    }

    /// A day between `min` and `max` days before the demo's today.
    fn days_ago(&mut self, min: usize, max: usize) -> Date {
        let back = min + self.rng.below(max.saturating_sub(min) + 1);
        add_days(self.as_of, -(back as i64))
    }

    fn serial(&mut self, make: &str) -> String {
        const ALNUM: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
        let mut pick =
            |n: usize| -> String { (0..n).map(|_| char::from(ALNUM[self.rng.below(ALNUM.len())])).collect() };
        match make {
            "Apple" => format!("C02{}", pick(9)),
            "Dell" => pick(7),
            "Lenovo" => format!("PF{}", pick(6)),
            "HP" => format!("5CG{}", pick(7)),
            "Cisco" => format!("FOC{}", pick(8)),
            "NetApp" => format!("7{}", pick(11)),
            _ => pick(10),
        }
    }

    /// A new row for `model` bought on `purchase` in `country`, priced from the list price with a little noise.
    fn asset(&mut self, prefix: &'static str, model: Model, purchase: Date, country: &str) -> Row {
        let (currency, factor) = money(country);
        let noise = 970 + self.rng.below(61) as u64;
        let cents = u64::from(model.price) * 100 * factor / 1000 * noise / 1000;
        let year = purchase.year();
        let po = format!("PO-{year}-{:04}", 100 + purchase.day_of_year() as usize * 7 % 9000);
        let vendor_code: String = model.make.chars().filter(char::is_ascii_alphabetic).take(3).collect();
        let invoice = format!("{}-{year}{:05}", vendor_code.to_uppercase(), self.rng.below(100_000));
        Row {
            tag: self.tag(prefix),
            name: format!("{} {}", model.make, model.name),
            class: model.class,
            model: model.name,
            make: model.make,
            serial: self.serial(model.make),
            purchase: Some(purchase),
            cost: format!("{}.{:02}", cents / 100, cents % 100),
            currency,
            po,
            invoice,
            method: if model.class == "server" { "declining-balance" } else { "straight-line" },
            life: model.life.to_string(),
            warranty: Some(add_months(purchase, i64::from(model.warranty))),
            eol: Some(add_months(purchase, i64::from(model.life))),
            vendor: model.vendor,
            state: "in-use",
            ..Row::default()
        }
    }

    fn transition(&mut self, tag: &str, body: Value) {
        self.steps.push(Step::Transition { tag: tag.to_string(), body });
    }

    /// Retires an old asset and, `dispose_per_mille` of the time, disposes of it with a certificate.
    fn retire(&mut self, tag: &str, class: &str, dispose_per_mille: usize, leased: bool) {
        let retired = self.days_ago(20, 400);
        self.transition(
            tag,
            json!({"to": "retired", "reason": if leased { "Lease ended: returned to the lessor" } else { "End of life: replaced in the hardware refresh" }}),
        );
        if !self.rng.chance(dispose_per_mille) {
            return;
        }
        let date = add_days(retired, 10 + self.rng.below(10) as i64).min(self.as_of);
        let n = self.rng.below(9000) + 1000;
        let (method, reference, by, how) = if leased {
            (
                "return-to-lessor",
                format!("DFS-RMA-{n}"),
                "Dell Financial Services",
                "NIST 800-88 Purge (cryptographic erase)",
            )
        } else if class == "server" || class == "storage" {
            (
                "destroy",
                format!("IM-DEST-{n}"),
                "Iron Mountain",
                "Physical destruction: drives shredded on site",
            )
        } else {
            match self.rng.below(10) {
                0..5 => (
                    "recycle",
                    format!("WEEE-{}-{n}", date.year()),
                    "GreenIT Recycling Ltd",
                    "NIST 800-88 Purge (cryptographic erase)",
                ),
                5..8 => ("resell", format!("RESALE-{n}"), "Techbuyer", "Blancco Drive Eraser, verified"),
                _ => ("donate", format!("DON-{n}"), "Computers 4 Schools", "Blancco Drive Eraser, verified"),
            }
        };
        let mut disposal = json!({"method": method, "date": date.to_string(), "reference": reference});
        if method == "resell" {
            disposal["proceeds"] = json!(format!("{}.00", 120 + self.rng.below(180)));
        }
        if class != "peripheral" {
            disposal["sanitization"] = json!({"method": how, "attested_by": by, "date": add_days(date, -2).to_string(),
                "certificate": format!("CoD-{}-{n}", date.year())});
        }
        self.transition(
            tag,
            json!({"to": "disposed", "reason": format!("Disposed: {method}"), "disposal": disposal}),
        );
    }
}

fn laptop_family(title: &str, pick: usize) -> [Model; 2] {
    let t = title.to_lowercase();
    let techy = ["engineer", "designer", "scientist", "developer", "architect", "researcher", "producer"]
        .iter()
        .any(|w| t.contains(w));
    match (techy, pick % 10) {
        (true, 0..6) => MBP,
        (true, 6..8) => LATITUDE,
        (true, _) => THINKPAD,
        (false, 0..3) => AIR,
        (false, 3..6) => LATITUDE,
        (false, 6..8) => THINKPAD,
        (false, _) => ELITEBOOK,
    }
}

fn os_of(make: &str, pick: usize) -> &'static str {
    match make {
        "Apple" => "macOS",
        _ if pick.is_multiple_of(25) => "Ubuntu 22.04",
        _ => "Windows 11",
    }
}

/// Generates the register for the demo organisation whose people file is `people_csv`.
pub(crate) fn generate(seed: u64, as_of: Date, people_csv: &str) -> AssetDemo {
    let staff = read_staff(people_csv);
    let mut g = Gen {
        rng: Rng(seed ^ 0x00A5_5E75),
        as_of,
        rows: Vec::new(),
        steps: Vec::new(),
        counters: HashMap::new(),
    };
    let end_user = staff.iter().find(|s| s.cc == "CC-1600").map(|s| s.id.clone()).unwrap_or_default();
    let infra = staff.iter().find(|s| s.cc == "CC-1200").map(|s| s.id.clone()).unwrap_or_default();
    // The 2023 Dell lease: laptops delivered in one two-month window, three years before the lease ends.
    let lease_end = add_days(as_of, 45);
    let lease_start = add_days(add_months(lease_end, -36), 1);
    let mut leased = Vec::new();
    let mut unreturned = 0;
    // The first laptop lost is found again months later (see the end).
    let mut found_later: Option<(String, String, usize)> = None;

    // Laptops: one per person, bought over the last three years (the refresh cycle).
    for (i, s) in staff.iter().enumerate() {
        let pick = g.rng.below(1000);
        let family = laptop_family(&s.title, pick);
        let purchase = g.days_ago(5, 3 * 365 - 10);
        let age = (as_of - purchase).get_days();
        let model = if age < 730 { family[0] } else { family[1] };
        let country = country_of(&s.location).to_string();
        let mut row = g.asset("LT", model, purchase, &country);
        row.hostname = row.tag.to_lowercase();
        row.os = os_of(model.make, pick);
        row.cc = s.cc.clone();
        row.location = s.location.clone();
        if model.make == "Dell" && purchase >= lease_start && purchase < add_days(lease_start, 60) {
            // Leased, not bought: no capital cost, the lease contract carries it.
            row.cost.clear();
            row.method = "none";
            row.notes = "Leased (Dell Financial Services, 36 months)".into();
            leased.push(row.tag.clone());
        }
        if s.leaver {
            if unreturned < 6 {
                // A leaver who has not handed the laptop back: offboarding lists it.
                unreturned += 1;
                row.assignee = s.id.clone();
            } else {
                // Handed back when they left: checked in to the country's stock room, so offboarding shows it
                // recovered.
                row.assignee = s.id.clone();
                let when = s.leave_date.map(|d| d.to_string()).unwrap_or_default();
                g.steps.push(Step::CheckIn {
                    tag: row.tag.clone(),
                    body: json!({"location": stock_room(&country),
                        "reason": format!("Returned by leaver {} on {when}; awaiting re-image", s.id)}),
                });
            }
        } else {
            row.assignee = s.id.clone();
        }
        if i % 97 == 13 {
            row.serial.clear(); // not recorded at intake: a policy violation the governance view lists
        }
        if i % 211 == 7 {
            row.warranty = None;
        }
        let tag = row.tag.clone();
        let in_use = row.state == "in-use";
        g.rows.push(row);
        if in_use && g.rng.chance(15) {
            let why = ["Battery swelling", "Cracked screen", "Keyboard failure", "Will not power on"]
                [g.rng.below(4)];
            g.transition(
                &tag,
                json!({"to": "in-repair", "reason": format!("{why}: sent to the vendor's depot")}),
            );
            if g.rng.chance(600) {
                let amount = format!("{}.{:02}", 90 + g.rng.below(260), g.rng.below(100));
                let date = g.days_ago(1, 20).to_string();
                g.steps.push(Step::Cost {
                    tag,
                    body: json!({"date": date, "kind": "repair", "amount": amount, "reference": format!("RMA {why}")}),
                });
            }
        } else if in_use && g.rng.chance(3) {
            let (to, why) = if g.rng.chance(500) {
                ("stolen", "Stolen from a car; police report filed")
            } else if found_later.is_none() && purchase < add_days(as_of, -150) {
                // Bought before the register went live (120 days before the demo's date), so nothing of its own
                // holds its loss back: it happens early in the history.
                found_later = Some((tag.clone(), country.clone(), g.steps.len()));
                ("lost", "Left on a train")
            } else {
                ("lost", "Left on a train; not recovered")
            };
            g.transition(&tag, json!({"to": to, "reason": why}));
        }
    }

    // Desktops for design and data work, and one shared desktop per office reception.
    for s in &staff {
        let t = s.title.to_lowercase();
        let model = if t.contains("designer") || t.contains("video") {
            MAC_STUDIO
        } else if t.contains("data scientist") || t.contains("machine learning") {
            PRECISION
        } else {
            continue;
        };
        if s.leaver {
            continue;
        }
        let purchase = g.days_ago(30, 4 * 365);
        let mut row = g.asset("DT", model, purchase, country_of(&s.location));
        row.hostname = row.tag.to_lowercase();
        (row.assignee, row.cc, row.location) = (s.id.clone(), s.cc.clone(), s.location.clone());
        g.rows.push(row);
    }
    for office in OFFICES {
        let purchase = g.days_ago(100, 4 * 365);
        let mut row = g.asset("DT", OPTIPLEX, purchase, country_of(office));
        row.name = format!("Reception desktop {office}");
        (row.location, row.cc) = (office.to_string(), "CC-8100".into());
        g.rows.push(row);
    }

    // Monitors for people who sit in an office; phones for people who sell or are on call.
    for s in staff.iter().filter(|s| !s.leaver) {
        if !s.location.contains("REMOTE") && g.rng.chance(450) {
            let purchase = g.days_ago(30, 5 * 365 - 60);
            let model = MONITOR[usize::from((as_of - purchase).get_days() > 900)];
            let mut row = g.asset("MN", model, purchase, country_of(&s.location));
            (row.assignee, row.cc, row.location) = (s.id.clone(), s.cc.clone(), s.location.clone());
            g.rows.push(row);
        }
        let t = s.title.to_lowercase();
        let phone = ["account", "sales", "chief", "head of", "reliability", "success", "solutions"]
            .iter()
            .any(|w| t.contains(w));
        if phone && g.rng.chance(800) {
            let purchase = g.days_ago(10, 2 * 365 - 20);
            let model = IPHONE[usize::from((as_of - purchase).get_days() > 400)];
            let country = country_of(&s.location);
            let mut row = g.asset("MB", model, purchase, country);
            row.vendor = match country {
                "GB" => "Vodafone",
                "DE" => "Deutsche Telekom",
                "NL" => "KPN",
                "IE" => "Eir",
                "FR" => "Orange Business",
                _ => "Apple",
            };
            (row.assignee, row.cc, row.location) = (s.id.clone(), s.cc.clone(), s.location.clone());
            row.service = "Mobile Fleet".into();
            g.rows.push(row);
        }
    }

    // Spares, the loaner pool (some out on loan, a few overdue), and laptops on order or requested.
    for office in ["US-NYC", "US-AUS", "US-SFO", "GB-LON", "DE-MUC", "FR-PAR", "NL-AMS", "IE-DUB"] {
        for k in 0..6 {
            let purchase = g.days_ago(10, 200);
            let family = if k % 2 == 0 { MBP } else { LATITUDE };
            let mut row = g.asset("LT", family[0], purchase, country_of(office));
            (row.state, row.location, row.cc) = ("in-stock", office.to_string(), "CC-1600".into());
            row.os = os_of(row.make, k);
            if k < 2 {
                row.name = format!("Loaner {}", row.name);
                row.notes = "Loaner pool".into();
            }
            g.rows.push(row);
        }
    }
    let loaners: Vec<(String, String)> = g
        .rows
        .iter()
        .filter(|r| r.notes == "Loaner pool")
        .map(|r| (r.tag.clone(), r.location.clone()))
        .collect();
    for (k, (tag, location)) in loaners.iter().enumerate().take(10) {
        let Some(person) = staff.iter().filter(|s| !s.leaver && &s.location == location).nth(k) else {
            continue;
        };
        // Three loans are overdue: their return date has passed.
        let back =
            if k < 3 { add_days(as_of, -(3 + 4 * k as i64)) } else { add_days(as_of, 5 + 3 * k as i64) };
        g.steps.push(Step::CheckOut {
            tag: tag.clone(),
            body: json!({"assignee": person.id, "loan": true, "expected_return": back.to_string(),
                "reason": "Loaner while their laptop is repaired"}),
        });
    }
    for k in 0..14 {
        let purchase = g.days_ago(1, 20);
        let country = ["US", "GB", "DE", "NL"][k % 4];
        let mut row = g.asset("LT", [MBP, THINKPAD][k % 2][0], purchase, country);
        row.serial.clear();
        (row.location, row.cc) = (stock_room(country).to_string(), "CC-1600".into());
        if k < 10 {
            row.state = "on-order";
            row.notes = "New-hire laptop, ordered".into();
        } else {
            row.state = "requested";
            row.notes = "Requested for a new hire starting next month".into();
            (row.po, row.invoice, row.cost) = (String::new(), String::new(), String::new());
            row.method = "none";
        }
        g.rows.push(row);
    }

    // Data centres: servers running services, core switches and firewalls, storage arrays.
    for (dc, host, count) in DATA_CENTRES {
        let country = country_of(dc);
        let mut core = Vec::new();
        let mut arrays = Vec::new();
        for k in 0..2 {
            let purchase = g.days_ago(400, 1400);
            for (model, prefix) in [(CORE_SWITCH, "NW"), (DC_FIREWALL, "NW")] {
                let mut row = g.asset(prefix, model, purchase, country);
                row.hostname = format!(
                    "{host}-{}-{:02}",
                    if model.name.starts_with("Nexus") { "core" } else { "fw" },
                    k + 1
                );
                (row.location, row.cc, row.service) =
                    (dc.to_string(), "CC-1200".into(), "Data Centre Colocation".into());
                if model.name.starts_with("Nexus") {
                    core.push(row.tag.clone());
                }
                g.rows.push(row);
            }
            let bought = g.days_ago(300, 1500);
            let mut row = g.asset("ST", STORAGE, bought, country);
            row.hostname = format!("{host}-nas-{:02}", k + 1);
            (row.location, row.cc, row.service) =
                (dc.to_string(), "CC-1200".into(), "Backup & Recovery".into());
            arrays.push(row.tag.clone());
            g.rows.push(row);
        }
        for k in 0..count {
            let purchase = g.days_ago(30, 5 * 365 + 200);
            let old = (as_of - purchase).get_days() > 1100;
            let mut row = g.asset("SV", SERVER[usize::from(old)], purchase, country);
            row.hostname = format!("{host}-srv-{:03}", k + 1);
            (row.location, row.cc) = (dc.to_string(), "CC-1200".into());
            let service = SERVER_SERVICES[k % SERVER_SERVICES.len()];
            let tag = row.tag.clone();
            let past_life = (as_of - purchase).get_days() > 5 * 365;
            if past_life {
                row.state = "in-stock";
                row.notes = "Decommissioned; awaiting collection".into();
            } else {
                row.service = service.into();
            }
            g.rows.push(row);
            if past_life {
                g.retire(&tag, "server", 700, false);
                continue;
            }
            g.steps.push(Step::Relation {
                tag: tag.clone(),
                body: json!({"kind": "runs", "to_service": service}),
            });
            g.steps.push(Step::Relation {
                tag: tag.clone(),
                body: json!({"kind": "depends-on", "to_asset": core[k % core.len()]}),
            });
            if k % 3 == 0 {
                g.steps.push(Step::Relation {
                    tag,
                    body: json!({"kind": "depends-on", "to_asset": arrays[k % arrays.len()]}),
                });
            }
        }
    }

    // Offices: switches, access points, a firewall, printers, room panels and cameras.
    for office in OFFICES.iter().take(10) {
        let country = country_of(office);
        let site = &office[..6];
        let purchase = g.days_ago(200, 1600);
        let mut batch =
            vec![(ACCESS_SWITCH, "NW", "sw"), (ACCESS_SWITCH, "NW", "sw"), (BRANCH_FIREWALL, "NW", "fw")];
        batch.extend((0..4 + g.rng.below(5)).map(|_| (ACCESS_POINT, "NW", "ap")));
        batch.extend((0..1 + g.rng.below(2)).map(|_| (PRINTER, "PR", "")));
        batch.extend((0..2 + g.rng.below(3)).map(|_| (ROOM_PANEL, "IO", "")));
        batch.extend((0..1 + g.rng.below(2)).map(|_| (CAMERA, "IO", "")));
        for (n, (model, prefix, host)) in batch.into_iter().enumerate() {
            let bought = add_days(purchase, g.rng.below(30) as i64);
            let mut row = g.asset(prefix, model, bought, country);
            if !host.is_empty() {
                row.hostname = format!("{}-{host}-{:02}", site.to_lowercase(), n + 1);
            }
            row.location = office.to_string();
            (row.cc, row.service) = match prefix {
                "NW" => ("CC-1200".into(), "Office Network".into()),
                "PR" => ("CC-1600".into(), "Print & Scan".into()),
                _ if model.name.contains("Tap") => ("CC-8100".into(), "Meeting Room Booking".into()),
                _ => ("CC-8100".into(), "Office Network".into()),
            };
            g.rows.push(row);
        }
    }

    // The cloud instances the register tracks; their cost comes from the ledger.
    for (resource, name, service) in CLOUD_RESOURCES {
        let tag = g.tag("CL");
        g.rows.push(Row {
            tag,
            name: (*name).into(),
            class: "cloud-resource",
            make: "Amazon Web Services",
            model: "EC2 instance",
            resource_id: (*resource).into(),
            hostname: (*name).into(),
            currency: "USD",
            method: "none",
            cc: "CC-1200".into(),
            vendor: "Amazon Web Services",
            service: (*service).into(),
            state: "in-use",
            ..Row::default()
        });
    }

    // History: laptops and phones of earlier refresh cycles, retired and mostly disposed of with certificates;
    // an older Dell lease cohort returned to the lessor.
    for k in 0..230 {
        let (family, prefix, life) =
            if k % 8 == 7 { (IPHONE, "MB", 2) } else { ([LATITUDE, THINKPAD, MBP][k % 3], "LT", 4) };
        let purchase = g.days_ago(life * 365 - 60, (life + 1) * 365);
        let country = ["US", "US", "GB", "DE", "NL", "IE", "FR"][k % 7];
        let mut row = g.asset(prefix, family[1], purchase, country);
        (row.state, row.location, row.cc) = ("in-stock", stock_room(country).to_string(), "CC-1600".into());
        let lease_return = k % 10 == 4 && family[1].make == "Dell";
        if lease_return {
            row.cost.clear();
            row.method = "none";
            row.notes = "Leased (Dell Financial Services, 36 months)".into();
        }
        let tag = row.tag.clone();
        g.rows.push(row);
        g.retire(
            &tag,
            if prefix == "MB" { "mobile" } else { "laptop" },
            if lease_return { 1000 } else { 650 },
            lease_return,
        );
    }

    // Contracts.
    let tags_where = |g: &Gen, f: &dyn Fn(&Row) -> bool| -> Vec<String> {
        g.rows.iter().filter(|r| f(r)).map(|r| r.tag.clone()).collect()
    };
    let n = |tags: &[String]| tags.len() as u64;
    g.steps.push(Step::Contract {
        body: json!({"number": "DFS-LEASE-2023-117", "name": "Dell laptop lease, 2023 cohort", "kind": "lease",
            "vendor": "Dell Technologies", "value": format!("{}.00", 36 * 48 * n(&leased)), "currency": "USD",
            "billing_frequency": "monthly", "start_date": lease_start.to_string(), "end_date": lease_end.to_string(),
            "renewal": "manual", "notice_days": 90, "owner": end_user, "cost_centre": "CC-1600",
            "notes": "Return or buy out each laptop at the end of the term."}),
        tags: leased,
        archive: false,
    });
    let cisco = tags_where(&g, &|r| r.make == "Cisco" && r.state == "in-use");
    let smartnet_end = add_days(as_of, 50);
    g.steps.push(Step::Contract {
        body: json!({"number": "CSCO-SNT-44821", "name": "Cisco Smart Net Total Care", "kind": "maintenance",
            "vendor": "Cisco", "value": format!("{}.00", 320 * n(&cisco)), "currency": "USD", "billing_frequency": "annual",
            "start_date": add_days(add_months(smartnet_end, -12), 1).to_string(), "end_date": smartnet_end.to_string(),
            "renewal": "auto", "notice_days": 60, "owner": infra, "cost_centre": "CC-1200"}),
        tags: cisco,
        archive: false,
    });
    let out_of_warranty = tags_where(&g, &|r| {
        r.class == "server" && r.state == "in-use" && r.warranty.is_some_and(|w| w < as_of)
    });
    let prosupport_end = add_days(as_of, 120);
    g.steps.push(Step::Contract {
        body: json!({"number": "DELL-PSP-SRV-2026", "name": "Dell ProSupport Plus, servers out of warranty",
            "kind": "maintenance", "vendor": "Dell Technologies", "value": format!("{}.00", 1850 * n(&out_of_warranty)),
            "currency": "USD", "billing_frequency": "annual",
            "start_date": add_days(add_months(prosupport_end, -12), 1).to_string(), "end_date": prosupport_end.to_string(),
            "renewal": "manual", "notice_days": 90, "owner": infra, "cost_centre": "CC-1200"}),
        tags: out_of_warranty,
        archive: false,
    });
    let new_macs = tags_where(&g, &|r| {
        r.make == "Apple" && r.class == "laptop" && r.purchase.is_some_and(|p| (as_of - p).get_days() < 365)
    });
    g.steps.push(Step::Contract {
        body: json!({"number": "ACE-2026-0042", "name": "AppleCare for Enterprise", "kind": "warranty", "vendor": "Apple",
            "value": format!("{}.00", 199 * n(&new_macs)), "currency": "USD", "billing_frequency": "one-off",
            "start_date": add_days(as_of, -300).to_string(), "end_date": add_days(as_of, 795).to_string(),
            "renewal": "none", "notice_days": 0, "owner": end_user, "cost_centre": "CC-1600"}),
        tags: new_macs,
        archive: false,
    });
    let macs = tags_where(&g, &|r| r.make == "Apple" && r.class == "laptop" && r.state == "in-use");
    let jamf_end = add_days(as_of, 25);
    g.steps.push(Step::Contract {
        body: json!({"number": "JAMF-SUB-7731", "name": "Jamf Pro device management", "kind": "subscription",
            "vendor": "Jamf", "value": format!("{}.00", 48 * n(&macs)), "currency": "USD", "billing_frequency": "annual",
            "start_date": add_days(add_months(jamf_end, -12), 1).to_string(), "end_date": jamf_end.to_string(),
            "renewal": "auto", "notice_days": 30, "owner": end_user, "cost_centre": "CC-1600"}),
        tags: macs,
        archive: false,
    });
    let eu_printers = tags_where(&g, &|r| r.class == "peripheral" && r.make == "HP" && r.currency == "EUR");
    let print_end = add_days(as_of, 200);
    g.steps.push(Step::Contract {
        body: json!({"number": "HP-MPS-EU-19", "name": "HP managed print, EU offices", "kind": "lease", "vendor": "HP Inc.",
            "value": "14400.00", "currency": "EUR", "billing_frequency": "quarterly",
            "start_date": add_days(add_months(print_end, -36), 1).to_string(), "end_date": print_end.to_string(),
            "renewal": "auto", "notice_days": 90, "owner": end_user, "cost_centre": "CC-1600"}),
        tags: eu_printers,
        archive: false,
    });
    let uk_phones = tags_where(&g, &|r| r.class == "mobile" && r.currency == "GBP" && r.state == "in-use");
    let vodafone_end = add_days(as_of, 15);
    g.steps.push(Step::Contract {
        body: json!({"number": "VOD-MOB-UK-2024", "name": "Vodafone business mobile, UK", "kind": "subscription",
            "vendor": "Vodafone", "value": format!("{}.00", 22 * 24 * n(&uk_phones)), "currency": "GBP",
            "billing_frequency": "monthly", "start_date": add_days(add_months(vodafone_end, -24), 1).to_string(),
            "end_date": vodafone_end.to_string(), "renewal": "auto", "notice_days": 30, "owner": end_user,
            "cost_centre": "CC-1600"}),
        tags: uk_phones,
        archive: false,
    });
    g.steps.push(Step::Contract {
        body: json!({"number": "LEN-FWA-2025", "name": "Lenovo framework agreement 2025–2027", "kind": "purchase",
            "vendor": "Lenovo", "value": "450000.00", "currency": "USD", "billing_frequency": "one-off",
            "start_date": add_days(as_of, -330).to_string(), "end_date": add_days(as_of, 400).to_string(),
            "renewal": "none", "notice_days": 0, "owner": end_user, "cost_centre": "CC-1600"}),
        tags: Vec::new(),
        archive: false,
    });

    // A support contract that renews itself each year: it has rolled over twice since it was signed, and its
    // current term ends in six weeks.
    let vault_end = add_days(as_of, 45);
    let vault_first_end = add_months(vault_end, -24);
    g.steps.push(Step::Contract {
        body: json!({"number": "HCP-VAULT-2023", "name": "HashiCorp Vault Enterprise support", "kind": "maintenance",
            "vendor": "HashiCorp", "value": "24000.00", "currency": "USD", "billing_frequency": "annual",
            "start_date": add_days(add_months(vault_first_end, -12), 1).to_string(),
            "end_date": vault_first_end.to_string(), "renewal": "auto", "notice_days": 30, "owner": infra,
            "cost_centre": "CC-1200"}),
        tags: Vec::new(),
        archive: false,
    });
    // A whiteboard subscription given up for the design tool's own: ended, archived, still on record.
    g.steps.push(Step::Contract {
        body: json!({"number": "MIRO-ENT-2024", "name": "Miro Enterprise (replaced by FigJam)", "kind": "subscription",
            "vendor": "Miro", "value": "38400.00", "currency": "USD", "billing_frequency": "annual",
            "start_date": add_days(as_of, -760).to_string(), "end_date": add_days(as_of, -30).to_string(),
            "renewal": "manual", "notice_days": 60, "owner": end_user, "cost_centre": "CC-1600"}),
        tags: Vec::new(),
        archive: true,
    });

    // Audits: Amsterdam done last week (four assets not found), Manchester in progress.
    g.steps.push(Step::Audit {
        location: "NL-AMS",
        missing: 4,
        extra: vec![
            g.rows
                .iter()
                .find(|r| r.location == "DE-MUC" && r.state == "in-stock")
                .map(|r| r.tag.clone())
                .unwrap_or_default(),
            "LT-99999".into(),
        ],
        close: true,
    });
    g.steps.push(Step::Audit { location: "GB-MAN", missing: 0, extra: Vec::new(), close: false });

    let mut csv = Csv::new(HEADER);
    let date = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
    for r in &g.rows {
        csv.row(&[
            &r.tag,
            &r.name,
            r.class,
            r.model,
            r.make,
            &r.serial,
            &r.hostname,
            &r.resource_id,
            &date(r.purchase),
            &r.cost,
            r.currency,
            &r.po,
            &r.invoice,
            r.method,
            &r.life,
            &date(r.warranty),
            &date(r.eol),
            &r.location,
            &r.cc,
            r.vendor,
            &r.assignee,
            &service_code_or_empty(&r.service),
            r.state,
            &r.notes,
            r.os,
        ]);
    }
    let settings = json!({
        "custom_fields": [
            {"key": "os", "label": "Operating system", "class": "laptop", "type": "enum",
             "options": ["macOS", "Windows 11", "Ubuntu 22.04"]},
            {"key": "disk_encrypted", "label": "Disk encryption verified on", "class": "laptop", "type": "date"}
        ],
        "required_fields": {
            "laptop": ["serial", "cost_centre_id", "warranty_end", "purchase_date"],
            "server": ["serial", "hostname", "warranty_end", "location_id"],
            "cloud-resource": ["resource_id", "cost_centre_id"]
        }
    });
    // Found and handed in weeks after it was lost (two thirds of the way through the history, the steps being
    // spread over it in order; the loss is among the laptops' steps, the first): written off in the month it was
    // lost, reinstated in the month it came back, both among the months posted.
    if let Some((tag, country, lost_at)) = found_later {
        let at = (g.steps.len() * 2 / 3).max(lost_at + 1);
        g.steps.insert(
            at,
            Step::CheckIn {
                tag,
                body: json!({"location": stock_room(&country),
                    "reason": "Found: handed in at the railway's lost-property office"}),
            },
        );
    }
    AssetDemo { csv: csv.finish(), settings, steps: g.steps }
}

fn service_code_or_empty(name: &str) -> String {
    if name.is_empty() { String::new() } else { service_code(name).unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> (AssetDemo, AssetDemo) {
        let as_of: Date = "2026-11-22".parse().unwrap();
        let files = crate::demo_gen::generate(7, as_of);
        let people = &files.iter().find(|f| f.name == "people.csv").unwrap().contents;
        (generate(7, as_of, people), generate(7, as_of, people))
    }

    #[test]
    fn deterministic_about_three_thousand_assets_with_unique_tags() {
        let (a, b) = demo();
        assert_eq!(a.csv, b.csv);
        assert_eq!(a.steps, b.steps);
        let mut rdr = csv::Reader::from_reader(a.csv.as_bytes());
        assert_eq!(rdr.headers().unwrap().iter().collect::<Vec<_>>().join(","), HEADER);
        let tags: Vec<String> = rdr.records().map(|r| r.unwrap()[0].to_string()).collect();
        assert!((2800..=3300).contains(&tags.len()), "{}", tags.len());
        let unique: std::collections::HashSet<&String> = tags.iter().collect();
        assert_eq!(unique.len(), tags.len(), "tags are unique");
        // Every step names an asset of the file.
        for s in &a.steps {
            let tag = match s {
                Step::Transition { tag, .. }
                | Step::CheckOut { tag, .. }
                | Step::CheckIn { tag, .. }
                | Step::Cost { tag, .. }
                | Step::Relation { tag, .. } => tag,
                Step::Contract { tags, .. } => {
                    assert!(tags.iter().all(|t| unique.contains(t)));
                    continue;
                }
                Step::Audit { .. } => continue,
            };
            assert!(unique.contains(tag), "{tag}");
        }
    }

    #[test]
    fn cloud_assets_are_resources_of_the_demo_bill_and_services_exist() {
        let as_of: Date = "2026-11-22".parse().unwrap();
        let bills = crate::demo_bills::generate_bills(7, as_of);
        for (resource, _, service) in CLOUD_RESOURCES {
            assert!(
                bills.iter().any(|f| f.contents.windows(resource.len()).any(|w| w == resource.as_bytes())),
                "{resource} is in no demo bill"
            );
            assert!(service_code(service).is_some(), "{service}");
        }
        for s in SERVER_SERVICES {
            assert!(service_code(s).is_some(), "{s}");
        }
        assert_eq!(service_code("Customer Portal").as_deref(), Some("SVC-001"));
    }
}
