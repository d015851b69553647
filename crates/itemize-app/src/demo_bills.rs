//! The demo organisation's bills: thirteen complete months of cloud and SaaS spend, as the files each source
//! really exports, for the demo to load through the real importers.
//!
//! - `rates-ecb.csv`: ECB reference rates (USD and GBP per EUR), weekdays, a gentle random walk.
//! - `aws-cur2-YYYY-MM.csv`: AWS CUR 2.0, USD; one payer and three usage accounts; a Compute Savings Plan from
//!   the fourth month (covered usage, negations, the recurring fee), tax lines, one promotional credit; the
//!   third-to-last month is restated (`-restated.csv`, after every original) with corrected usage and a refund.
//! - `azure-actual-YYYY-MM.csv` and `azure-amortized-YYYY-MM.csv`: Azure EA cost details, EUR, the month's two
//!   exports (the amortized one from the month the reservation is bought, when it was set up): a reservation
//!   bought once (its price in the actual export) and amortized after (its share of the covered usage in the
//!   amortized export); the ledger keeps the amortized usage and the actual purchase.
//! - `gcp-YYYY-MM.jsonl`: the GCP BigQuery billing export as JSON lines, USD; sustained-use and promotional
//!   credits, monthly tax rows.
//! - `datadog-focus-YYYY-MM.csv`: a SaaS vendor exporting FOCUS 1.2, USD.
//! - `saas-invoices.toml` + `saas-invoices-YYYY-MM.csv` and `gl-spend.toml` + `gl-spend-YYYY-MM.csv`: generic
//!   spend through mappings (SaaS invoices in USD and EUR, an EU general-ledger extract in EUR).
//!
//! Cloud resources carry the tags `team`, `service` (a demo service name) and `cost-centre` (a demo cost-centre
//! code), the names [`crate::demo_gen`] gives the organisation; about 5% of usage spend is untagged. Spend grows
//! about 3% a month, with a quieter December and August and busier quarter ends.
//!
//! Pure and deterministic like the organisation generator: no clock, no I/O, a SplitMix64 seeded from `seed`.
//! Money is exact decimal arithmetic from integer constants and decimal text, never floating point.

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::Span;
use jiff::civil::{Date, Weekday};
use rust_decimal::{Decimal, RoundingStrategy};

/// One generated bill-related file, in import order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillFile {
    pub name: String,
    pub contents: Vec<u8>,
    pub role: BillRole,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillRole {
    /// An exchange-rates CSV for `itemize import rates`.
    Rates,
    /// A TOML mapping for generic spend files (not imported itself).
    Mapping,
    /// A cost file; generic files name the mapping file (a BillFile.name of role Mapping) they are read through.
    Cost { mapping: Option<String> },
}

/// How many complete months of bills are generated.
const MONTHS: usize = 13;
/// The month (index from the first) the AWS Savings Plan starts.
const SP_MONTH: usize = 3;
/// The month the AWS promotional credit is applied.
const AWS_CREDIT_MONTH: usize = 6;
/// The month the Azure reservation is bought.
const RI_MONTH: usize = 5;
/// The months the GCP promotional (trial) credit covers Vertex AI.
const GCP_PROMO_MONTHS: usize = 3;

/// Thirteen complete months of bills ending with the month before `as_of`'s month. Pure and deterministic:
/// the same (seed, as_of) gives byte-identical files.
pub fn generate_bills(seed: u64, as_of: Date) -> Vec<BillFile> {
    let months = months(as_of);
    let restated = MONTHS - 3;
    let mut files = vec![rates_file(seed, &months, as_of)];
    files.extend(months.iter().map(|m| aws_file(seed, *m, false)));
    files.push(aws_file(seed, months[restated], true));
    // The amortized export was set up when the reservation was bought (before, it would equal the actual one).
    files.extend(months.iter().flat_map(|m| {
        std::iter::once(azure_file(seed, *m, false))
            .chain((m.index >= RI_MONTH).then(|| azure_file(seed, *m, true)))
    }));
    files.extend(months.iter().map(|m| gcp_file(seed, *m)));
    files.extend(months.iter().map(|m| datadog_file(seed, *m)));
    files.push(BillFile { name: SAAS_MAPPING.into(), contents: SAAS_TOML.into(), role: BillRole::Mapping });
    files.extend(months.iter().map(|m| saas_file(seed, *m)));
    files.push(BillFile { name: GL_MAPPING.into(), contents: GL_TOML.into(), role: BillRole::Mapping });
    files.extend(months.iter().map(|m| gl_file(seed, *m)));
    files
}

// ---------------------------------------------------------------------------------------------------------
// Tags: who owns what. Services and cost centres are demo_gen's (its tests check they exist there).

#[derive(Debug)]
struct Tag {
    team: &'static str,
    service: &'static str,
    cost_centre: &'static str,
}

const fn t(team: &'static str, service: &'static str, cost_centre: &'static str) -> Tag {
    Tag { team, service, cost_centre }
}

/// The tag sets cloud resources carry; each service's cost centre is its owner in demo_gen.
const TAGS: &[Tag] = &[
    t("web", "Customer Portal", "CC-2300"),
    t("payments", "Payments API", "CC-1100"),
    t("data", "Data Warehouse", "CC-1300"),
    t("platform", "Kubernetes Platform", "CC-1200"),
    t("mobile", "Mobile App Backend", "CC-2400"),
    t("search", "Search Service", "CC-2300"),
    t("sre", "Observability", "CC-1100"),
    t("ml", "Machine Learning Platform", "CC-1300"),
    t("data", "Data Pipelines", "CC-1300"),
    t("platform", "DNS & CDN", "CC-1200"),
    t("marketing", "Marketing Website", "CC-4200"),
    t("platform", "Notification Service", "CC-1100"),
    t("enterprise-apps", "Billing & Invoicing", "CC-1700"),
    t("bi", "Reporting & BI", "CC-1300"),
    t("sales-eng", "Partner Portal", "CC-3000"),
];

/// The tag set of a service; `-` is an untagged resource.
fn tag(service: &str) -> Option<&'static Tag> {
    if service == "-" {
        return None;
    }
    Some(TAGS.iter().find(|t| t.service == service).unwrap_or_else(|| panic!("no tag set for {service}")))
}

// ---------------------------------------------------------------------------------------------------------
// Exchange rates.

fn rates_file(seed: u64, months: &[Month], as_of: Date) -> BillFile {
    let mut rng = Rng::new(seed, "rates", 0);
    let from = months[0].start.checked_sub(Span::new().days(10)).unwrap_or(months[0].start);
    // Up to the demo's today, as an organisation imports each day's fixing: estimates "at today's rates" (the
    // refresh plan's budget) find one.
    let to = months[MONTHS - 1].end().max(as_of);
    // Ten-thousandths of a unit per euro, each pulled gently back towards its anchor.
    let (mut usd, mut gbp) = (10_850_i64, 8_550_i64);
    let mut rows = Vec::new();
    for day in from.series(Span::new().days(1)).take_while(|d| *d <= to) {
        if is_weekend(day) {
            continue;
        }
        usd = walk(&mut rng, usd, 10_850, 40);
        gbp = walk(&mut rng, gbp, 8_550, 25);
        rows.push(format!("{day},{},{}\n", ten_thousandths(usd), ten_thousandths(gbp)));
    }
    // Newest first, as the ECB publishes its history.
    let mut text = String::from("Date,USD,GBP\n");
    text.extend(rows.into_iter().rev());
    BillFile { name: "rates-ecb.csv".into(), contents: text.into_bytes(), role: BillRole::Rates }
}

fn walk(rng: &mut Rng, value: i64, anchor: i64, step: i64) -> i64 {
    let delta = rng.below(2 * step as u64 + 1) as i64 - step;
    value + delta + (anchor - value) / 25
}

fn ten_thousandths(v: i64) -> String {
    format!("{}.{:04}", v / 10_000, v % 10_000)
}

// ---------------------------------------------------------------------------------------------------------
// AWS: Cost and Usage Report 2.0.

const AWS_PAYER: (&str, &str) = ("123456789012", "corp-example-management");
const AWS_ACCOUNTS: [(&str, &str); 3] =
    [("210987654321", "corp-prod"), ("345678901234", "corp-staging"), ("456789012345", "corp-data")];
const SP_ARN: &str = "arn:aws:savingsplans::123456789012:savingsplan/3f1c6a2e-8b7d-4c1e-9a55-0d2f6b7e1c40";
/// The resource whose usage the restatement corrects (and refunds).
const RESTATED_RESOURCE: &str = "arn:aws:cloudfront::210987654321:distribution/E2QWRUHAPOMQZL";

