//! The demo organisation's allocation: a full rule set (ownership, tag rules, defaults, shared pools, the
//! chargeback journal's accounts) and a monthly CPU-hours series for the platform cluster's tenants. Pure and
//! deterministic: the same seed and months give the same files.

/// The rule set, in force from `first_period`.
pub fn demo_rules(first_period: &str) -> String {
    format!(
        r#"# The demo organisation's allocation rules. Change them and run
#   itemize rules preview THIS-FILE --period YYYY-MM   (what would move)
#   itemize rules apply THIS-FILE                      (save a new version and re-allocate open periods)
name = "Demo allocation rules"
effective_from = "{first_period}"
description = "Ownership by account and resource, service and cost-centre tags, defaults per account, four shared pools."

# Free dimensions kept in the cost cube.
dimensions = ["team", "environment"]

# Spellings of the same tag key across providers and teams (compared case-insensitively).
[tag_aliases]
cost_centre = ["cost-centre", "cost-center", "costcenter", "costcentre", "cost center", "cost_center"]
service = ["app", "application"]

# 1. Ownership: whole accounts, projects and resources that belong to one service.
[[ownership]]
name = "ML research project"
when = {{ sub_account = "ml-research" }}
service = "Machine Learning Platform"

[[ownership]]
name = "CDN distributions"
when = {{ resource_id = {{ glob = "arn:aws:cloudfront::*" }} }}
service = "DNS & CDN"

# 2. Tags: the service tag names the service (by code or name), else the cost-centre tag or column.
[[tag]]
name = "service tag"
when = {{ "tag:service" = {{ present = true }} }}
service_from = "tag:service"

[[tag]]
name = "cost-centre tag"
when = {{ "tag:cost_centre" = {{ present = true }} }}
cost_centre_from = "tag:cost_centre"

[[tag]]
name = "GL cost centre"
when = {{ cost_centre_column = {{ present = true }} }}
cost_centre_from = "cost_centre_column"

# 3. Defaults per account: what nobody tagged in the dev/test subscription is Cloud Infrastructure's.
[[default]]
name = "Azure dev/test subscription"
when = {{ sub_account = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c02" }}
cost_centre = "CC-1200"

# Shared-cost pools (matched before the rules above).
[[pool]]
name = "platform-cluster"
when = {{ "tag:service" = "Kubernetes Platform" }}
split = "driver"
driver = "metric:cpu-hours"

[[pool]]
name = "support"
when = {{ gl_account = "6450" }}
split = "proportional"

[[pool]]
name = "tax"
when = {{ charge_category = "Tax" }}
split = "proportional"

[[pool]]
name = "collaboration"
when = {{ vendor = {{ matches = "(?i)^(slack|zoom)" }} }}
split = "driver"
driver = "headcount"

# Chargeback: debit the consuming cost centre on the account of the service category, credit Technology.
[journal]
provider_cost_centre = "CC-1000"
credit_account = "7990"

[journal.gl_accounts]
default = "7900"
Compute = "7910"
Storage = "7920"
Databases = "7930"
Networking = "7940"
"Business Applications" = "7950"
"#
    )
}

/// The platform cluster's tenants and their CPU-hours in the first month.
const TENANTS: &[(&str, u64)] = &[
    ("Customer Portal", 41_000),
    ("Payments API", 26_500),
    ("Search Service", 14_200),
    ("Notification Service", 6_800),
    ("Mobile App Backend", 11_900),
];

/// `period,metric,target,value`: CPU-hours per tenant service per month, growing at different rates.
pub fn demo_metrics(periods: &[String]) -> String {
    let mut s = String::from("period,metric,target,value\n");
    for (i, p) in periods.iter().enumerate() {
        for (n, (svc, base)) in TENANTS.iter().enumerate() {
            // Growth of (n + 1) % a month, in whole hours.
            let v = base * (100 + (n as u64 + 1) * i as u64) / 100;
            s.push_str(&format!("{p},cpu-hours,{svc},{v}\n"));
        }
    }
    s
}