/// account (0 prod, 1 staging, 2 data)|product code|usage type|operation|pricing unit|on-demand rate|
/// quantity a day|resource id|service tag (- untagged)|flags (covered: a fixed fleet the Savings Plan covers;
/// weekday: quieter at weekends)|description.
const AWS_RESOURCES: &[&str] = &[
    "0|AmazonEC2|USE1-BoxUsage:m6i.2xlarge|RunInstances|Hrs|0.384|576|i-0a4f1c9e2b7d30011|Kubernetes Platform|covered|$0.384 per On Demand Linux m6i.2xlarge Instance Hour",
    "0|AmazonEC2|USE1-BoxUsage:m6i.xlarge|RunInstances|Hrs|0.192|384|i-0b7e2d4a9c1f50022|Customer Portal|covered|$0.192 per On Demand Linux m6i.xlarge Instance Hour",
    "0|AmazonEC2|USE1-BoxUsage:c6i.2xlarge|RunInstances|Hrs|0.34|288|i-0c1d8e3f6a2b40033|Payments API||$0.34 per On Demand Linux c6i.2xlarge Instance Hour",
    "0|AmazonEC2|USE1-BoxUsage:r6i.xlarge|RunInstances|Hrs|0.252|192|i-0d9a7b5c3e1f20044|Search Service||$0.252 per On Demand Linux r6i.xlarge Instance Hour",
    "0|AmazonEC2|USE1-BoxUsage:m6i.large|RunInstances|Hrs|0.096|288|i-0e2c4a6b8d0f10055|Mobile App Backend||$0.096 per On Demand Linux m6i.large Instance Hour",
    "1|AmazonEC2|USE1-BoxUsage:m6i.xlarge|RunInstances|Hrs|0.192|288|i-0f3b5d7e9a1c20066|Kubernetes Platform|weekday|$0.192 per On Demand Linux m6i.xlarge Instance Hour",
    "1|AmazonEC2|USE1-BoxUsage:t3.large|RunInstances|Hrs|0.0832|384|i-01a3c5e7b9d2f0077|-|weekday|$0.0832 per On Demand Linux t3.large Instance Hour",
    "2|AmazonEC2|USE1-BoxUsage:r6i.4xlarge|RunInstances|Hrs|1.008|192|i-02b4d6f8a0c1e0088|Data Warehouse||$1.008 per On Demand Linux r6i.4xlarge Instance Hour",
    "2|AmazonEC2|USE1-BoxUsage:g5.xlarge|RunInstances|Hrs|1.006|96|i-03c5e7a9b1d3f0099|Machine Learning Platform||$1.006 per On Demand Linux g5.xlarge Instance Hour",
    "0|AmazonEC2|USE1-EBS:VolumeUsage.gp3|CreateVolume-Gp3|GB-Mo|0.08|533.3333|vol-0a1b2c3d4e5f60101|Kubernetes Platform||$0.08 per GB-month of General Purpose (gp3) provisioned storage - US East (Northern Virginia)",
    "2|AmazonEC2|USE1-EBS:VolumeUsage.gp3|CreateVolume-Gp3|GB-Mo|0.08|800|vol-0b2c3d4e5f6a70202|Data Warehouse||$0.08 per GB-month of General Purpose (gp3) provisioned storage - US East (Northern Virginia)",
    "0|AmazonS3|USE1-TimedStorage-ByteHrs|StandardStorage|GB-Mo|0.023|2666.6667|corp-portal-assets|Customer Portal||$0.023 per GB - first 50 TB / month of storage used",
    "2|AmazonS3|USE1-TimedStorage-ByteHrs|StandardStorage|GB-Mo|0.023|16000|corp-datalake-raw|Data Pipelines||$0.023 per GB - first 50 TB / month of storage used",
    "0|AmazonS3|USE1-TimedStorage-ByteHrs|StandardStorage|GB-Mo|0.023|2000|corp-backups-prod|-||$0.023 per GB - first 50 TB / month of storage used",
    "0|AmazonS3|USE1-Requests-Tier1|PutObject|Requests|0.000005|8000000|corp-portal-assets|Customer Portal||$0.005 per 1,000 PUT, COPY, POST, or LIST requests",
    "0|AmazonRDS|USE1-Multi-AZUsage:db.r6g.xlarge|CreateDBInstance:0014|Hrs|1.038|96|arn:aws:rds:us-east-1:210987654321:db:payments-prod|Payments API||$1.038 per RDS db.r6g.xlarge Multi-AZ instance hour (or partial hour) running PostgreSQL",
    "0|AmazonRDS|USE1-Multi-AZUsage:db.r6g.large|CreateDBInstance:0014|Hrs|0.518|96|arn:aws:rds:us-east-1:210987654321:db:portal-prod|Customer Portal||$0.518 per RDS db.r6g.large Multi-AZ instance hour (or partial hour) running PostgreSQL",
    "1|AmazonRDS|USE1-InstanceUsage:db.t4g.medium|CreateDBInstance:0014|Hrs|0.065|96|arn:aws:rds:us-east-1:345678901234:db:portal-staging|Customer Portal||$0.065 per RDS db.t4g.medium instance hour (or partial hour) running PostgreSQL",
    "0|AmazonRDS|USE1-RDS:Multi-AZ-GP3-Storage|CreateDBInstance:0014|GB-Mo|0.23|133.3333|arn:aws:rds:us-east-1:210987654321:db:payments-prod|Payments API||$0.23 per GB-month of provisioned gp3 storage running Multi-AZ",
    "0|AWSLambda|USE1-Lambda-GB-Second|Invoke|Lambda-GB-Second|0.0000166667|2400000|arn:aws:lambda:us-east-1:210987654321:function:notification-dispatch|Notification Service||AWS Lambda - Total Compute - US East (Northern Virginia)",
    "0|AWSLambda|USE1-Request|Invoke|Requests|0.0000002|20000000|arn:aws:lambda:us-east-1:210987654321:function:notification-dispatch|Notification Service||AWS Lambda - Total Requests - US East (Northern Virginia)",
    "2|AWSLambda|USE1-Lambda-GB-Second|Invoke|Lambda-GB-Second|0.0000166667|1200000|arn:aws:lambda:us-east-1:456789012345:function:etl-trigger|Data Pipelines||AWS Lambda - Total Compute - US East (Northern Virginia)",
    "0|AmazonCloudFront|US-DataTransfer-Out-Bytes|GET|GB|0.085|1600|arn:aws:cloudfront::210987654321:distribution/E2QWRUHAPOMQZL|DNS & CDN||$0.085 per GB - first 10 TB / month data transfer out (United States)",
    "0|AmazonCloudFront|US-DataTransfer-Out-Bytes|GET|GB|0.085|240|arn:aws:cloudfront::210987654321:distribution/E1MKTG7QXWEB42|Marketing Website||$0.085 per GB - first 10 TB / month data transfer out (United States)",
    "0|AmazonDynamoDB|USE1-ReadRequestUnits|GetItem|ReadRequestUnits|0.00000025|80000000|arn:aws:dynamodb:us-east-1:210987654321:table/mobile-sessions|Mobile App Backend||$0.25 per million read request units",
    "0|AmazonDynamoDB|USE1-WriteRequestUnits|PutItem|WriteRequestUnits|0.00000125|32000000|arn:aws:dynamodb:us-east-1:210987654321:table/mobile-sessions|Mobile App Backend||$1.25 per million write request units",
    "0|AmazonDynamoDB|USE1-WriteRequestUnits|PutItem|WriteRequestUnits|0.00000125|16000000|arn:aws:dynamodb:us-east-1:210987654321:table/payments-ledger|Payments API||$1.25 per million write request units",
    "0|AmazonCloudWatch|USE1-CW:MetricMonitorUsage|MetricStorage|Metrics|0.3|200||Observability||$0.30 per metric-month for the first 10,000 metrics",
    "0|AmazonCloudWatch|USE1-DataProcessing-Bytes|PutLogEvents|GB|0.5|120|arn:aws:logs:us-east-1:210987654321:log-group:/eks/prod|Observability||$0.50 per GB custom log data ingested",
    "1|AmazonCloudWatch|USE1-DataProcessing-Bytes|PutLogEvents|GB|0.5|32|arn:aws:logs:us-east-1:345678901234:log-group:/eks/staging|-|weekday|$0.50 per GB custom log data ingested",
    "0|AWSDataTransfer|USE1-DataTransfer-Out-Bytes|RunInstances|GB|0.09|1000|i-0a4f1c9e2b7d30011|Kubernetes Platform||$0.090 per GB - first 10 TB / month data transfer out beyond the global free tier",
    "0|AWSDataTransfer|USE1-USE2-AWS-Out-Bytes|PublicIP-Out|GB|0.02|1200|i-0c1d8e3f6a2b40033|-||$0.02 per GB - US East (Northern Virginia) data transfer to US East (Ohio)",
    "2|AWSDataTransfer|USE1-DataTransfer-Regional-Bytes|InterZone-In|GB|0.01|2000|i-02b4d6f8a0c1e0088|Data Warehouse||$0.010 per GB - regional data transfer - in/out/between EC2 AZs or using elastic IPs or ELB",
];

#[derive(Debug)]
struct AwsResource {
    account: usize,
    code: &'static str,
    usage_type: &'static str,
    operation: &'static str,
    unit: &'static str,
    rate: Decimal,
    daily: Decimal,
    resource: &'static str,
    tag: Option<&'static Tag>,
    covered: bool,
    weekday: bool,
    description: &'static str,
}

fn aws_resources() -> Vec<AwsResource> {
    AWS_RESOURCES
        .iter()
        .map(|line| {
            let [acct, code, usage_type, operation, unit, rate, daily, resource, service, flags, description] =
                fields(line);
            AwsResource {
                account: acct.parse().expect("an account index"),
                code,
                usage_type,
                operation,
                unit,
                rate: dec(rate),
                daily: dec(daily),
                resource,
                tag: tag(service),
                covered: flags == "covered",
                weekday: flags == "weekday",
                description,
            }
        })
        .collect()
}

/// The Savings Plan's price relative to on demand.
fn sp_discount() -> Decimal {
    Decimal::new(72, 2)
}

/// The hourly commitment: what the covered fleet uses at Savings Plan prices, with 3% headroom.
fn sp_commitment(resources: &[AwsResource]) -> Decimal {
    let daily: Decimal = resources
        .iter()
        .filter(|r| r.covered)
        .map(|r| round(round(round(r.daily, 4) * r.rate, 8) * sp_discount(), 8))
        .sum();
    round(daily / Decimal::from(24) * Decimal::new(103, 2), 2)
}

fn product_name(code: &str) -> &'static str {
    match code {
        "AmazonEC2" => "Amazon Elastic Compute Cloud",
        "AmazonS3" => "Amazon Simple Storage Service",
        "AmazonRDS" => "Amazon Relational Database Service",
        "AWSLambda" => "AWS Lambda",
        "AmazonCloudFront" => "Amazon CloudFront",
        "AmazonDynamoDB" => "Amazon DynamoDB",
        "AmazonCloudWatch" => "AmazonCloudWatch",
        "AWSDataTransfer" => "AWS Data Transfer",
        "ComputeSavingsPlans" => "Savings Plans for AWS Compute usage",
        _ => "",
    }
}

const CUR2_HEADER: &[&str] = &[
    "identity_line_item_id",
    "identity_time_interval",
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_billing_entity",
    "bill_bill_type",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_availability_zone",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_currency_code",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "line_item_blended_rate",
    "line_item_blended_cost",
    "line_item_line_item_description",
    "line_item_tax_type",
    "line_item_legal_entity",
    "product",
    "product_product_name",
    "product_servicecode",
    "product_region_code",
    "product_location",
    "product_sku",
    "pricing_term",
    "pricing_unit",
    "pricing_public_on_demand_rate",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_rate",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "resource_tags",
];

/// One CUR line before it is written.
#[derive(Debug, Default)]
struct Cur {
    kind: &'static str,
    bill_type: &'static str,
    invoice: String,
    account: usize,
    start: String,
    end: String,
    code: &'static str,
    usage_type: &'static str,
    operation: &'static str,
    resource: &'static str,
    amount: Option<Decimal>,
    rate: Option<Decimal>,
    cost: Decimal,
    description: String,
    tax_type: &'static str,
    unit: &'static str,
    on_demand: Option<(Decimal, Decimal)>,
    sp_rate: Option<Decimal>,
    sp_effective: Option<Decimal>,
    sp_commitment: Option<(Decimal, Decimal)>,
    sp: bool,
    tag: Option<&'static Tag>,
}

impl Cur {
    fn cells(&self, id: String, m: Month) -> Vec<(&'static str, String)> {
        let (acct_id, acct_name) = AWS_ACCOUNTS[self.account];
        let product = product_name(self.code);
        let usage = matches!(self.kind, "Usage" | "SavingsPlanCoveredUsage" | "SavingsPlanNegation");
        let (region, location) = match self.code {
            _ if !usage => ("", ""),
            "AmazonCloudFront" => ("", "United States"),
            _ => ("us-east-1", "US East (N. Virginia)"),
        };
        let az =
            if self.usage_type.contains("BoxUsage") || self.code == "AmazonRDS" { "us-east-1a" } else { "" };
        let opt = |v: Option<Decimal>| v.map(text).unwrap_or_default();
        let mut cells = vec![
            ("identity_line_item_id", id),
            ("identity_time_interval", format!("{}/{}", self.start, self.end)),
            ("bill_invoice_id", self.invoice.clone()),
            ("bill_invoicing_entity", "Amazon Web Services, Inc.".into()),
            ("bill_billing_entity", "AWS".into()),
            ("bill_bill_type", self.bill_type.into()),
            ("bill_payer_account_id", AWS_PAYER.0.into()),
            ("bill_payer_account_name", AWS_PAYER.1.into()),
            ("bill_billing_period_start_date", iso(m.start)),
            ("bill_billing_period_end_date", iso(m.next())),
            ("line_item_usage_account_id", acct_id.into()),
            ("line_item_usage_account_name", acct_name.into()),
            ("line_item_line_item_type", self.kind.into()),
            ("line_item_usage_start_date", self.start.clone()),
            ("line_item_usage_end_date", self.end.clone()),
            ("line_item_product_code", self.code.into()),
            ("line_item_usage_type", self.usage_type.into()),
            ("line_item_operation", self.operation.into()),
            ("line_item_availability_zone", if usage { az.into() } else { String::new() }),
            ("line_item_resource_id", self.resource.into()),
            ("line_item_usage_amount", opt(self.amount)),
            ("line_item_currency_code", "USD".into()),
            ("line_item_unblended_rate", opt(self.rate)),
            ("line_item_unblended_cost", text(self.cost)),
            ("line_item_blended_rate", opt(self.rate)),
            ("line_item_blended_cost", text(self.cost)),
            ("line_item_line_item_description", self.description.clone()),
            ("line_item_tax_type", self.tax_type.into()),
            ("line_item_legal_entity", "Amazon Web Services, Inc.".into()),
            ("product_product_name", product.into()),
            ("product_servicecode", self.code.into()),
            ("product_region_code", region.into()),
            ("product_location", location.into()),
            ("pricing_unit", self.unit.into()),
            ("resource_tags", self.tag.map(aws_tags).unwrap_or_default()),
        ];
        if usage || self.kind == "SavingsPlanRecurringFee" {
            let map = serde_json::json!({ "servicename": product, "usagetype": self.usage_type });
            cells.push(("product", map.to_string()));
            cells.push(("product_sku", sku(&format!("{}{}", self.code, self.usage_type))));
        }
        if usage {
            cells.push(("pricing_term", "OnDemand".into()));
        }
        if let Some((rate, cost)) = self.on_demand {
            cells.push(("pricing_public_on_demand_rate", text(rate)));
            cells.push(("pricing_public_on_demand_cost", text(cost)));
        }
        if self.sp {
            cells.push(("savings_plan_savings_plan_a_r_n", SP_ARN.into()));
            cells.push(("savings_plan_savings_plan_rate", opt(self.sp_rate)));
            cells.push(("savings_plan_savings_plan_effective_cost", opt(self.sp_effective)));
        }
        if let Some((total, used)) = self.sp_commitment {
            cells.push(("savings_plan_total_commitment_to_date", text(total)));
            cells.push(("savings_plan_used_commitment", text(used)));
        }
        cells
    }
}

fn aws_tags(t: &Tag) -> String {
    serde_json::json!({ "user_team": t.team, "user_service": t.service, "user_cost-centre": t.cost_centre })
        .to_string()
}

/// One month's CUR; `restated` gives the restatement of that month (corrected usage and a late refund).
fn aws_file(seed: u64, m: Month, restated: bool) -> BillFile {
    let mut rng = Rng::new(seed, "aws", m.index);
    let resources = aws_resources();
    let invoice = format!("41{:04}{:02}8372", m.start.year(), m.start.month());
    let period = (iso(m.start), iso(m.next()));
    let sp_active = m.index >= SP_MONTH;
    let mut lines: Vec<Cur> = Vec::new();
    let mut tax_base: BTreeMap<(usize, &str), Decimal> = BTreeMap::new();
    let (mut sp_used, mut restated_cost) = (Decimal::ZERO, Decimal::ZERO);
    for day in m.days() {
        let (start, end) = (iso(day), iso(day.tomorrow().unwrap_or(day)));
        for r in &resources {
            let mut qty = m.quantity(&mut rng, r.daily, day, r.covered, r.weekday);
            if restated && r.resource == RESTATED_RESOURCE && (8..=12).contains(&day.day()) {
                // The correction: this distribution was over-metered for five days.
                qty = round(qty * Decimal::new(85, 2), 4);
            }
            let cost = round(qty * r.rate, 8);
            if r.resource == RESTATED_RESOURCE {
                restated_cost += cost;
            }
            let line = Cur {
                bill_type: "Anniversary",
                invoice: invoice.clone(),
                account: r.account,
                start: start.clone(),
                end: end.clone(),
                code: r.code,
                usage_type: r.usage_type,
                operation: r.operation,
                resource: r.resource,
                amount: Some(qty),
                rate: Some(r.rate),
                cost,
                description: r.description.into(),
                unit: r.unit,
                on_demand: Some((r.rate, cost)),
                tag: r.tag,
                ..Cur::default()
            };
            if r.covered && sp_active {
                let effective = round(cost * sp_discount(), 8);
                sp_used += effective;
                let covered = Cur {
                    kind: "SavingsPlanCoveredUsage",
                    sp_rate: Some(round(r.rate * sp_discount(), 8)),
                    sp_effective: Some(effective),
                    sp: true,
                    ..line
                };
                let negation = negation_of(&covered);
                lines.extend([covered, negation]);
            } else {
                *tax_base.entry((r.account, r.code)).or_default() += cost;
                lines.push(Cur { kind: "Usage", ..line });
            }
        }
    }
    if sp_active {
        let hourly = sp_commitment(&resources);
        let hours = Decimal::from(24 * i64::from(m.start.days_in_month()));
        let fee = round(hourly * hours, 8);
        *tax_base.entry((0, "ComputeSavingsPlans")).or_default() += fee;
        lines.push(Cur {
            kind: "SavingsPlanRecurringFee",
            bill_type: "Anniversary",
            invoice: invoice.clone(),
            start: period.0.clone(),
            end: period.1.clone(),
            code: "ComputeSavingsPlans",
            usage_type: "ComputeSP:1yrNoUpfront",
            resource: SP_ARN,
            amount: Some(hours),
            rate: Some(hourly),
            cost: fee,
            description: format!("1 year No Upfront Compute Savings Plan with ${hourly} hourly commitment"),
            unit: "Hrs",
            sp: true,
            sp_commitment: Some((fee, sp_used)),
            ..Cur::default()
        });
    }
    if m.index == AWS_CREDIT_MONTH {
        lines.push(Cur {
            kind: "Credit",
            bill_type: "Anniversary",
            invoice: invoice.clone(),
            start: period.0.clone(),
            end: period.1.clone(),
            code: "AmazonEC2",
            cost: -Decimal::from(2_500),
            description: "AWS Credits: promotional credit (Migration Acceleration Program)".into(),
            ..Cur::default()
        });
    }
    for ((account, code), base) in &tax_base {
        lines.push(Cur {
            kind: "Tax",
            bill_type: "Anniversary",
            invoice: invoice.clone(),
            account: *account,
            start: period.0.clone(),
            end: period.1.clone(),
            code,
            cost: round(*base * Decimal::new(6, 2), 2),
            description: format!("Tax for product code {code}"),
            tax_type: "Sales Tax",
            ..Cur::default()
        });
    }
    if restated {
        let refund = round(restated_cost * Decimal::new(8, 2), 2);
        lines.push(Cur {
            kind: "Refund",
            bill_type: "Refund",
            invoice: format!("42{:04}{:02}1907", m.start.year(), m.start.month()),
            start: period.0.clone(),
            end: period.1.clone(),
            code: "AmazonCloudFront",
            resource: RESTATED_RESOURCE,
            cost: -refund,
            description: "Refund: SLA credit for the CloudFront service event of the 10th".into(),
            ..Cur::default()
        });
    }
    let mut table = Table::new(CUR2_HEADER);
    for line in &lines {
        table.row(&line.cells(rng.line_item_id(), m));
    }
    let suffix = if restated { "-restated" } else { "" };
    cost_file(format!("aws-cur2-{}{suffix}.csv", m.label()), table.finish(), None)
}

/// The negation of a covered-usage line: its on-demand cost taken back off.
fn negation_of(covered: &Cur) -> Cur {
    Cur {
        kind: "SavingsPlanNegation",
        bill_type: covered.bill_type,
        invoice: covered.invoice.clone(),
        account: covered.account,
        start: covered.start.clone(),
        end: covered.end.clone(),
        code: covered.code,
        usage_type: covered.usage_type,
        operation: covered.operation,
        resource: covered.resource,
        amount: Some(Decimal::ZERO),
        rate: covered.rate,
        cost: -covered.cost,
        description: format!("Savings Plan Negation used by AccountId : {}", AWS_ACCOUNTS[covered.account].0),
        unit: covered.unit,
        on_demand: covered.on_demand.map(|(rate, _)| (rate, Decimal::ZERO)),
        sp: true,
        tag: covered.tag,
        ..Cur::default()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Azure: EA cost details.

const AZURE_HEADER: &[&str] = &[
    "InvoiceSectionName",
    "AccountName",
    "AccountOwnerId",
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroup",
    "ResourceLocation",
    "Date",
    "ProductName",
    "MeterCategory",
    "MeterSubCategory",
    "MeterId",
    "MeterName",
    "MeterRegion",
    "UnitOfMeasure",
    "Quantity",
    "EffectivePrice",
    "CostInBillingCurrency",
    "CostCenter",
    "ConsumedService",
    "ResourceId",
    "Tags",
    "OfferId",
    "AdditionalInfo",
    "ServiceInfo1",
    "ServiceInfo2",
    "ResourceName",
    "ReservationId",
    "ReservationName",
    "UnitPrice",
    "ProductOrderId",
    "ProductOrderName",
    "Term",
    "PublisherType",
    "PublisherName",
    "ChargeType",
    "Frequency",
    "PricingModel",
    "AvailabilityZone",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrencyCode",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "InvoiceSectionId",
    "IsAzureCreditEligible",
    "PartNumber",
    "PayGPrice",
    "PlanName",
    "ServiceFamily",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
];

const AZURE_ENROLLMENT: (&str, &str) = ("81234567", "Corp Example EMEA (EA)");
const AZURE_SUBSCRIPTIONS: [(&str, &str); 2] = [
    ("5f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e01", "corp-emea-production"),
    ("7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c02", "corp-emea-devtest"),
];
const AZURE_RESERVATION: &str = "RI-Dv5-EUW-1yr";

/// subscription|resource group|resource name|provider/type|meter category|meter subcategory|meter name|
/// product|unit|pay-as-you-go price (EUR)|quantity a day|service tag|flags (reserved: a fixed fleet the
/// reservation covers once bought; weekday: quieter at weekends)|service family.
const AZURE_RESOURCES: &[&str] = &[
    "0|rg-billing-prod|vmss-billing|Microsoft.Compute/virtualMachineScaleSets|Virtual Machines|Dv5/DSv5 Series|D4s v5|Virtual Machines Dv5/DSv5 Series - D4s v5 - EU West|1 Hour|0.216|144|Billing & Invoicing|reserved|Compute",
    "0|rg-portal-eu|vmss-portal-eu|Microsoft.Compute/virtualMachineScaleSets|Virtual Machines|Dv5/DSv5 Series|D8s v5|Virtual Machines Dv5/DSv5 Series - D8s v5 - EU West|1 Hour|0.432|144|Customer Portal|reserved|Compute",
    "0|rg-bi-prod|vm-bi-01|Microsoft.Compute/virtualMachines|Virtual Machines|Ev5/ESv5 Series|E8s v5|Virtual Machines Ev5/ESv5 Series - E8s v5 - EU West|1 Hour|0.576|24|Reporting & BI||Compute",
    "1|rg-build-agents|vmss-build-agents|Microsoft.Compute/virtualMachineScaleSets|Virtual Machines|Dv5/DSv5 Series|D4s v5|Virtual Machines Dv5/DSv5 Series - D4s v5 - EU West|1 Hour|0.216|48|-|weekday|Compute",
    "0|rg-portal-eu|disk-portal-eu-data|Microsoft.Compute/disks|Storage|Premium SSD Managed Disks|P30 LRS Disk|Premium SSD Managed Disks - P30 LRS - EU West|1/Month|135.17|0.2|Customer Portal||Storage",
    "0|rg-bi-prod|stbidatalake|Microsoft.Storage/storageAccounts|Storage|General Block Blob v2|Hot LRS Data Stored|General Block Blob v2 Hierarchical Namespace - Hot LRS - EU West|1 GB/Month|0.0196|2000|Reporting & BI||Storage",
    "0|rg-billing-prod|stbillingbackup|Microsoft.Storage/storageAccounts|Storage|General Block Blob v2|Cool LRS Data Stored|General Block Blob v2 - Cool LRS - EU West|1 GB/Month|0.01|600|Billing & Invoicing||Storage",
    "0|rg-billing-prod|sqldb-billing|Microsoft.Sql/servers/databases|SQL Database|General Purpose - Compute Gen5|vCore|SQL Database Single/Elastic Pool General Purpose - Compute Gen5 - EU West|1 Hour|0.2345|192|Billing & Invoicing||Databases",
    "0|rg-portal-eu|sqldb-portal-eu|Microsoft.Sql/servers/databases|SQL Database|General Purpose - Compute Gen5|vCore|SQL Database Single/Elastic Pool General Purpose - Compute Gen5 - EU West|1 Hour|0.2345|96|Customer Portal||Databases",
    "0|rg-portal-eu|vmss-portal-eu|Microsoft.Compute/virtualMachineScaleSets|Bandwidth|Rtn Preference: MGN|Standard Data Transfer Out|Rtn Preference: MGN - Standard Data Transfer Out - Zone 1|1 GB|0.08|400|Customer Portal||Networking",
    "0|rg-partner-portal|asp-partner-portal|Microsoft.Web/serverFarms|Azure App Service|Premium v3 Plan|P1 v3 App|Azure App Service Premium v3 Plan - P1 v3 - EU West|1 Hour|0.162|72|Partner Portal||Compute",
    "1|rg-dev-apps|asp-dev-sandbox|Microsoft.Web/serverFarms|Azure App Service|Basic Plan|B2 App|Azure App Service Basic Plan - B2 - EU West|1 Hour|0.07|24|-||Compute",
    "1|rg-build-agents|vmss-build-agents|Microsoft.Compute/virtualMachineScaleSets|Bandwidth|Rtn Preference: MGN|Standard Data Transfer Out|Rtn Preference: MGN - Standard Data Transfer Out - Zone 1|1 GB|0.08|40|-|weekday|Networking",
];

/// The reservation's price relative to pay-as-you-go, and the EA discount on everything else.
fn azure_prices(payg: Decimal) -> (Decimal, Decimal) {
    (round(payg * Decimal::new(95, 2), 4), round(payg * Decimal::new(62, 2), 4))
}

/// One month of Azure cost details, as the actual-cost export or the amortized-cost export gives it: the same
/// usage; the reservation's cost on its purchase in the first, on the usage it covers in the second.
fn azure_file(seed: u64, m: Month, amortized: bool) -> BillFile {
    let mut rng = Rng::new(seed, "azure", m.index);
    let mut table = Table::new(AZURE_HEADER);
    let reservation_id = guid("azure reservation");
    let order_id = guid("azure reservation order");
    let benefit_id =
        format!("/providers/Microsoft.Capacity/reservationOrders/{order_id}/reservations/{reservation_id}");
    let mut reserved_hourly = Decimal::ZERO;
    let common = |sub: usize| -> Vec<(&'static str, String)> {
        let (sub_id, sub_name) = AZURE_SUBSCRIPTIONS[sub];
        vec![
            ("InvoiceSectionName", "EMEA IT"),
            ("AccountName", "EMEA Cloud Operations"),
            ("AccountOwnerId", "cloud-emea@corp.example"),
            ("SubscriptionId", sub_id),
            ("SubscriptionName", sub_name),
            ("ResourceLocation", "westeurope"),
            ("MeterRegion", "EU West"),
            ("OfferId", "MS-AZR-0017P"),
            ("PublisherType", "Azure"),
            ("PublisherName", "Microsoft"),
            ("BillingAccountId", AZURE_ENROLLMENT.0),
            ("BillingAccountName", AZURE_ENROLLMENT.1),
            ("BillingCurrencyCode", "EUR"),
            ("BillingProfileId", AZURE_ENROLLMENT.0),
            ("BillingProfileName", AZURE_ENROLLMENT.1),
            ("InvoiceSectionId", "2b6d1e0f-7c3a-4e58-9f14-6a0d3c8e5b71"),
            ("IsAzureCreditEligible", "TRUE"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .chain([("BillingPeriodStartDate", mdy(m.start)), ("BillingPeriodEndDate", mdy(m.end()))])
        .collect()
    };
    for day in m.days() {
        for line in AZURE_RESOURCES {
            let [
                sub,
                rg,
                name,
                provider,
                category,
                subcategory,
                meter,
                product,
                unit,
                payg,
                daily,
                service,
                flags,
                family,
            ] = fields(line);
            let sub: usize = sub.parse().expect("a subscription index");
            let (payg, reserved) = (dec(payg), flags == "reserved");
            let qty = m.quantity(&mut rng, dec(daily), day, reserved, flags == "weekday");
            let (unit_price, ri_price) = azure_prices(payg);
            let covered = reserved && m.index >= RI_MONTH;
            let price = match (covered, amortized) {
                (true, true) => ri_price,
                (true, false) => Decimal::ZERO,
                (false, _) => unit_price,
            };
            if covered && day == m.start {
                reserved_hourly += ri_price * qty / Decimal::from(24);
            }
            let resource_id = format!(
                "/subscriptions/{}/resourceGroups/{rg}/providers/{provider}/{name}",
                AZURE_SUBSCRIPTIONS[sub].0
            );
            let mut cells = common(sub);
            cells.extend([
                ("ResourceGroup", rg.to_string()),
                ("Date", mdy(day)),
                ("ProductName", product.into()),
                ("MeterCategory", category.into()),
                ("MeterSubCategory", subcategory.into()),
                ("MeterId", guid(product)),
                ("MeterName", meter.into()),
                ("UnitOfMeasure", unit.into()),
                ("Quantity", text(qty)),
                ("EffectivePrice", text(price)),
                ("CostInBillingCurrency", text(round(qty * price, 6))),
                ("ConsumedService", provider.split('/').next().unwrap_or_default().into()),
                ("ResourceId", resource_id),
                ("Tags", tag(service).map(azure_tags).unwrap_or_default()),
                ("ResourceName", name.into()),
                ("UnitPrice", text(unit_price)),
                ("ChargeType", "Usage".into()),
                ("Frequency", "UsageBased".into()),
                ("PricingModel", if covered { "Reservation" } else { "OnDemand" }.into()),
                ("PartNumber", format!("AAA-{}", &sku(product)[..5])),
                ("PayGPrice", text(payg)),
                ("ServiceFamily", family.into()),
            ]);
            if category == "Virtual Machines" {
                let size = format!("Standard_{}", meter.replace(' ', "_"));
                cells.push(("AdditionalInfo", serde_json::json!({ "ServiceType": size }).to_string()));
            }
            if covered {
                cells.extend([
                    ("ReservationId", reservation_id.clone()),
                    ("ReservationName", AZURE_RESERVATION.into()),
                    ("benefitId", benefit_id.clone()),
                    ("benefitName", AZURE_RESERVATION.into()),
                ]);
            }
            table.row(&cells);
        }
    }
    if m.index == RI_MONTH && !amortized {
        // One year paid upfront for the D-series fleet the reservation covers.
        let cost = round(reserved_hourly * Decimal::from(24 * 365), 2);
        let mut cells = common(0);
        cells.extend([
            ("Date", mdy(m.start)),
            (
                "ProductName",
                "Reserved VM Instance, Dv5 Series (instance size flexibility), EU West, 1 Year".into(),
            ),
            ("MeterCategory", "Virtual Machines".into()),
            ("Quantity", "1".into()),
            ("EffectivePrice", text(cost)),
            ("CostInBillingCurrency", text(cost)),
            ("UnitPrice", text(cost)),
            ("ReservationId", reservation_id),
            ("ReservationName", AZURE_RESERVATION.into()),
            ("ProductOrderId", order_id),
            ("ProductOrderName", AZURE_RESERVATION.into()),
            ("Term", "12".into()),
            ("ChargeType", "Purchase".into()),
            ("Frequency", "OneTime".into()),
            ("PricingModel", "Reservation".into()),
            ("ServiceFamily", "Compute".into()),
            ("benefitId", benefit_id),
            ("benefitName", AZURE_RESERVATION.into()),
        ]);
        table.row(&cells);
    }
    let kind = if amortized { "amortized" } else { "actual" };
    cost_file(format!("azure-{kind}-{}.csv", m.label()), table.finish(), None)
}

/// Tags as EA cost details write them: `"key": "value"` pairs without braces.
fn azure_tags(t: &Tag) -> String {
    format!(r#""team": {},"service": {},"cost-centre": {}"#, js(t.team), js(t.service), js(t.cost_centre))
}

// ---------------------------------------------------------------------------------------------------------
// GCP: BigQuery billing export, newline-delimited JSON.

const GCP_BILLING_ACCOUNT: &str = "01A2B3-C4D5E6-7F8091";
const GCP_PROJECTS: [(&str, &str, &str); 2] =
    [("data-platform", "482910375512", "Data Platform"), ("ml-research", "739201846630", "ML Research")];

/// project|service id|service|sku description|usage unit|pricing unit|usage units per pricing unit|price (USD
/// per pricing unit)|pricing units a day|resource|service tag|flags (sud: sustained-use discount; promo:
/// covered by the trial credit at first; weekday: quieter at weekends)|region.
const GCP_RESOURCES: &[&str] = &[
    "0|24E6-581D-38E5|BigQuery|Analysis (us)|bytes|tebibyte|1099511627776|6.25|12|bq-analytics|Data Warehouse||us",
    "0|24E6-581D-38E5|BigQuery|Active Logical Storage (us)|byte-seconds|gibibyte month|2783138611200000|0.02|1666.6667|bq-warehouse|Data Warehouse||us",
    "0|6F81-5844-456A|Compute Engine|N2 Instance Core running in Americas|seconds|hour|3600|0.031611|384|etl-workers|Data Pipelines|sud|us-central1",
    "0|6F81-5844-456A|Compute Engine|N2 Instance Ram running in Americas|byte-seconds|gibibyte hour|3865470566400|0.004237|1536|etl-workers|Data Pipelines|sud|us-central1",
    "0|95FF-2EF5-5EA1|Cloud Storage|Standard Storage US Multi-region|byte-seconds|gibibyte month|2783138611200000|0.026|1000|corp-lake-curated|Data Pipelines||us",
    "0|6F81-5844-456A|Compute Engine|Network Internet Egress from Americas to Americas|bytes|gibibyte|1073741824|0.12|50|etl-workers|Data Pipelines||us-central1",
    "1|6F81-5844-456A|Compute Engine|N1 Predefined Instance Core running in Americas|seconds|hour|3600|0.031611|192|ml-train-01|Machine Learning Platform|sud|us-central1",
    "1|6F81-5844-456A|Compute Engine|Nvidia Tesla T4 GPU running in Americas|seconds|hour|3600|0.35|48|ml-train-01|Machine Learning Platform|sud|us-central1",
    "1|C7E2-9256-1C43|Vertex AI|Vertex AI Prediction: N1 Predefined Instance Core running in Americas|seconds|hour|3600|0.2185|48|endpoint-recommender|Machine Learning Platform|promo|us-central1",
    "1|C7E2-9256-1C43|Vertex AI|Vertex AI Training: N1 Predefined Instance Core running in Americas|seconds|hour|3600|0.437|16|training-jobs|Machine Learning Platform|promo|us-central1",
    "1|C7E2-9256-1C43|Vertex AI|Vertex AI Workbench Instance: N1 Predefined Instance Core running in Americas|seconds|hour|3600|0.19|36|workbench-scratch|-|weekday|us-central1",
    "1|95FF-2EF5-5EA1|Cloud Storage|Standard Storage US Regional|byte-seconds|gibibyte month|2783138611200000|0.02|300|ml-scratch-bucket|-||us-central1",
];

fn gcp_file(seed: u64, m: Month) -> BillFile {
    let mut rng = Rng::new(seed, "gcp", m.index);
    let invoice_month = format!("{:04}{:02}", m.start.year(), m.start.month());
    let mut out = String::new();
    // Net cost per (project, service), for the month's tax rows.
    let mut tax_base: BTreeMap<(usize, &str, &str), Decimal> = BTreeMap::new();
    for day in m.days() {
        let next = day.tomorrow().unwrap_or(day);
        for line in GCP_RESOURCES {
            let [
                project,
                service_id,
                service,
                sku_desc,
                unit,
                pricing_unit,
                per,
                price,
                daily,
                resource,
                tagged,
                flags,
                region,
            ] = fields(line);
            let p: usize = project.parse().expect("a project index");
            let qty = m.quantity(&mut rng, dec(daily), day, false, flags == "weekday");
            let price = dec(price);
            let cost = round(qty * price, 6);
            let mut credits = Vec::new();
            if flags == "sud" && day.day() > 7 {
                let amount = -round(cost * Decimal::new(20, 2), 6);
                credits.push(gcp_credit("Sustained Usage Discount", amount, "", "SUSTAINED_USAGE_DISCOUNT"));
            }
            if flags == "promo" && m.index < GCP_PROMO_MONTHS {
                let id = "promo-vertex-ai-trial";
                credits.push(gcp_credit("Vertex AI free trial credit", -cost, id, "PROMOTION"));
            }
            let net = cost + credits.iter().map(|(a, _)| *a).sum::<Decimal>();
            *tax_base.entry((p, service_id, service)).or_default() += net;
            let labels = match tag(tagged) {
                Some(t) => format!(
                    r#"[{{"key":"team","value":{}}},{{"key":"service","value":{}}},{{"key":"cost-centre","value":{}}}]"#,
                    js(t.team),
                    js(t.service),
                    js(t.cost_centre)
                ),
                None => "[]".into(),
            };
            let (project_id, number, name) = GCP_PROJECTS[p];
            let global = match service {
                "Compute Engine" => format!(
                    "//compute.googleapis.com/projects/{project_id}/zones/{region}-a/instances/{resource}"
                ),
                "Cloud Storage" => format!("//storage.googleapis.com/projects/_/buckets/{resource}"),
                _ => format!("//{}.googleapis.com/projects/{project_id}/{resource}", service_host(service)),
            };
            let credits: Vec<String> = credits.into_iter().map(|(_, json)| json).collect();
            out.push_str(&format!(
                concat!(
                    r#"{{"billing_account_id":{},"service":{{"id":{},"description":{}}},"sku":{{"id":{},"description":{}}},"#,
                    r#""usage_start_time":"{}","usage_end_time":"{}","#,
                    r#""project":{{"id":{},"number":{},"name":{},"labels":[],"ancestry_numbers":"/1029384756/"}},"#,
                    r#""labels":{},"system_labels":[],"location":{{"location":{},"country":"US","region":{},"zone":null}},"#,
                    r#""resource":{{"name":{},"global_name":{}}},"export_time":"{}","cost":{},"currency":"USD","#,
                    r#""currency_conversion_rate":1,"usage":{{"amount":{},"unit":{},"amount_in_pricing_units":{},"pricing_unit":{}}},"#,
                    r#""credits":[{}],"invoice":{{"month":"{}"}},"cost_type":"regular","cost_at_list":{},"#,
                    r#""price":{{"effective_price":{},"list_price":{},"pricing_unit_quantity":1}}}}"#,
                    "\n"
                ),
                js(GCP_BILLING_ACCOUNT),
                js(service_id),
                js(service),
                js(&sku(sku_desc)),
                js(sku_desc),
                iso(day),
                iso(next),
                js(project_id),
                js(number),
                js(name),
                labels,
                js(region),
                js(region),
                js(resource),
                js(&global),
                format_args!("{next}T06:14:09.201Z"),
                text(cost),
                text(round(qty * dec(per), 0)),
                js(unit),
                text(qty),
                js(pricing_unit),
                credits.join(","),
                invoice_month,
                text(cost),
                text(price),
                text(price),
            ));
        }
    }
    for ((p, service_id, service), base) in &tax_base {
        let (project_id, number, name) = GCP_PROJECTS[*p];
        out.push_str(&format!(
            concat!(
                r#"{{"billing_account_id":{},"service":{{"id":{},"description":{}}},"sku":{{"id":"","description":"Tax"}},"#,
                r#""usage_start_time":"{}","usage_end_time":"{}","project":{{"id":{},"number":{},"name":{}}},"#,
                r#""labels":[],"export_time":"{}","cost":{},"currency":"USD","currency_conversion_rate":1,"#,
                r#""credits":[],"invoice":{{"month":"{}"}},"cost_type":"tax"}}"#,
                "\n"
            ),
            js(GCP_BILLING_ACCOUNT),
            js(service_id),
            js(service),
            iso(m.start),
            iso(m.next()),
            js(project_id),
            js(number),
            js(name),
            format_args!("{}T09:00:00Z", m.next()),
            text(round(*base * Decimal::new(7, 2), 2)),
            invoice_month,
        ));
    }
    cost_file(format!("gcp-{}.jsonl", m.label()), out.into_bytes(), None)
}

fn gcp_credit(name: &str, amount: Decimal, id: &str, kind: &str) -> (Decimal, String) {
    let json = format!(
        r#"{{"name":{},"amount":{},"full_name":{},"id":{},"type":{}}}"#,
        js(name),
        text(amount),
        js(name),
        js(id),
        js(kind)
    );
    (amount, json)
}

fn service_host(service: &str) -> &'static str {
    match service {
        "BigQuery" => "bigquery",
        "Vertex AI" => "aiplatform",
        _ => "cloudresourcemanager",
    }
}

// ---------------------------------------------------------------------------------------------------------
// Datadog: a SaaS vendor that exports FOCUS 1.2.

const FOCUS12_HEADER: &[&str] = &[
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
];

/// service|sku meter|description|pricing unit|list price|contracted price|units a month|decimals of the
/// quantity|attribution (service tag:share %, - unattributed).
const DATADOG_PRODUCTS: &[&str] = &[
    "Infrastructure Monitoring|Infra Pro Hosts|Infrastructure Pro hosts (hourly high-water mark)|Hosts|18.00|15.00|220|0|Kubernetes Platform:30,Customer Portal:18,Payments API:15,Observability:12,Mobile App Backend:10,Data Pipelines:10,-:5",
    "APM|APM Hosts|APM Pro hosts|Hosts|36.00|31.00|120|0|Customer Portal:30,Payments API:25,Mobile App Backend:20,Kubernetes Platform:10,Observability:10,-:5",
    "Log Management|Log Ingestion|Ingested logs|GB|0.10|0.10|40000|0|Kubernetes Platform:35,Customer Portal:20,Payments API:15,Observability:15,Data Pipelines:10,-:5",
    "Log Management|Indexed Logs 15d|Indexed log events, 15-day retention|Million Events|2.55|1.70|900|1|Customer Portal:30,Payments API:30,Kubernetes Platform:20,Observability:15,-:5",
    "Synthetic Monitoring|API Test Runs|Synthetic API test runs|10K Test Runs|7.20|5.00|300|1|Customer Portal:45,Payments API:35,Observability:15,-:5",
    "Real User Monitoring|RUM Sessions|RUM sessions|1K Sessions|2.20|1.50|1500|1|Customer Portal:60,Mobile App Backend:35,-:5",
];

fn datadog_file(seed: u64, m: Month) -> BillFile {
    let mut rng = Rng::new(seed, "datadog", m.index);
    let mut table = Table::new(FOCUS12_HEADER);
    let (start, end) = (iso(m.start), iso(m.next()));
    for line in DATADOG_PRODUCTS {
        let [service, meter, description, unit, list, contracted, total, decimals, attribution] =
            fields(line);
        let (list, contracted) = (dec(list), dec(contracted));
        let decimals: u32 = decimals.parse().expect("a number of decimals");
        for part in attribution.split(',') {
            let (tagged, share) = part.split_once(':').expect("service:share");
            let share = Decimal::new(share.parse().expect("a share"), 2);
            let qty = round(dec(total) * share * m.factor * rng.jitter(60), decimals);
            let (billed, listed) = (round(qty * contracted, 2), round(qty * list, 2));
            let tags = tag(tagged).map(|t| {
                serde_json::json!({ "team": t.team, "service": t.service, "cost-centre": t.cost_centre })
                    .to_string()
            });
            let sku_id = sku(meter);
            table.row(&[
                ("BilledCost", fixed(billed, 2)),
                ("BillingAccountId", "dd-1048273".into()),
                ("BillingAccountName", "Corp Example (Datadog parent organization)".into()),
                ("BillingAccountType", "Parent Organization".into()),
                ("BillingCurrency", "USD".into()),
                ("BillingPeriodEnd", end.clone()),
                ("BillingPeriodStart", start.clone()),
                ("ChargeCategory", "Usage".into()),
                ("ChargeDescription", description.into()),
                ("ChargeFrequency", "Usage-Based".into()),
                ("ChargePeriodEnd", end.clone()),
                ("ChargePeriodStart", start.clone()),
                ("ConsumedQuantity", text(qty)),
                ("ConsumedUnit", unit.into()),
                ("ContractedCost", fixed(billed, 2)),
                ("ContractedUnitPrice", text(contracted)),
                ("EffectiveCost", fixed(billed, 2)),
                ("InvoiceId", format!("DD-{}-104823", m.label())),
                ("InvoiceIssuerName", "Datadog".into()),
                ("ListCost", fixed(listed, 2)),
                ("ListUnitPrice", text(list)),
                ("PricingCategory", "Standard".into()),
                ("PricingCurrency", "USD".into()),
                ("PricingCurrencyContractedUnitPrice", text(contracted)),
                ("PricingCurrencyEffectiveCost", fixed(billed, 2)),
                ("PricingCurrencyListUnitPrice", text(list)),
                ("PricingQuantity", text(qty)),
                ("PricingUnit", unit.into()),
                ("ProviderName", "Datadog".into()),
                ("PublisherName", "Datadog".into()),
                ("ServiceCategory", "Management and Governance".into()),
                ("ServiceName", service.into()),
                ("ServiceSubcategory", "Observability".into()),
                ("SkuId", sku_id.clone()),
                ("SkuMeter", meter.into()),
                ("SkuPriceId", format!("{sku_id}-2024")),
                ("SubAccountId", "corp-example-prod".into()),
                ("SubAccountName", "Corp Example Production".into()),
                ("SubAccountType", "Organization".into()),
                ("Tags", tags.unwrap_or_else(|| "{}".into())),
            ]);
        }
    }
    cost_file(format!("datadog-focus-{}.csv", m.label()), table.finish(), None)
}

// ---------------------------------------------------------------------------------------------------------
// Generic spend: SaaS invoices and a general-ledger extract, through mappings.

const SAAS_MAPPING: &str = "saas-invoices.toml";
const GL_MAPPING: &str = "gl-spend.toml";

/// Some aliases are resolved here; the others are left for the vendor register (demo_gen's vendors.csv).
const SAAS_TOML: &str = r#"# SaaS subscriptions from the accounts-payable invoice register (USD and EUR invoices).
name = "SaaS invoices"

[columns]
date = "Invoice Date"
amount = "Amount"
currency = "Currency"
vendor = "Supplier"
invoice = "Invoice No"
description = "Description"
category = "Type"
tags = ["Service", "Cost-Centre"]

[defaults]
charge_category = "Purchase"
charge_frequency = "Recurring"
service_category = "Business Applications"

[vendor_aliases]
"Atlassian Pty Ltd" = "Atlassian"
"salesforce.com EMEA Ltd" = "Salesforce"
"AgileBits Inc." = "1Password"
"#;

const GL_TOML: &str = r#"# IT operating costs from the EU general ledger (company codes DE01, NL01, IE01), in EUR.
name = "EU general ledger"

[columns]
date = "Posting Date"
amount = "Amount"
gl_account = "GL Account"
cost_centre = "Cost Center"
vendor = "Vendor"
description = "Description"
invoice = "Document No"
account = "Company Code"
category = "Category"

[defaults]
currency = "EUR"
charge_category = "Purchase"
charge_frequency = "Recurring"
service_category = "Other"

[vendor_aliases]
"Equinix (Germany) GmbH" = "Equinix"
"T-Systems" = "Deutsche Telekom"
"#;

/// vendor (demo_gen's name)|supplier as the invoice writes it|currency|description|unit price|seats|invoice
/// day|service|cost centre|seat growth ‰ a month|kind (empty: monthly; usage: metered; annual:N: once, in
/// month N).
const SAAS_LINES: &[&str] = &[
    "Atlassian|Atlassian Pty Ltd|USD|Jira Software Cloud Premium|13.53|600|3|Issue Tracking|CC-2100|10|",
    "Atlassian|Atlassian Pty Ltd|USD|Confluence Cloud Premium|9.73|1100|3|Knowledge Base & Wiki|CC-1700|10|",
    "Slack|Slack Technologies Limited|EUR|Slack Business+|12.50|1480|1|Team Chat|CC-1600|8|",
    "Salesforce|salesforce.com EMEA Ltd|EUR|Sales Cloud Enterprise|150.00|420|1|CRM|CC-1700|6|",
    "Zoom|Zoom Video Communications, Inc.|USD|Zoom Workplace Business|18.32|400|5|Video Conferencing|CC-1600|0|",
    "GitHub|GitHub|USD|GitHub Enterprise Cloud|21.00|380|2|Source Code Hosting|CC-1100|12|",
    "GitHub|GitHub, Inc.|USD|GitHub Actions minutes (Linux 4-core)|0.016|250000|2|CI/CD Platform|CC-1100|30|usage",
    "Okta|Okta, Inc.|USD|Okta Workforce Identity: SSO, MFA and Lifecycle Management|6.00|1550|10|Identity & SSO|CC-1400|8|",
    "Zendesk|Zendesk International Ltd|EUR|Zendesk Suite Professional|99.00|130|1|Customer Support Platform|CC-5100|5|",
    "HubSpot|HubSpot Ireland Ltd|EUR|Marketing Hub Enterprise|720.00|5|15|Marketing Automation|CC-4200|0|",
    "PagerDuty|PagerDuty, Inc.|USD|PagerDuty Business|41.00|100|7|Incident Management|CC-1100|10|",
    "DocuSign|DocuSign, Inc.|USD|DocuSign Business Pro|40.00|35|12|Document Signing|CC-8200|0|",
    "Figma|Figma|USD|Figma Organization|45.00|80|20|Design Tools|CC-2200|5|",
    "1Password|AgileBits Inc.|USD|1Password Business, annual renewal|48.00|1540|18|Password Management|CC-1400|0|annual:8",
];

fn saas_file(seed: u64, m: Month) -> BillFile {
    let mut rng = Rng::new(seed, "saas", m.index);
    let header = &[
        "Invoice Date",
        "Supplier",
        "Invoice No",
        "Description",
        "Amount",
        "Currency",
        "Service",
        "Cost-Centre",
        "Type",
    ];
    let mut table = Table::new(header);
    for (i, line) in SAAS_LINES.iter().enumerate() {
        let [_, supplier, currency, description, price, seats, day, service, cc, growth, kind] = fields(line);
        let noise = rng.jitter(150);
        if kind.strip_prefix("annual:").is_some_and(|n| n.parse::<usize>() != Ok(m.index)) {
            continue;
        }
        let growth = Decimal::from(1000 + growth.parse::<i64>().expect("growth") * m.index as i64);
        let mut qty = round(dec(seats) * growth / Decimal::from(1000), 0);
        if kind == "usage" {
            qty = round(qty * m.factor * noise, 0);
        }
        let amount = round(qty * dec(price), 2);
        let unit = if kind == "usage" { "minutes" } else { "seats" };
        table.row(&[
            ("Invoice Date", invoice_day(m, day)),
            ("Supplier", supplier.into()),
            ("Invoice No", format!("INV-{}-{:03}", m.compact(), i + 101)),
            ("Description", format!("{description}: {} {unit}, {}", grouped(qty, 0), m.label())),
            ("Amount", money(amount, currency)),
            ("Currency", currency.into()),
            ("Service", service.into()),
            ("Cost-Centre", cc.into()),
        ]);
    }
    if m.index == 7 {
        table.row(&[
            ("Invoice Date", invoice_day(m, "22")),
            ("Supplier", "Zoom Video Communications, Inc.".into()),
            ("Invoice No", format!("CN-{}-001", m.compact())),
            ("Description", "Credit note: 40 unused Zoom Webinars licences returned".into()),
            ("Amount", money(-Decimal::from(1_200), "USD")),
            ("Currency", "USD".into()),
            ("Service", "Video Conferencing".into()),
            ("Cost-Centre", "CC-1600".into()),
            ("Type", "Credit".into()),
        ]);
    }
    cost_file(format!("saas-invoices-{}.csv", m.label()), table.finish(), Some(SAAS_MAPPING))
}

/// An invoice date as the register writes it: `05 Feb 2024`.
fn invoice_day(m: Month, day: &str) -> String {
    const MON: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let day: i8 = day.parse().expect("a day");
    format!("{:02} {} {}", day, MON[m.start.month() as usize - 1], m.start.year())
}

/// company code|vendor as the ledger writes it|GL account|GL account name|cost centre|description|amount
/// (EUR)|posting day|kind (fixed, variable, annual:N).
const GL_LINES: &[&str] = &[
    "DE01|Equinix (Germany) GmbH|6310|Data centre colocation|CC-1200|Colocation FR5: 2 racks, power and cross-connects|7850.00|1|fixed",
    "DE01|Equinix (Germany) GmbH|6310|Data centre colocation|CC-1200|Metered power FR5|1240.00|1|variable",
    "DE01|T-Systems|6820|Managed IT services|CC-1200|Managed SD-WAN and firewall service|12400.00|5|fixed",
    "DE01|Orange Business Services|6820|Managed IT services|CC-1500|Out-of-hours service desk (EMEA)|9600.00|5|fixed",
    "DE01|Vodafone GmbH|6805|Telecommunications|CC-1600|Mobile fleet DE: voice and data|4350.00|12|variable",
    "NL01|KPN B.V.|6805|Telecommunications|CC-1200|Amsterdam office fibre 1 Gbit/s and SIP trunks|1850.00|8|fixed",
    "IE01|eircom Limited|6805|Telecommunications|CC-1200|Dublin hub internet and SIP trunks|1240.00|9|fixed",
    "DE01|Dell GmbH|6450|IT maintenance & support|CC-1200|ProSupport Plus: Frankfurt servers and storage|2150.00|15|fixed",
    "NL01|Cisco Systems International B.V.|6450|IT maintenance & support|CC-1200|Smart Net Total Care renewal (annual)|18400.00|20|annual:8",
];

fn vat_percent(company: &str) -> i64 {
    match company {
        "NL01" => 21,
        "IE01" => 23,
        _ => 19,
    }
}

fn gl_file(seed: u64, m: Month) -> BillFile {
    let mut rng = Rng::new(seed, "gl", m.index);
    let header = &[
        "Company Code",
        "Posting Date",
        "Document No",
        "GL Account",
        "GL Account Name",
        "Cost Center",
        "Vendor",
        "Description",
        "Amount",
        "Category",
    ];
    let mut table = Table::new(header);
    let mut post = |company: &str,
                    day: &str,
                    doc: String,
                    gl: [&str; 2],
                    cc: &str,
                    vendor: &str,
                    desc: String,
                    net: Decimal,
                    category: &str| {
        let date = gl_date(m, day);
        let vat = vat_percent(company);
        let rows = [
            (gl, desc, net, category),
            (
                ["1576", "Input VAT"],
                format!("VAT {vat}% on {doc}"),
                round(net * Decimal::new(vat, 2), 2),
                "Tax",
            ),
        ];
        for (gl, desc, amount, category) in rows {
            table.row(&[
                ("Company Code", company.into()),
                ("Posting Date", date.clone()),
                ("Document No", doc.clone()),
                ("GL Account", gl[0].into()),
                ("GL Account Name", gl[1].into()),
                ("Cost Center", cc.into()),
                ("Vendor", vendor.into()),
                ("Description", desc),
                ("Amount", fixed(amount, 2)),
                ("Category", category.into()),
            ]);
        }
    };
    for (i, line) in GL_LINES.iter().enumerate() {
        let [company, vendor, gl, gl_name, cc, description, amount, day, kind] = fields(line);
        let noise = rng.jitter(120);
        if kind.strip_prefix("annual:").is_some_and(|n| n.parse::<usize>() != Ok(m.index)) {
            continue;
        }
        let mut net = dec(amount);
        if kind == "variable" {
            net = round(net * m.factor * noise, 2);
        }
        let doc = format!("51{}{:03}", m.compact(), i + 1);
        post(company, day, doc, [gl, gl_name], cc, vendor, format!("{description}, {}", m.label()), net, "");
    }
    if m.index == 4 {
        let doc = format!("51{}{:03}", m.compact(), 900);
        let desc = "Credit note: roaming overcharge refunded".to_string();
        let net = -Decimal::from(310);
        post(
            "DE01",
            "18",
            doc,
            ["6805", "Telecommunications"],
            "CC-1600",
            "Vodafone GmbH",
            desc,
            net,
            "Credit",
        );
    }
    cost_file(format!("gl-spend-{}.csv", m.label()), table.finish(), Some(GL_MAPPING))
}

/// A posting date as the ledger extract writes it: `m/d/yy`.
fn gl_date(m: Month, day: &str) -> String {
    let day: i8 = day.parse().expect("a day");
    format!("{}/{}/{:02}", m.start.month(), day.min(m.start.days_in_month()), m.start.year() % 100)
}

// ---------------------------------------------------------------------------------------------------------
// Months, numbers and text.

#[derive(Debug, Clone, Copy)]
struct Month {
    index: usize,
    start: Date,
    /// Growth since the first month times the season.
    factor: Decimal,
}

fn months(as_of: Date) -> Vec<Month> {
    let this = as_of.first_of_month();
    (0..MONTHS)
        .map(|i| {
            let back = (MONTHS - i) as i64;
            let start = this.checked_sub(Span::new().months(back)).unwrap_or(this);
            Month { index: i, start, factor: month_factor(i, start.month()) }
        })
        .collect()
}

/// About 3% growth a month, a quieter December, January and August, busier quarter ends.
fn month_factor(index: usize, month: i8) -> Decimal {
    let mut growth = Decimal::ONE;
    for _ in 0..index {
        growth = round(growth * Decimal::new(103, 2), 6);
    }
    let season = match month {
        12 => Decimal::new(88, 2),
        1 => Decimal::new(97, 2),
        8 => Decimal::new(96, 2),
        3 | 6 | 9 => Decimal::new(106, 2),
        _ => Decimal::ONE,
    };
    round(growth * season, 6)
}

impl Month {
    fn end(self) -> Date {
        self.start.last_of_month()
    }

    fn next(self) -> Date {
        self.end().tomorrow().unwrap_or(self.end())
    }

    fn days(self) -> impl Iterator<Item = Date> {
        self.start.series(Span::new().days(1)).take(self.start.days_in_month() as usize)
    }

    /// `2024-02`.
    fn label(self) -> String {
        format!("{:04}-{:02}", self.start.year(), self.start.month())
    }

    /// `202402`.
    fn compact(self) -> String {
        format!("{:04}{:02}", self.start.year(), self.start.month())
    }

    /// A day's usage of a resource: the base grown and seasoned with ±8% noise, quieter at weekends for
    /// `weekday` resources, or the base itself for a `fixed` fleet. The noise is drawn either way, so the
    /// sequence of draws never depends on the flags.
    fn quantity(self, rng: &mut Rng, base: Decimal, day: Date, fixed: bool, weekday: bool) -> Decimal {
        let noise = rng.jitter(80);
        if fixed {
            return round(base, 4);
        }
        let mut q = base * self.factor * noise;
        if weekday && is_weekend(day) {
            q *= Decimal::new(55, 2);
        }
        round(q, 4)
    }
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn iso(d: Date) -> String {
    format!("{d}T00:00:00Z")
}

/// `m/d/yyyy`, as EA cost details write dates.
fn mdy(d: Date) -> String {
    format!("{}/{}/{}", d.month(), d.day(), d.year())
}

/// A decimal constant from the tables.
fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("{s} is not a decimal"))
}

fn round(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// Exact text without trailing zeros.
fn text(x: Decimal) -> String {
    if x.is_zero() { "0".into() } else { x.normalize().to_string() }
}

/// Exact text with exactly `dp` decimals.
fn fixed(x: Decimal, dp: u32) -> String {
    let mut y = round(x, dp);
    y.rescale(dp);
    if y.is_zero() {
        y.set_sign_positive(true)
    }
    y.to_string()
}

/// `1234567.5` → `1,234,567.50` with `dp` = 2.
fn grouped(x: Decimal, dp: u32) -> String {
    let s = fixed(x.abs(), dp);
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// An invoice amount: `$1,234.56`, `€18,750.00`, negatives in accounting parentheses.
fn money(x: Decimal, currency: &str) -> String {
    let symbol = if currency == "EUR" { "€" } else { "$" };
    let body = format!("{symbol}{}", grouped(x, 2));
    if x.is_sign_negative() && !x.is_zero() { format!("({body})") } else { body }
}

/// A JSON string literal.
fn js(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A stable SKU-like code for a name: 16 characters of `A-Z2-7`.
fn sku(name: &str) -> String {
    let mut rng = Rng(fnv(name));
    (0..16).map(|_| BASE32[rng.below(32) as usize] as char).collect::<String>().to_uppercase()
}

/// A stable GUID for a name.
fn guid(name: &str) -> String {
    let mut rng = Rng(fnv(name));
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Splits a static data line into exactly `N` pipe-separated fields (missing ones empty).
fn fields<const N: usize>(line: &'static str) -> [&'static str; N] {
    let mut out = [""; N];
    for (slot, part) in out.iter_mut().zip(line.split('|')) {
        *slot = part;
    }
    out
}

fn cost_file(name: String, contents: Vec<u8>, mapping: Option<&str>) -> BillFile {
    BillFile { name, contents, role: BillRole::Cost { mapping: mapping.map(str::to_string) } }
}

/// SplitMix64, as in demo_gen: a seed always means the same bills.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    /// The generator for one part of the bills (a source and month), so parts never shift one another.
    fn new(seed: u64, part: &str, index: usize) -> Self {
        let mut rng = Rng(seed ^ fnv(part) ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A factor of 1 ± up to `spread` thousandths, exact to three decimals.
    fn jitter(&mut self, spread: i64) -> Decimal {
        let k = self.below(2 * spread as u64 + 1) as i64 - spread;
        Decimal::new(1000 + k, 3)
    }

    /// A CUR line-item id: 52 characters of base32.
    fn line_item_id(&mut self) -> String {
        (0..52).map(|_| BASE32[self.below(32) as usize] as char).collect()
    }
}

/// An in-memory CSV file with `\n` line endings, rows given as (column, value) pairs.
struct Table {
    header: &'static [&'static str],
    writer: csv::Writer<Vec<u8>>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("header", &self.header).finish_non_exhaustive()
    }
}

impl Table {
    fn new(header: &'static [&'static str]) -> Self {
        let mut writer =
            csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        writer.write_record(header).expect("writing CSV into memory cannot fail");
        Self { header, writer }
    }

    fn row(&mut self, cells: &[(&str, String)]) {
        let mut record = vec![""; self.header.len()];
        for (column, value) in cells {
            let i =
                self.header.iter().position(|h| h == column).unwrap_or_else(|| panic!("no column {column}"));
            record[i] = value;
        }
        self.writer.write_record(&record).expect("writing CSV into memory cannot fail");
    }

    fn finish(self) -> Vec<u8> {
        self.writer.into_inner().expect("flushing CSV into memory cannot fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use itemize_ingest::FocusRecord;
    use itemize_ingest::generic::Mapping;
    use itemize_ingest::record::ChargeCategory;
    use itemize_ingest::source::{self, Format, Stream};
    use std::collections::{HashMap, HashSet};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, OnceLock};

    fn as_of() -> Date {
        jiff::civil::date(2025, 3, 31)
    }

    /// A directory of its own under the system's temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("itemize-demo-bills-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The format and version each file must be detected as.
    fn expected(name: &str) -> (Format, Option<&'static str>) {
        match name {
            n if n.starts_with("aws-cur2-") => (Format::AwsCur, Some("2.0")),
            n if n.starts_with("azure-") => (Format::Azure, None),
            n if n.starts_with("gcp-") => (Format::GcpJson, None),
            n if n.starts_with("datadog-focus-") => (Format::Focus, Some("1.2")),
            _ => (Format::Generic, None),
        }
    }

    type Read = Vec<(String, Vec<FocusRecord>)>;

    /// Every file through the real readers: rates parsed, mappings checked, each cost file opened without a
    /// forced format and every record read without a row error.
    fn read_all(files: &[BillFile]) -> Read {
        let dir = TempDir::new();
        let mut mappings: HashMap<&str, Mapping> = HashMap::new();
        let mut out = Vec::new();
        for f in files {
            let path = dir.0.join(&f.name);
            std::fs::write(&path, &f.contents).unwrap();
            let text = std::str::from_utf8(&f.contents).unwrap();
            match &f.role {
                BillRole::Rates => {
                    let parsed = crate::rates::parse_rates(text)
                        .unwrap_or_else(|e| panic!("{}: {:?}", f.name, e.first().map(ToString::to_string)));
                    assert_eq!(parsed.layout, "ecb");
                    assert!(parsed.rows.len() > 500, "{} rates", parsed.rows.len());
                }
                BillRole::Mapping => {
                    let mapping = Mapping::from_toml(text).unwrap_or_else(|e| panic!("{}: {e}", f.name));
                    mappings.insert(&f.name, mapping);
                }
                BillRole::Cost { mapping } => {
                    let mapping = mapping.as_deref().map(|n| &mappings[n]);
                    let src = source::open(&path, None, mapping, Arc::new(AtomicU64::new(0)))
                        .unwrap_or_else(|e| panic!("{}: {e}", f.name));
                    let (format, version) = expected(&f.name);
                    assert_eq!((src.format, src.version.as_deref()), (format, version), "{}", f.name);
                    let Stream::Cost(stream) = src.stream else { panic!("{}: not a cost stream", f.name) };
                    let records: Vec<FocusRecord> = source::records(stream)
                        .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", f.name)))
                        .collect();
                    assert!(!records.is_empty(), "{}", f.name);
                    out.push((f.name.clone(), records));
                }
            }
        }
        out
    }

    /// The bills for seed 42, read once for every test that looks at records.
    fn read() -> &'static Read {
        static READ: OnceLock<Read> = OnceLock::new();
        READ.get_or_init(|| read_all(&generate_bills(42, as_of())))
    }

    fn records<'a>(read: &'a Read, prefix: &str) -> impl Iterator<Item = (&'a str, &'a FocusRecord)> {
        let prefix = prefix.to_string();
        read.iter()
            .filter(move |(n, _)| n.starts_with(&prefix) && !n.contains("restated"))
            .flat_map(|(n, rs)| rs.iter().map(move |r| (n.as_str(), r)))
    }

    fn month_of(r: &FocusRecord) -> String {
        r.billing_period_start.to_string()[..7].to_string()
    }

    const PROVIDERS: [&str; 4] = ["aws-cur2-", "azure-", "gcp-", "datadog-focus-"];

    #[test]
    fn deterministic_per_seed_and_in_import_order() {
        let a = generate_bills(42, as_of());
        assert_eq!(a, generate_bills(42, as_of()), "same seed, same bytes");
        let b = generate_bills(43, as_of());
        assert_eq!(a.len(), b.len());
        assert_ne!(a[1].contents, b[1].contents, "another seed, other bills");
        assert_ne!(a[0].contents, b[0].contents, "another seed, other rates");

        let names: Vec<&str> = a.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names.len(), 1 + 14 + 13 * 3 + (13 - RI_MONTH) + 2 * 14);
        assert_eq!(names[0], "rates-ecb.csv");
        assert_eq!(names[1], "aws-cur2-2024-02.csv");
        assert_eq!(names[13], "aws-cur2-2025-02.csv", "the last month is the one before as_of's");
        assert_eq!(names[14], "aws-cur2-2024-12-restated.csv", "the restatement after every original");
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap_or_else(|| panic!("{n} missing"));
        assert!(pos("azure-actual-2024-02.csv") > pos("aws-cur2-2024-12-restated.csv"));
        assert!(
            !names.contains(&"azure-amortized-2024-02.csv"),
            "no amortized export before the reservation"
        );
        assert!(pos("azure-amortized-2024-07.csv") == pos("azure-actual-2024-07.csv") + 1);
        assert!(pos("gcp-2024-02.jsonl") > pos("azure-amortized-2025-02.csv"));
        assert!(pos("datadog-focus-2024-02.csv") > pos("gcp-2025-02.jsonl"));
        assert!(pos("saas-invoices.toml") < pos("saas-invoices-2024-02.csv"));
        assert!(pos("gl-spend.toml") < pos("gl-spend-2024-02.csv"));
        for f in &a {
            let mapping = match f.name.as_str() {
                n if n.starts_with("saas-invoices-") => Some(SAAS_MAPPING.to_string()),
                n if n.starts_with("gl-spend-") => Some(GL_MAPPING.to_string()),
                _ => None,
            };
            let role = match f.name.as_str() {
                "rates-ecb.csv" => BillRole::Rates,
                n if n.ends_with(".toml") => BillRole::Mapping,
                _ => BillRole::Cost { mapping },
            };
            assert_eq!(f.role, role, "{}", f.name);
            assert!(f.contents.ends_with(b"\n") && !f.contents.contains(&b'\r'), "{}", f.name);
        }
    }

    #[test]
    fn every_file_reads_through_the_real_readers() {
        let read = read();
        let lines: usize = read.iter().map(|(_, rs)| rs.len()).sum();
        assert!((15_000..100_000).contains(&lines), "{lines} cost lines in all");
        for (name, rs) in read {
            if name.starts_with("aws-cur2-") {
                assert!((300..=1_500).contains(&rs.len()), "{name}: {} lines", rs.len());
                let ids: HashSet<&str> = rs.iter().map(|r| r.other["x_LineItemId"].as_str()).collect();
                assert_eq!(ids.len(), rs.len(), "{name}: line-item ids are unique");
            }
            let periods: HashSet<String> = rs.iter().map(month_of).collect();
            assert_eq!(periods.len(), 1, "{name}: one billing period");
            assert!(name.contains(periods.iter().next().unwrap().as_str()), "{name}: {periods:?}");
        }
        let currencies: HashSet<&str> =
            read.iter().flat_map(|(_, rs)| rs.iter().map(|r| r.billing_currency.code())).collect();
        assert_eq!(currencies, HashSet::from(["USD", "EUR"]));
    }

    #[test]
    fn thirteen_months_per_provider_growing() {
        let read = read();
        for provider in PROVIDERS.into_iter().chain(["saas-invoices-", "gl-spend-"]) {
            let mut usage: BTreeMap<String, Decimal> = BTreeMap::new();
            for (_, r) in records(read, provider) {
                let total = usage.entry(month_of(r)).or_default();
                if r.charge_category == ChargeCategory::Usage {
                    *total += r.list_cost;
                }
            }
            assert_eq!(usage.len(), 13, "{provider}");
            assert_eq!(usage.keys().next().map(String::as_str), Some("2024-02"), "{provider}");
            assert_eq!(usage.keys().last().map(String::as_str), Some("2025-02"), "{provider}");
            if provider.starts_with("saas") || provider.starts_with("gl") {
                continue;
            }
            let totals: Vec<Decimal> = usage.into_values().collect();
            let changes: Decimal = totals.windows(2).map(|w| (w[1] - w[0]) / w[0]).sum();
            let average = changes / Decimal::from(totals.len() - 1);
            assert!(average > Decimal::new(1, 2), "{provider}: average month-over-month {average}");
            assert!(totals[12] > totals[0] * Decimal::new(12, 1), "{provider}: {totals:?}");
        }
    }

    #[test]
    fn about_five_percent_of_usage_is_untagged() {
        let read = read();
        for provider in PROVIDERS {
            let (mut all, mut untagged) = (Decimal::ZERO, Decimal::ZERO);
            for (_, r) in records(read, provider).filter(|(_, r)| r.charge_category == ChargeCategory::Usage)
            {
                all += r.effective_cost;
                if r.tags.is_empty() {
                    untagged += r.effective_cost;
                } else {
                    let keys: Vec<&str> = r.tags.keys().map(String::as_str).collect();
                    assert_eq!(keys, ["cost-centre", "service", "team"], "{provider}");
                }
            }
            let share = untagged / all;
            assert!(
                (Decimal::new(3, 2)..=Decimal::new(8, 2)).contains(&share),
                "{provider}: {share} untagged"
            );
        }
    }

    #[test]
    fn savings_plan_credit_tax_and_restatement() {
        let read = read();
        let by_month = |prefix: &str| {
            let mut m: BTreeMap<String, Vec<&FocusRecord>> = BTreeMap::new();
            for (_, r) in records(read, prefix) {
                m.entry(month_of(r)).or_default().push(r);
            }
            m.into_values().collect::<Vec<_>>()
        };
        let aws = by_month("aws-cur2-");
        for (i, month) in aws.iter().enumerate() {
            let usage = month.iter().filter(|r| r.charge_category == ChargeCategory::Usage);
            let (billed, effective) = usage
                .fold((Decimal::ZERO, Decimal::ZERO), |(b, e), r| (b + r.billed_cost, e + r.effective_cost));
            let fee = month
                .iter()
                .filter(|r| r.other.get("x_LineItemType").is_some_and(|t| t == "SavingsPlanRecurringFee"))
                .count();
            if i < SP_MONTH {
                assert!(month.iter().all(|r| r.effective_cost == r.billed_cost), "month {i}");
                assert_eq!(fee, 0);
            } else {
                assert!(effective > billed, "month {i}: amortized usage {effective} vs billed {billed}");
                assert_eq!(fee, 1, "month {i}");
                let unused = month.iter().find(|r| r.charge_category == ChargeCategory::Purchase).unwrap();
                assert!(
                    unused.effective_cost > Decimal::ZERO
                        && unused.effective_cost < unused.billed_cost / Decimal::from(10)
                );
            }
            assert!(month.iter().any(|r| r.charge_category == ChargeCategory::Tax), "month {i}: tax");
            let credits = month.iter().filter(|r| r.charge_category == ChargeCategory::Credit).count();
            assert_eq!(credits, usize::from(i == AWS_CREDIT_MONTH), "month {i}: credits");
        }

        let restated_name = "aws-cur2-2024-12-restated.csv";
        let file = |n: &str| &read.iter().find(|(name, _)| name == n).unwrap().1;
        let (original, restated) = (file("aws-cur2-2024-12.csv"), file(restated_name));
        let total = |rs: &[FocusRecord]| rs.iter().map(|r| r.billed_cost).sum::<Decimal>();
        assert_ne!(total(original), total(restated));
        assert!(total(restated) < total(original));
        let key = |r: &FocusRecord| (r.billing_account_id.clone(), r.billing_period_start);
        assert_eq!(key(&original[0]), key(&restated[0]));
        assert!(restated.iter().all(|r| key(r) == key(&original[0])));
        assert!(restated.iter().any(|r| r.other.get("x_LineItemType").is_some_and(|t| t == "Refund")));

        // Azure: the reservation is bought once (the actual export) and amortized into the covered usage after
        // (the amortized export); both exports hold the same usage.
        let actual = by_month("azure-actual-");
        let amortized = by_month("azure-amortized-");
        assert_eq!((actual.len(), amortized.len()), (MONTHS, MONTHS - RI_MONTH));
        for (i, act) in actual.iter().take(RI_MONTH).enumerate() {
            let committed = act.iter().filter(|r| r.commitment_discount_id.is_some()).count();
            assert_eq!(committed, 0, "azure month {i}: nothing reserved yet");
        }
        for (i, (act, amo)) in
            actual.iter().skip(RI_MONTH).zip(&amortized).enumerate().map(|(k, m)| (k + RI_MONTH, m))
        {
            let purchases = |m: &[&FocusRecord]| {
                m.iter()
                    .filter(|r| {
                        r.charge_category == ChargeCategory::Purchase && r.billed_cost > Decimal::ZERO
                    })
                    .count()
            };
            assert_eq!((purchases(act), purchases(amo)), (usize::from(i == RI_MONTH), 0), "azure month {i}");
            let covered = |m: &[&FocusRecord]| -> Vec<(Decimal, Decimal)> {
                m.iter()
                    .filter(|r| {
                        r.commitment_discount_id.is_some() && r.charge_category == ChargeCategory::Usage
                    })
                    .map(|r| (r.billed_cost, r.effective_cost))
                    .collect()
            };
            let (c_act, c_amo) = (covered(act), covered(amo));
            assert_eq!((!c_act.is_empty(), c_act.len()), (i >= RI_MONTH, c_amo.len()), "azure month {i}");
            assert!(c_act.iter().all(|(b, e)| b.is_zero() && e.is_zero()), "azure month {i}");
            assert!(c_amo.iter().all(|(b, e)| b.is_zero() && *e > Decimal::ZERO), "azure month {i}");
            assert_eq!(act.len(), amo.len() + usize::from(i == RI_MONTH), "azure month {i}: the same usage");
        }

        // GCP: credits on some rows (sustained use every month, the promotion in the first ones), tax monthly.
        for (i, month) in by_month("gcp-").iter().enumerate() {
            let kinds: HashSet<&str> =
                month.iter().filter_map(|r| r.other.get("x_CreditType").map(String::as_str)).collect();
            assert!(kinds.contains("SUSTAINED_USAGE_DISCOUNT"), "gcp month {i}");
            assert_eq!(kinds.contains("PROMOTION"), i < GCP_PROMO_MONTHS, "gcp month {i}");
            assert!(month.iter().any(|r| r.charge_category == ChargeCategory::Tax), "gcp month {i}");
        }
        for month in by_month("gl-spend-") {
            assert!(month.iter().any(|r| r.charge_category == ChargeCategory::Tax));
        }
    }

    #[test]
    fn names_are_the_demo_organisations() {
        let org = crate::demo_gen::generate(1, as_of());
        let csv_rows = |name: &str| -> Vec<HashMap<String, String>> {
            let text = &org.iter().find(|f| f.name == name).unwrap().contents;
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
            reader
                .records()
                .map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_owned)).collect())
                .collect()
        };
        let owner: HashMap<String, String> = csv_rows("services.csv")
            .into_iter()
            .map(|s| (s["name"].clone(), s["owner_cost_centre_code"].clone()))
            .collect();
        for t in TAGS {
            assert_eq!(owner.get(t.service), Some(&t.cost_centre.to_string()), "{t:?}");
        }
        let mut vendor_of: HashMap<String, String> = HashMap::new();
        for v in csv_rows("vendors.csv") {
            vendor_of.insert(v["name"].clone(), v["name"].clone());
            for alias in v["aliases"].split(';') {
                vendor_of.insert(alias.to_string(), v["name"].clone());
            }
        }
        for line in SAAS_LINES {
            let [vendor, supplier, _, _, _, _, _, service, cc, _, _] = fields(line);
            assert_eq!(vendor_of.get(supplier), Some(&vendor.to_string()), "{supplier}");
            assert_eq!(owner.get(service), Some(&cc.to_string()), "{service}");
        }
        for line in GL_LINES {
            let [_, vendor, ..] = fields::<9>(line);
            assert!(vendor_of.contains_key(vendor), "{vendor}");
        }
        let ccs: HashSet<String> =
            csv_rows("cost-centres.csv").into_iter().map(|c| c["code"].clone()).collect();
        for line in GL_LINES {
            assert!(ccs.contains(fields::<9>(line)[4]), "{line}");
        }
        // Some invoices name the vendor by an alias, which the records keep as written.
        let read = read();
        let aliased = records(read, "saas-invoices-")
            .filter(|(_, r)| r.other.get("x_Vendor").is_some_and(|v| vendor_of.get(v) != Some(v)))
            .count();
        assert!(aliased > 0);
    }

    #[test]
    fn rates_cover_every_bill_day_and_the_days_since() {
        let files = generate_bills(7, as_of());
        let parsed = crate::rates::parse_rates(std::str::from_utf8(&files[0].contents).unwrap()).unwrap();
        let mut dates: Vec<Date> = parsed.rows.iter().map(|r| r.date.parse().unwrap()).collect();
        dates.sort();
        dates.dedup();
        assert_eq!(dates[0], jiff::civil::date(2024, 1, 22), "ten days before the first month, a weekday");
        assert_eq!(*dates.last().unwrap(), jiff::civil::date(2025, 3, 31), "up to the demo's today");
        assert!(dates.iter().all(|d| !is_weekend(*d)));
        assert!(dates.windows(2).all(|w| w[0].until(w[1]).unwrap().get_days() <= 3));
        let currencies: HashSet<&str> = parsed.rows.iter().map(|r| r.to.as_str()).collect();
        assert_eq!(currencies, HashSet::from(["USD", "GBP"]));
        let text = std::str::from_utf8(&files[0].contents).unwrap();
        assert!(text.starts_with("Date,USD,GBP\n2025-03-31,"), "newest first, as the ECB writes it");
        for line in text.lines().skip(1) {
            let [_, usd, gbp] = line.split(',').collect::<Vec<_>>()[..] else { panic!("{line}") };
            for (v, lo, hi) in [(usd, "0.95", "1.25"), (gbp, "0.75", "0.95")] {
                assert_eq!(v.split_once('.').map(|(_, f)| f.len()), Some(4), "{line}");
                assert!((dec(lo)..dec(hi)).contains(&dec(v)), "{line}");
            }
        }
    }

    #[test]
    fn number_text() {
        assert_eq!(money(dec("1234.5"), "USD"), "$1,234.50");
        assert_eq!(money(dec("-1200"), "USD"), "($1,200.00)");
        assert_eq!(money(dec("18750"), "EUR"), "€18,750.00");
        assert_eq!(money(dec("999.999"), "EUR"), "€1,000.00");
        assert_eq!(grouped(dec("1234567"), 0), "1,234,567");
        assert_eq!(text(dec("12.3400")), "12.34");
        assert_eq!(text(-dec("0.000")), "0");
        assert_eq!(fixed(dec("5"), 2), "5.00");
        assert_eq!(ten_thousandths(10834), "1.0834");
    }
}
