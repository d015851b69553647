//! The demo organisation generator: a realistic mid-sized company (about 1,500 people in six countries)
//! as the CSV input files the product imports, in import order (dependencies first).
//!
//! Pure and deterministic: no clock, no I/O, no outside randomness. A small SplitMix64 seeded from `seed`
//! drives every choice, so the same `(seed, as_of)` gives byte-identical text forever. The fixed structure
//! (locations, the cost-centre tree, services, vendors) is the same for every seed; the people vary.

use std::collections::HashSet;

use jiff::Span;
use jiff::civil::Date;

/// One generated input file: its file name (e.g. "people.csv") and its full text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    pub name: &'static str,
    pub contents: String,
}

/// Generates the demo organisation for `seed` as of `as_of` (the demo's "today").
/// Same (seed, as_of) → byte-identical output.
pub fn generate(seed: u64, as_of: Date) -> Vec<DemoFile> {
    let mut rng = Rng(seed);
    let locs: Vec<Loc> = LOCATIONS.iter().map(|line| Loc::parse(line)).collect();
    let ccs: Vec<Cc> = COST_CENTRES.iter().map(|line| Cc::parse(line)).collect();
    let org = Org::generate(&mut rng, as_of, &ccs, &locs);

    let mut locations = Csv::new("code,name,kind,parent_code,country,city");
    for l in &locs {
        locations.row(&[l.code, l.name, l.kind, l.parent, l.country, l.city]);
    }
    let mut cost_centres = Csv::new("code,name,parent_code,currency");
    for c in &ccs {
        cost_centres.row(&[c.code, c.name, c.parent, currency(c.region)]);
    }
    let mut people = Csv::new(
        "employee_id,name,email,job_title,cost_centre_code,location_code,manager_employee_id,status,leave_date",
    );
    for (i, p) in org.people.iter().enumerate() {
        let (id, cc) = (employee_id(i), ccs.get(p.cc).map_or("", |c| c.code));
        let manager = p.manager.map(employee_id).unwrap_or_default();
        let leave = p.leave_date.map(|d| d.to_string()).unwrap_or_default();
        people.row(&[&id, &p.name, &p.email, &p.title, cc, p.location, &manager, p.status, &leave]);
    }
    let mut owners = Csv::new("code,owner_employee_id");
    for (c, &head) in ccs.iter().zip(&org.heads) {
        owners.row(&[c.code, &employee_id(head)]);
    }
    let mut services = Csv::new("code,name,owner_cost_centre_code,criticality,description");
    for (i, line) in SERVICES.iter().enumerate() {
        let [name, owner, criticality, description] = fields(line, '|');
        services.row(&[&format!("SVC-{:03}", i + 1), name, owner, criticality, description]);
    }
    let mut vendors = Csv::new("name,aliases,website");
    for line in VENDORS {
        vendors.row(&fields::<3>(line, '|'));
    }

    vec![
        DemoFile { name: "locations.csv", contents: locations.finish() },
        DemoFile { name: "cost-centres.csv", contents: cost_centres.finish() },
        DemoFile { name: "people.csv", contents: people.finish() },
        DemoFile { name: "cost-centre-owners.csv", contents: owners.finish() },
        DemoFile { name: "services.csv", contents: services.finish() },
        DemoFile { name: "vendors.csv", contents: vendors.finish() },
    ]
}

// ---------------------------------------------------------------------------------------------------------
// Fixed structure. Pipe-separated so each row stays on one line.

/// code|name|kind|parent_code|country|city|desk weight (how many people sit there, relatively; 0 = nobody).
const LOCATIONS: &[&str] = &[
    "US-NYC|New York HQ|site||US|New York|4",
    "US-NYC-F12|New York HQ — Floor 12|floor|US-NYC|US|New York|30",
    "US-NYC-F14|New York HQ — Floor 14|floor|US-NYC|US|New York|30",
    "US-NYC-F15|New York HQ — Floor 15 (Executive)|floor|US-NYC|US|New York|6",
    "US-NYC-F12-COMMS|Comms Room 12.01|room|US-NYC-F12|US|New York|0",
    "US-NYC-F15-BOARD|Boardroom Hudson|room|US-NYC-F15|US|New York|0",
    "US-AUS|Austin Office|site||US|Austin|28",
    "US-SFO|San Francisco Office|site||US|San Francisco|22",
    "US-ASH-DC|Ashburn DC (colocation)|data_centre||US|Ashburn|0",
    "US-REMOTE|Remote — United States|remote||US||20",
    "GB-LON|London HQ|site||GB|London|0",
    "GB-LON-B1|London — 1 Finsbury Avenue|building|GB-LON|GB|London|4",
    "GB-LON-B1-F3|London — 1 Finsbury Avenue, Floor 3|floor|GB-LON-B1|GB|London|35",
    "GB-LON-B1-F4|London — 1 Finsbury Avenue, Floor 4|floor|GB-LON-B1|GB|London|30",
    "GB-LON-B1-F3-COMMS|Comms Room 3.02|room|GB-LON-B1-F3|GB|London|0",
    "GB-MAN|Manchester Office|site||GB|Manchester|15",
    "GB-SLO-DC|Slough DC (colocation)|data_centre||GB|Slough|0",
    "GB-REMOTE|Remote — United Kingdom|remote||GB||16",
    "DE-BER|Berlin Office|site||DE|Berlin|20",
    "DE-BER-F3|Berlin Office — Floor 3|floor|DE-BER|DE|Berlin|20",
    "DE-MUC|Munich Office|site||DE|Munich|25",
    "DE-FRA-DC|Frankfurt DC (colocation)|data_centre||DE|Frankfurt am Main|0",
    "DE-REMOTE|Remote — Germany|remote||DE||12",
    "FR-PAR|Paris Office|site||FR|Paris|15",
    "FR-PAR-F5|Paris Office — Floor 5|floor|FR-PAR|FR|Paris|25",
    "FR-REMOTE|Remote — France|remote||FR||8",
    "NL-AMS|Amsterdam Office|site||NL|Amsterdam|40",
    "NL-REMOTE|Remote — Netherlands|remote||NL||10",
    "IE-DUB|Dublin EMEA Hub|site||IE|Dublin|10",
    "IE-DUB-F2|Dublin EMEA Hub — Floor 2|floor|IE-DUB|IE|Dublin|30",
    "IE-DUB-F3|Dublin EMEA Hub — Floor 3|floor|IE-DUB|IE|Dublin|30",
    "IE-REMOTE|Remote — Ireland|remote||IE||8",
];

/// code|name|parent_code|region|headcount weight|head's title (default "Head of <name>")|job titles (;).
/// Parents come before their children.
const COST_CENTRES: &[&str] = &[
    "CC-1000|Technology||global|4|Chief Technology Officer|Chief of Staff;Technical Program Manager;Executive Assistant",
    "CC-1100|Platform Engineering|CC-1000|global|90||Software Engineer;Site Reliability Engineer;Platform Engineer;Backend Engineer;Engineering Manager",
    "CC-1200|Cloud Infrastructure|CC-1000|global|45||Cloud Engineer;DevOps Engineer;Infrastructure Engineer;Network Engineer;FinOps Analyst",
    "CC-1300|Data|CC-1000|global|60||Data Engineer;Data Scientist;Analytics Engineer;Data Analyst;Machine Learning Engineer",
    "CC-1400|Security|CC-1000|global|30||Security Engineer;Security Analyst;Identity & Access Engineer;GRC Analyst;Application Security Engineer",
    "CC-1500|IT Service Desk|CC-1000|global|35||Service Desk Analyst;IT Support Technician;IT Support Engineer;Service Desk Team Lead",
    "CC-1600|End-User Computing|CC-1000|global|20||Endpoint Engineer;IT Asset Coordinator;Desktop Support Engineer;Collaboration Engineer",
    "CC-1700|Enterprise Applications|CC-1000|global|25||Business Systems Analyst;Salesforce Administrator;ERP Analyst;Integration Engineer;SaaS Administrator",
    "CC-2000|Product||global|3|Chief Product Officer|Chief of Staff;Product Operations Manager;Executive Assistant",
    "CC-2100|Product Management|CC-2000|global|45||Product Manager;Product Owner;Technical Product Manager;Product Analyst",
    "CC-2200|Design|CC-2000|global|30||Product Designer;UX Researcher;UX Writer;Design Systems Engineer",
    "CC-2300|Web Engineering|CC-2000|global|150||Software Engineer;Frontend Engineer;Full-Stack Engineer;QA Engineer;Engineering Manager",
    "CC-2400|Mobile Engineering|CC-2000|global|80||iOS Engineer;Android Engineer;Mobile QA Engineer;Software Engineer",
    "CC-3000|Sales||global|5|Chief Revenue Officer|Revenue Operations Analyst;Sales Operations Manager;Deal Desk Specialist;Sales Enablement Manager",
    "CC-3100|Sales North America|CC-3000|us|140||Account Executive;Enterprise Account Executive;Sales Development Representative;Solutions Engineer;Regional Sales Manager",
    "CC-3200|Sales UK&I|CC-3000|uki|70||Account Executive;Enterprise Account Executive;Sales Development Representative;Solutions Engineer;Regional Sales Manager",
    "CC-3300|Sales DACH|CC-3000|dach|50||Account Executive;Enterprise Account Executive;Sales Development Representative;Solutions Engineer;Regional Sales Manager",
    "CC-3400|Sales France|CC-3000|fr|35||Account Executive;Sales Development Representative;Solutions Engineer;Regional Sales Manager",
    "CC-3500|Sales Benelux|CC-3000|benelux|25||Account Executive;Sales Development Representative;Solutions Engineer",
    "CC-4000|Marketing||global|3|Chief Marketing Officer|Marketing Operations Manager;Executive Assistant",
    "CC-4100|Brand & Communications|CC-4000|global|25||Brand Designer;Content Marketing Manager;Communications Manager;Copywriter;Video Producer",
    "CC-4200|Demand Generation|CC-4000|global|40||Demand Generation Manager;Marketing Operations Specialist;Digital Marketing Manager;SEO Specialist;Campaign Manager",
    "CC-4300|Field Marketing Europe|CC-4000|europe|20||Field Marketing Manager;Events Manager;Partner Marketing Manager;Marketing Coordinator",
    "CC-5000|Customer Success||global|3|Chief Customer Officer|Customer Operations Analyst;Executive Assistant",
    "CC-5100|Customer Support Americas|CC-5000|us|70||Customer Support Specialist;Technical Support Engineer;Support Team Lead;Support Operations Analyst",
    "CC-5200|Customer Support EMEA|CC-5000|europe|60||Customer Support Specialist;Technical Support Engineer;Support Team Lead;Support Operations Analyst",
    "CC-5300|Professional Services|CC-5000|global|45||Implementation Consultant;Solutions Architect;Technical Account Manager;Project Manager",
    "CC-5400|Account Management|CC-5000|global|40||Customer Success Manager;Account Manager;Renewals Specialist",
    "CC-6000|Finance||global|2|Chief Financial Officer|Finance Business Partner;Executive Assistant",
    "CC-6100|Financial Planning & Analysis|CC-6000|global|15||Financial Analyst;FP&A Manager;IT Finance Analyst;Business Intelligence Analyst",
    "CC-6200|Accounting|CC-6000|global|25||Accountant;Accounts Payable Specialist;Accounts Receivable Specialist;Payroll Specialist;Financial Controller",
    "CC-6300|Procurement|CC-6000|global|10||Procurement Specialist;Category Manager;Vendor Manager;Software Licensing Analyst",
    "CC-6400|Tax & Treasury|CC-6000|global|8||Tax Manager;Treasury Analyst;Tax Accountant",
    "CC-7000|People||global|2|Chief People Officer|People Business Partner;Executive Assistant",
    "CC-7100|Talent Acquisition|CC-7000|global|25||Recruiter;Technical Recruiter;Sourcer;Recruiting Coordinator",
    "CC-7200|People Operations|CC-7000|global|18||People Operations Specialist;HRIS Analyst;Compensation & Benefits Analyst;People Partner",
    "CC-7300|Learning & Development|CC-7000|global|8||Learning & Development Specialist;Instructional Designer;Onboarding Coordinator",
    "CC-8000|Operations||global|3|Chief Operating Officer|Chief of Staff;Executive Assistant;Business Operations Manager",
    "CC-8100|Workplace & Facilities|CC-8000|global|20||Workplace Coordinator;Facilities Manager;Office Manager;Receptionist;Workplace Experience Lead",
    "CC-8200|Legal & Compliance|CC-8000|global|15||Legal Counsel;Paralegal;Compliance Analyst;Privacy Counsel;Contracts Manager",
];

/// The cost centre the CEO sits in.
const CEO_COST_CENTRE: &str = "CC-8000";
const CEO_LOCATION: (&str, &str) = ("US", "US-NYC-F15");

/// name|owner_cost_centre_code|criticality|description. Codes are SVC-001… in this order.
pub(crate) const SERVICES: &[&str] = &[
    "Customer Portal|CC-2300|critical|Customer-facing web portal where clients manage accounts, users and billing.",
    "Payments API|CC-1100|critical|Processes card and bank payments for all customer subscriptions.",
    "Mobile App Backend|CC-2400|critical|APIs and push notification services behind the iOS and Android apps.",
    "Public API Gateway|CC-1100|critical|Authenticates, rate-limits and routes all external API traffic.",
    "Billing & Invoicing|CC-1700|critical|Generates customer invoices, credit notes and dunning emails.",
    "Identity & SSO|CC-1400|critical|Single sign-on, MFA and account provisioning for every employee.",
    "Data Warehouse|CC-1300|high|Central analytics warehouse fed by product, finance and CRM data.",
    "Kubernetes Platform|CC-1200|critical|Shared container platform running production and staging workloads.",
    "CI/CD Platform|CC-1100|high|Builds, tests and deploys every code change to staging and production.",
    "Observability|CC-1100|high|Metrics, logs, traces and alerting for production systems.",
    "Incident Management|CC-1100|high|On-call rotas, paging and incident status communication.",
    "Corporate Email|CC-1700|high|Employee mailboxes, calendars and shared mailboxes.",
    "Video Conferencing|CC-1600|high|Meeting rooms, webinars and video calls for all staff.",
    "Team Chat|CC-1600|high|Company-wide messaging, channels and integrations.",
    "Service Desk|CC-1500|high|IT ticketing, self-service portal and knowledge base for employees.",
    "Endpoint Management|CC-1600|high|Enrols, patches and secures company laptops and mobile devices.",
    "VPN & Remote Access|CC-1400|high|Zero-trust remote access to internal applications for staff and contractors.",
    "Office Network|CC-1200|medium|Wired, Wi-Fi and guest networks in all offices.",
    "Data Centre Colocation|CC-1200|high|Racks, power and cross-connects in the Ashburn, Slough and Frankfurt data centres.",
    "Backup & Recovery|CC-1200|high|Backups, retention and restore testing for production databases and SaaS data.",
    "ERP (Finance)|CC-1700|critical|General ledger, accounts payable, purchasing and the financial close.",
    "HR Information System|CC-7200|high|Employee records, org chart, time off and onboarding workflows.",
    "Payroll|CC-6200|critical|Monthly payroll in the US, UK, Germany, France, the Netherlands and Ireland.",
    "CRM|CC-1700|critical|Accounts, opportunities, forecasts and pipeline for the sales team.",
    "Marketing Website|CC-4200|high|Public website, blog and landing pages, including lead capture forms.",
    "Marketing Automation|CC-4200|medium|Email campaigns, lead scoring and nurture programmes.",
    "Customer Support Platform|CC-5100|high|Ticketing, live chat and the help centre for customer support.",
    "Knowledge Base & Wiki|CC-1700|medium|Internal documentation, runbooks and team spaces.",
    "Source Code Hosting|CC-1100|high|Git repositories, code review and dependency scanning.",
    "Issue Tracking|CC-2100|medium|Product backlog, sprints and roadmap planning for engineering teams.",
    "Design Tools|CC-2200|low|Design, prototyping and whiteboarding tools for product and marketing.",
    "Product Analytics|CC-2100|medium|Event tracking, funnels and experimentation for the product.",
    "Search Service|CC-2300|high|Full-text search and indexing behind the customer portal and mobile app.",
    "Notification Service|CC-1100|high|Sends transactional email, SMS and push notifications.",
    "Document Signing|CC-8200|medium|Electronic signature for customer contracts, NDAs and offer letters.",
    "Contract Management|CC-8200|medium|Repository and approval workflows for commercial and vendor contracts.",
    "Expense Management|CC-6200|medium|Employee expense claims, corporate cards and receipt capture.",
    "Procurement Portal|CC-6300|medium|Purchase requests, approvals and vendor onboarding.",
    "Spend & License Management|CC-6300|medium|Tracks SaaS subscriptions, seat usage and renewals.",
    "FP&A Planning|CC-6100|medium|Budgeting, forecasting and headcount planning models.",
    "Treasury & Banking|CC-6400|high|Bank connectivity, cash positioning and payment runs.",
    "Recruiting (ATS)|CC-7100|medium|Job postings, candidate pipeline and interview scheduling.",
    "Learning Platform|CC-7300|low|Compliance training, courses and onboarding curricula.",
    "Password Management|CC-1400|high|Shared vaults and a password manager for all employees.",
    "Endpoint Security (EDR)|CC-1400|critical|Detects and responds to threats on laptops and servers.",
    "Email Security|CC-1400|high|Filters phishing, spam and malware before it reaches mailboxes.",
    "SIEM|CC-1400|high|Collects security logs, correlates events and raises alerts.",
    "DNS & CDN|CC-1200|critical|Public DNS, TLS certificates and content delivery for customer traffic.",
    "Secrets Management|CC-1200|high|Stores and rotates credentials, API keys and certificates.",
    "Machine Learning Platform|CC-1300|medium|Feature store, model training and model serving.",
    "Reporting & BI|CC-1300|medium|Dashboards and self-service reporting for every department.",
    "Data Pipelines|CC-1300|high|Ingests, transforms and schedules data loads into the warehouse.",
    "Print & Scan|CC-1600|low|Managed printers, scanning and secure print release in the offices.",
    "Meeting Room Booking|CC-8100|low|Room booking panels, desk booking and visitor sign-in.",
    "Telephony & Contact Centre|CC-5100|high|Phone numbers, call routing and IVR for sales and support.",
    "Mobile Fleet|CC-1600|low|Company mobile phones, SIM contracts and data plans.",
    "Partner Portal|CC-3000|medium|Deal registration, enablement content and co-marketing for partners.",
    "Sales Engagement|CC-3000|medium|Sequences, call recording and email tracking for the sales teams.",
    "Status Page|CC-5100|medium|Public status page and subscriber notifications during incidents.",
    "Sandbox & Demo Environments|CC-5300|low|Short-lived demo and trial environments for prospects and consultants.",
];

/// name|aliases as they appear on invoices (;)|website.
const VENDORS: &[&str] = &[
    "Amazon Web Services|AWS;Amazon Web Services EMEA SARL;Amazon Web Services, Inc.|https://aws.amazon.com",
    "Microsoft|Microsoft Corporation;Microsoft Ireland Operations Ltd;Azure;Microsoft 365|https://www.microsoft.com",
    "Google Cloud|Google Cloud EMEA Ltd;GCP;Google LLC;Google Workspace|https://cloud.google.com",
    "Dell Technologies|Dell Inc.;Dell Computer Ltd;Dell GmbH|https://www.dell.com",
    "Apple|Apple Inc.;Apple Distribution International Ltd;Apple Business Manager|https://www.apple.com",
    "Lenovo|Lenovo Group Ltd;Lenovo (United States) Inc.;Lenovo Technology B.V.|https://www.lenovo.com",
    "HP Inc.|HP;Hewlett-Packard;HP Inc UK Ltd|https://www.hp.com",
    "Cisco|Cisco Systems, Inc.;Cisco Systems International B.V.;Meraki;Webex|https://www.cisco.com",
    "Atlassian|Atlassian Pty Ltd;Atlassian Network Services;Jira;Confluence|https://www.atlassian.com",
    "Slack|Slack Technologies, LLC;Slack Technologies Limited|https://slack.com",
    "Salesforce|Salesforce, Inc.;salesforce.com EMEA Ltd;SFDC|https://www.salesforce.com",
    "Zoom|Zoom Communications, Inc.;Zoom Video Communications, Inc.;Zoom Video Communications Ltd|https://zoom.us",
    "GitHub|GitHub, Inc.;GitHub B.V.|https://github.com",
    "Datadog|Datadog, Inc.;Datadog International Ltd;DDOG|https://www.datadoghq.com",
    "Okta|Okta, Inc.;Okta UK Ltd|https://www.okta.com",
    "Snowflake|Snowflake Inc.;Snowflake Computing|https://www.snowflake.com",
    "ServiceNow|ServiceNow, Inc.;ServiceNow Nederland B.V.|https://www.servicenow.com",
    "Adobe|Adobe Inc.;Adobe Systems Software Ireland Ltd;Adobe Creative Cloud|https://www.adobe.com",
    "Workday|Workday, Inc.;Workday Limited|https://www.workday.com",
    "Cloudflare|Cloudflare, Inc.;Cloudflare Ltd|https://www.cloudflare.com",
    "Fastly|Fastly, Inc.;Fastly Ltd|https://www.fastly.com",
    "PagerDuty|PagerDuty, Inc.;PagerDuty Ltd|https://www.pagerduty.com",
    "1Password|AgileBits Inc.;1Password Business|https://1password.com",
    "CrowdStrike|CrowdStrike, Inc.;CrowdStrike Falcon;CrowdStrike UK Ltd|https://www.crowdstrike.com",
    "Vodafone|Vodafone Limited;Vodafone GmbH;Vodafone Ireland Ltd|https://www.vodafone.com",
    "BT|British Telecommunications plc;BT Business;BT Group|https://www.bt.com",
    "Deutsche Telekom|Telekom Deutschland GmbH;T-Systems;DTAG|https://www.telekom.com",
    "Equinix|Equinix, Inc.;Equinix (UK) Ltd;Equinix (Germany) GmbH|https://www.equinix.com",
    "Logitech|Logitech Europe S.A.;Logitech Inc.|https://www.logitech.com",
    "Jamf|Jamf Software, LLC;Jamf Pro|https://www.jamf.com",
    "Zscaler|Zscaler, Inc.;ZIA;ZPA|https://www.zscaler.com",
    "DocuSign|DocuSign, Inc.;DocuSign International (EMEA) Ltd|https://www.docusign.com",
    "Figma|Figma, Inc.;Figma UK Ltd|https://www.figma.com",
    "Miro|RealtimeBoard, Inc.;Miro Inc.|https://miro.com",
    "Notion|Notion Labs, Inc.;Notion Labs|https://www.notion.so",
    "HashiCorp|HashiCorp, Inc.;Terraform Cloud;HCP Vault|https://www.hashicorp.com",
    "Elastic|Elasticsearch B.V.;Elastic N.V.;Elastic Cloud|https://www.elastic.co",
    "MongoDB|MongoDB, Inc.;MongoDB Atlas;MongoDB Ltd|https://www.mongodb.com",
    "Twilio|Twilio Inc.;Twilio Ireland Ltd;SendGrid|https://www.twilio.com",
    "Zendesk|Zendesk, Inc.;Zendesk International Ltd|https://www.zendesk.com",
    "HubSpot|HubSpot, Inc.;HubSpot Ireland Ltd|https://www.hubspot.com",
    "Oracle|Oracle Corporation;Oracle NetSuite;NetSuite Inc.;Oracle EMEA Ltd|https://www.oracle.com",
    "SAP|SAP SE;SAP Concur;Concur Technologies, Inc.|https://www.sap.com",
    "Orange Business|Orange Business Services;Orange S.A.|https://www.orange-business.com",
    "KPN|KPN B.V.;Koninklijke KPN N.V.|https://www.kpn.com",
    "Eir|eircom Limited;Eir Business|https://www.eir.ie",
];

/// Name pools, index-aligned with `culture`: US, GB, DE, FR, NL, IE, and a global pool.
const FIRST_NAMES: [&[&str]; 7] = [
    &[
        "James",
        "Mary",
        "Michael",
        "Jennifer",
        "Robert",
        "Linda",
        "David",
        "Sarah",
        "Christopher",
        "Jessica",
        "Daniel",
        "Ashley",
        "Matthew",
        "Emily",
        "Anthony",
        "Megan",
        "Joshua",
        "Lauren",
        "Andrew",
        "Rachel",
        "Tyler",
        "Brittany",
        "Brandon",
        "Nicole",
        "Kevin",
        "Amanda",
        "Jason",
        "Stephanie",
        "Ryan",
        "Hannah",
    ],
    &[
        "Oliver",
        "Amelia",
        "Harry",
        "Isla",
        "George",
        "Poppy",
        "Jack",
        "Freya",
        "Charlie",
        "Imogen",
        "Alfie",
        "Eleanor",
        "Thomas",
        "Charlotte",
        "William",
        "Sophie",
        "Oscar",
        "Lucy",
        "Henry",
        "Grace",
        "Archie",
        "Phoebe",
        "Edward",
        "Harriet",
        "Callum",
        "Zara",
        "Rhys",
        "Bethan",
        "Hamish",
        "Fiona",
    ],
    &[
        "Lukas",
        "Anna",
        "Jonas",
        "Lea",
        "Felix",
        "Lena",
        "Maximilian",
        "Hannah",
        "Paul",
        "Sophie",
        "Leon",
        "Marie",
        "Tobias",
        "Julia",
        "Niklas",
        "Katharina",
        "Jan",
        "Laura",
        "Florian",
        "Sarah",
        "Sebastian",
        "Johanna",
        "Moritz",
        "Franziska",
        "Jürgen",
        "Sabine",
        "Stefan",
        "Claudia",
        "Matthias",
        "Jörg",
    ],
    &[
        "Camille",
        "Léa",
        "Lucas",
        "Manon",
        "Hugo",
        "Chloé",
        "Louis",
        "Inès",
        "Gabriel",
        "Sarah",
        "Arthur",
        "Juliette",
        "Nathan",
        "Élodie",
        "Thomas",
        "Margaux",
        "Julien",
        "Céline",
        "Antoine",
        "Claire",
        "Mathieu",
        "Aurélie",
        "Nicolas",
        "Émilie",
        "Jean-Baptiste",
        "Marie-Claire",
        "François",
        "Hélène",
        "Rémi",
        "Zoé",
    ],
    &[
        "Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Levi", "Sophie", "Finn", "Anna", "Bram", "Fleur",
        "Jesse", "Sanne", "Thijs", "Lotte", "Ruben", "Eva", "Joris", "Femke", "Sven", "Iris", "Stijn",
        "Noor", "Wouter", "Maartje", "Pieter", "Annelies", "Joost", "Marloes",
    ],
    &[
        "Seán", "Aoife", "Conor", "Siobhán", "Cian", "Niamh", "Oisín", "Ciara", "Darragh", "Saoirse", "Eoin",
        "Róisín", "Pádraig", "Sinéad", "Liam", "Caoimhe", "Ciarán", "Orla", "Declan", "Aisling", "Fionn",
        "Clodagh", "Colm", "Méabh", "Ronan", "Gráinne", "Killian", "Deirdre", "Tadhg", "Áine",
    ],
    &[
        "Priya",
        "Arjun",
        "Wei",
        "Mei",
        "Hiroshi",
        "Yuki",
        "Carlos",
        "Sofía",
        "Mateus",
        "Fatima",
        "Omar",
        "Aisha",
        "Chinedu",
        "Ngozi",
        "Kwame",
        "Amara",
        "Dmitri",
        "Olga",
        "Piotr",
        "Agnieszka",
        "Mehmet",
        "Elif",
        "Ravi",
        "Ananya",
        "Jin",
        "Seo-yeon",
        "Alejandro",
        "Valentina",
        "Tariq",
        "Leila",
    ],
];
const LAST_NAMES: [&[&str]; 7] = [
    &[
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Miller",
        "Davis",
        "Garcia",
        "Rodriguez",
        "Wilson",
        "Martinez",
        "Anderson",
        "Taylor",
        "Thomas",
        "Moore",
        "Jackson",
        "Martin",
        "Lee",
        "Thompson",
        "White",
        "Harris",
        "Clark",
        "Lewis",
        "Robinson",
        "Walker",
        "Young",
        "Allen",
        "King",
        "Wright",
        "Hernandez",
    ],
    &[
        "Smith", "Jones", "Taylor", "Evans", "Davies", "Wilson", "Thomas", "Roberts", "Walker", "Wright",
        "Robinson", "Thompson", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harrison", "Clarke", "Lewis",
        "Jackson", "Turner", "Hill", "Cooper", "Ward", "Morris", "Patel", "Khan", "Ahmed", "Campbell",
    ],
    &[
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Schäfer",
        "Koch",
        "Bauer",
        "Richter",
        "Klein",
        "Wolf",
        "Schröder",
        "Neumann",
        "Schwarz",
        "Zimmermann",
        "Braun",
        "Krüger",
        "Hofmann",
        "Hartmann",
        "Lange",
        "Schmitt",
        "Werner",
        "Krause",
        "Meier",
        "Lehmann",
    ],
    &[
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
        "Simon",
        "Laurent",
        "Lefèvre",
        "Michel",
        "Garcia",
        "David",
        "Bertrand",
        "Roux",
        "Vincent",
        "Fournier",
        "Morel",
        "Girard",
        "André",
        "Mercier",
        "Dupont",
        "Lambert",
        "Bonnet",
        "François",
        "Martinez",
        "Legrand",
    ],
    &[
        "de Jong",
        "Jansen",
        "de Vries",
        "van den Berg",
        "van Dijk",
        "Bakker",
        "Janssen",
        "Visser",
        "Smit",
        "Meijer",
        "de Boer",
        "Mulder",
        "de Groot",
        "Bos",
        "Vos",
        "Peters",
        "Hendriks",
        "van Leeuwen",
        "Dekker",
        "Brouwer",
        "de Wit",
        "Dijkstra",
        "Smits",
        "de Graaf",
        "van der Meer",
        "van der Linden",
        "Kok",
        "Jacobs",
        "de Haan",
        "Vermeulen",
    ],
    &[
        "Murphy",
        "Kelly",
        "O'Sullivan",
        "Walsh",
        "O'Brien",
        "Byrne",
        "Ryan",
        "O'Connor",
        "O'Neill",
        "O'Reilly",
        "Doyle",
        "McCarthy",
        "Gallagher",
        "O'Doherty",
        "Kennedy",
        "Lynch",
        "Murray",
        "Quinn",
        "Whelan",
        "McLoughlin",
        "Carroll",
        "Connolly",
        "Daly",
        "Brennan",
        "Fitzgerald",
        "Nolan",
        "Keane",
        "Hayes",
        "Duffy",
        "Ó Súilleabháin",
    ],
    &[
        "Patel",
        "Sharma",
        "Singh",
        "Chen",
        "Wang",
        "Li",
        "Zhang",
        "Tanaka",
        "Suzuki",
        "Kim",
        "Park",
        "Nguyen",
        "Tran",
        "Silva",
        "Santos",
        "Oliveira",
        "Rossi",
        "Bianchi",
        "Kowalski",
        "Nowak",
        "Yılmaz",
        "Demir",
        "Okafor",
        "Adeyemi",
        "Mensah",
        "Hassan",
        "Ali",
        "Ivanov",
        "Novák",
        "Fernández",
    ],
];
const GLOBAL_CULTURE: usize = 6;

fn culture_of(country: &str) -> usize {
    ["US", "GB", "DE", "FR", "NL", "IE"].iter().position(|c| *c == country).unwrap_or(GLOBAL_CULTURE)
}

/// Where a region's people live, as (country, relative weight).
fn region_countries(region: &str) -> &'static [(&'static str, u32)] {
    match region {
        "us" => &[("US", 1)],
        "uki" => &[("GB", 85), ("IE", 15)],
        "dach" => &[("DE", 1)],
        "fr" => &[("FR", 1)],
        "benelux" => &[("NL", 1)],
        "europe" => &[("IE", 40), ("DE", 20), ("FR", 15), ("NL", 25)],
        _ => &[("US", 45), ("GB", 22), ("DE", 10), ("FR", 6), ("NL", 7), ("IE", 10)],
    }
}

fn currency(region: &str) -> &'static str {
    match region {
        "uki" => "GBP",
        "dach" | "fr" | "benelux" | "europe" => "EUR",
        _ => "USD",
    }
}

// ---------------------------------------------------------------------------------------------------------
// Generation.

struct Loc {
    code: &'static str,
    name: &'static str,
    kind: &'static str,
    parent: &'static str,
    country: &'static str,
    city: &'static str,
    desk: u32,
}

impl Loc {
    fn parse(line: &'static str) -> Self {
        let [code, name, kind, parent, country, city, desk] = fields(line, '|');
        Self { code, name, kind, parent, country, city, desk: desk.parse().unwrap_or(0) }
    }
}

struct Cc {
    code: &'static str,
    name: &'static str,
    parent: &'static str,
    region: &'static str,
    weight: u32,
    head_title: String,
    titles: Vec<&'static str>,
}

impl Cc {
    fn parse(line: &'static str) -> Self {
        let [code, name, parent, region, weight, head_title, titles] = fields(line, '|');
        let head_title =
            if head_title.is_empty() { format!("Head of {name}") } else { head_title.to_owned() };
        let titles = titles.split(';').filter(|t| !t.is_empty()).collect();
        Self { code, name, parent, region, weight: weight.parse().unwrap_or(0), head_title, titles }
    }
}

struct Person {
    name: String,
    email: String,
    title: String,
    cc: usize,
    location: &'static str,
    manager: Option<usize>,
    status: &'static str,
    leave_date: Option<Date>,
}

struct Org {
    people: Vec<Person>,
    /// Index into `people` of each cost centre's head, aligned with the cost centres.
    heads: Vec<usize>,
}

impl Org {
    fn generate(rng: &mut Rng, as_of: Date, ccs: &[Cc], locs: &[Loc]) -> Self {
        let mut org = Org { people: Vec::new(), heads: Vec::with_capacity(ccs.len()) };
        let mut namer = Namer::default();
        // The CEO: person 0, reports to nobody.
        let cc = ccs.iter().position(|c| c.code == CEO_COST_CENTRE).unwrap_or(0);
        let (name, email) = namer.person(rng, CEO_LOCATION.0);
        let (title, location) = ("Chief Executive Officer".to_owned(), CEO_LOCATION.1);
        let (manager, status, leave_date) = (None, "active", None);
        org.people.push(Person { name, email, title, cc, location, manager, status, leave_date });
        // Heads, parents first: division heads report to the CEO, department heads to their parent's head.
        for (cc, c) in ccs.iter().enumerate() {
            let parent_head = ccs.iter().position(|p| p.code == c.parent).and_then(|p| org.heads.get(p));
            let manager = Some(parent_head.copied().unwrap_or(0));
            let at_hq = c.parent.is_empty() && rng.chance(600);
            let (country, location) = if at_hq { CEO_LOCATION } else { place(rng, c.region, locs) };
            let (name, email) = namer.person(rng, country);
            let title = c.head_title.clone();
            org.heads.push(org.people.len());
            let (status, leave_date) = ("active", None);
            org.people.push(Person { name, email, title, cc, location, manager, status, leave_date });
        }
        // Everyone else reports to their cost centre's head.
        let total = 1460 + rng.below(81);
        let weights: Vec<u32> = ccs.iter().map(|c| c.weight).collect();
        while org.people.len() < total {
            let cc = rng.weighted(&weights);
            let Some(c) = ccs.get(cc) else { break };
            let (country, location) = place(rng, c.region, locs);
            let (name, email) = namer.person(rng, country);
            // The first title listed is the department's most common role.
            let i = if rng.chance(350) { 0 } else { rng.below(c.titles.len()) };
            let title = with_seniority(rng, c.titles.get(i).copied().unwrap_or("Analyst"));
            let (status, leave_date) = departure(rng, as_of);
            let manager = org.heads.get(cc).copied();
            org.people.push(Person { name, email, title, cc, location, manager, status, leave_date });
        }
        org
    }
}

/// A country of the region, then a desk location in it (an office floor, a site, or remote).
fn place(rng: &mut Rng, region: &str, locs: &[Loc]) -> (&'static str, &'static str) {
    let countries = region_countries(region);
    let weights: Vec<u32> = countries.iter().map(|c| c.1).collect();
    let country = countries.get(rng.weighted(&weights)).map_or("US", |c| c.0);
    let options: Vec<&Loc> = locs.iter().filter(|l| l.country == country && l.desk > 0).collect();
    let weights: Vec<u32> = options.iter().map(|l| l.desk).collect();
    (country, options.get(rng.weighted(&weights)).map_or("", |l| l.code))
}

/// Hands out names and unique e-mail addresses.
#[derive(Default)]
struct Namer {
    names: HashSet<String>,
    emails: HashSet<String>,
}

impl Namer {
    /// A full name (re-drawn a few times to keep repeats rare) and its unique `first.last@corp.example`,
    /// ASCII lower-case, with a numeric suffix from 2 on collision.
    fn person(&mut self, rng: &mut Rng, country: &str) -> (String, String) {
        let (mut first, mut last) = person_name(rng, country);
        for _ in 0..4 {
            if !self.names.contains(&format!("{first} {last}")) {
                break;
            }
            (first, last) = person_name(rng, country);
        }
        let name = format!("{first} {last}");
        self.names.insert(name.clone());
        let base = format!("{}.{}", ascii_slug(first), ascii_slug(last));
        let mut n = 1;
        loop {
            let email =
                if n == 1 { format!("{base}@corp.example") } else { format!("{base}{n}@corp.example") };
            if self.emails.insert(email.clone()) {
                return (name, email);
            }
            n += 1;
        }
    }
}

/// Mostly local names, with a diverse minority, and some mixed first/last-name origins.
fn person_name(rng: &mut Rng, country: &str) -> (&'static str, &'static str) {
    let local = culture_of(country);
    let culture = |rng: &mut Rng| match rng.below(100) {
        0..60 => local,
        60..80 => GLOBAL_CULTURE,
        _ => rng.below(FIRST_NAMES.len()),
    };
    let first_culture = culture(rng);
    let last_culture = if rng.chance(650) { first_culture } else { culture(rng) };
    let firsts = FIRST_NAMES[first_culture];
    let lasts = LAST_NAMES[last_culture];
    (firsts[rng.below(firsts.len())], lasts[rng.below(lasts.len())])
}

/// Lower-case ASCII transliteration for an e-mail local part: "Müller" → "mueller", "O'Brien" → "obrien",
/// "van der Meer" → "vandermeer", "Jean-Baptiste" → "jean-baptiste".
fn ascii_slug(s: &str) -> String {
    const MAP: &[(&str, &str)] = &[
        ("ä", "ae"),
        ("ö", "oe"),
        ("ø", "oe"),
        ("ü", "ue"),
        ("ß", "ss"),
        ("àáâãå", "a"),
        ("ç", "c"),
        ("èéêë", "e"),
        ("ìíîïı", "i"),
        ("ñ", "n"),
        ("òóôõ", "o"),
        ("ùúû", "u"),
        ("ýÿ", "y"),
        ("ł", "l"),
        ("š", "s"),
    ];
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
        } else if let Some((_, ascii)) = MAP.iter().find(|(from, _)| from.contains(c)) {
            out.push_str(ascii);
        }
    }
    out
}

fn with_seniority(rng: &mut Rng, title: &str) -> String {
    const SENIOR_ABLE: &[&str] = &[
        "Analyst",
        "Designer",
        "Scientist",
        "Consultant",
        "Accountant",
        "Recruiter",
        "Executive",
        "Specialist",
        "Manager",
        "Architect",
        "Counsel",
        "Researcher",
    ];
    let roll = rng.below(100);
    let prefix = if title.ends_with("Engineer") {
        match roll {
            0..6 => "Staff ",
            6..8 => "Principal ",
            8..32 => "Senior ",
            _ => "",
        }
    } else if SENIOR_ABLE.iter().any(|s| title.ends_with(s)) && roll < 25 {
        "Senior "
    } else {
        ""
    };
    format!("{prefix}{title}")
}

/// About 3% left 1–120 days ago; about 0.5% are active with a departure 1–30 days ahead.
fn departure(rng: &mut Rng, as_of: Date) -> (&'static str, Option<Date>) {
    let roll = rng.below(1000);
    if roll < 30 {
        let days = 1 + rng.below(120) as i64;
        if let Ok(date) = as_of.checked_sub(Span::new().days(days)) {
            return ("leaver", Some(date));
        }
    } else if roll < 35 {
        let days = 1 + rng.below(30) as i64;
        if let Ok(date) = as_of.checked_add(Span::new().days(days)) {
            return ("active", Some(date));
        }
    }
    ("active", None)
}

fn employee_id(index: usize) -> String {
    format!("E{:05}", index + 1)
}

/// Splits a static data line into exactly `N` fields (missing ones empty).
fn fields<const N: usize>(line: &'static str, sep: char) -> [&'static str; N] {
    let mut out = [""; N];
    for (slot, part) in out.iter_mut().zip(line.split(sep)) {
        *slot = part;
    }
    out
}

/// SplitMix64: tiny, fast, and fixed forever, so a seed always means the same organisation.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    pub(crate) fn chance(&mut self, per_mille: usize) -> bool {
        self.below(1000) < per_mille
    }

    /// An index drawn in proportion to `weights` (0 when they are all zero).
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: usize = weights.iter().map(|&w| w as usize).sum();
        let mut roll = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if roll < w as usize {
                return i;
            }
            roll -= w as usize;
        }
        0
    }
}

/// An in-memory CSV file with `\n` line endings.
pub(crate) struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    pub(crate) fn new(header: &str) -> Self {
        let writer =
            csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        let mut csv = Self(writer);
        csv.row(&header.split(',').collect::<Vec<_>>());
        csv
    }

    pub(crate) fn row(&mut self, cells: &[&str]) {
        self.0.write_record(cells).expect("writing CSV into memory cannot fail");
    }

    pub(crate) fn finish(self) -> String {
        let bytes = self.0.into_inner().expect("flushing CSV into memory cannot fail");
        String::from_utf8(bytes).expect("CSV written from UTF-8 strings is UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    type Row = HashMap<String, String>;

    const HEADERS: [(&str, &str); 6] = [
        ("locations.csv", "code,name,kind,parent_code,country,city"),
        ("cost-centres.csv", "code,name,parent_code,currency"),
        (
            "people.csv",
            "employee_id,name,email,job_title,cost_centre_code,location_code,manager_employee_id,status,leave_date",
        ),
        ("cost-centre-owners.csv", "code,owner_employee_id"),
        ("services.csv", "code,name,owner_cost_centre_code,criticality,description"),
        ("vendors.csv", "name,aliases,website"),
    ];

    fn as_of() -> Date {
        jiff::civil::date(2025, 3, 31)
    }

    fn text<'a>(files: &'a [DemoFile], name: &str) -> &'a str {
        &files.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("{name} missing")).contents
    }

    /// Parses a file back with the csv crate: its rows keyed by column.
    fn rows(files: &[DemoFile], name: &str) -> Vec<Row> {
        let mut reader = csv::ReaderBuilder::new().from_reader(text(files, name).as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let records = reader.records().map(Result::unwrap);
        records.map(|r| header.iter().cloned().zip(r.iter().map(str::to_owned)).collect()).collect()
    }

    fn unique<'a>(values: impl IntoIterator<Item = &'a str>, what: &str) -> HashSet<&'a str> {
        let mut seen = HashSet::new();
        for v in values {
            assert!(seen.insert(v), "duplicate {what}: {v}");
        }
        seen
    }

    fn is_code(s: &str) -> bool {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.len() <= 32
            && chars.all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
    }

    #[test]
    fn files_in_import_order_and_deterministic_per_seed() {
        let a = generate(42, as_of());
        assert_eq!(a.iter().map(|f| f.name).collect::<Vec<_>>(), HEADERS.map(|h| h.0));
        for (f, (name, header)) in a.iter().zip(HEADERS) {
            assert_eq!(f.contents.lines().next(), Some(header), "{name}");
            assert!(f.contents.ends_with('\n') && !f.contents.contains('\r'), "{name}: line endings");
            assert!(!f.contents.starts_with('\u{feff}'), "{name}: BOM");
        }
        assert_eq!(a, generate(42, as_of()));
        let b = generate(43, as_of());
        assert_ne!(text(&a, "people.csv"), text(&b, "people.csv"));
        for fixed in ["locations.csv", "cost-centres.csv", "services.csv", "vendors.csv"] {
            assert_eq!(text(&a, fixed), text(&b, fixed), "{fixed} is fixed structure");
        }
        let later = generate(42, jiff::civil::date(2025, 9, 30));
        assert_ne!(text(&a, "people.csv"), text(&later, "people.csv"), "leave dates follow as_of");
    }

    #[test]
    fn counts_countries_and_currencies() {
        let files = generate(7, as_of());
        let locations = rows(&files, "locations.csv");
        assert!((25..=35).contains(&locations.len()), "{} locations", locations.len());
        let countries: HashSet<&str> = locations.iter().map(|l| l["country"].as_str()).collect();
        assert_eq!(countries, HashSet::from(["US", "GB", "DE", "FR", "NL", "IE"]));
        let kinds: HashSet<&str> = locations.iter().map(|l| l["kind"].as_str()).collect();
        assert_eq!(kinds, HashSet::from(["site", "building", "floor", "room", "data_centre", "remote"]));
        for country in &countries {
            let remote = locations.iter().filter(|l| l["kind"] == "remote" && l["country"] == *country);
            assert_eq!(remote.count(), 1, "one remote location in {country}");
        }
        assert!((2..=3).contains(&locations.iter().filter(|l| l["kind"] == "data_centre").count()));
        assert!(locations.iter().filter(|l| l["kind"] == "site").all(|l| !l["city"].is_empty()));

        let ccs = rows(&files, "cost-centres.csv");
        assert_eq!(ccs.len(), 40);
        assert_eq!(ccs.iter().filter(|c| c["parent_code"].is_empty()).count(), 8);
        let currencies: HashSet<&str> = ccs.iter().map(|c| c["currency"].as_str()).collect();
        assert_eq!(currencies, HashSet::from(["USD", "GBP", "EUR"]));
        let currency: HashMap<&str, &str> =
            ccs.iter().map(|c| (c["name"].as_str(), c["currency"].as_str())).collect();
        assert_eq!(
            ["Sales DACH", "Sales UK&I", "Sales North America", "Technology"].map(|n| currency[n]),
            ["EUR", "GBP", "USD", "USD"]
        );

        let services = rows(&files, "services.csv");
        assert_eq!(services.len(), 60);
        for (i, s) in services.iter().enumerate() {
            assert_eq!(s["code"], format!("SVC-{:03}", i + 1));
        }
        let criticality: HashSet<&str> = services.iter().map(|s| s["criticality"].as_str()).collect();
        assert_eq!(criticality, HashSet::from(["critical", "high", "medium", "low"]));
        assert!(services.iter().any(|s| s["description"].contains(',')), "quoting gets exercised");
        let vendors = rows(&files, "vendors.csv").len();
        assert!((35..=50).contains(&vendors), "{vendors} vendors");
        for seed in [0, 1, 2, 3, u64::MAX] {
            let n = rows(&generate(seed, as_of()), "people.csv").len();
            assert!((1450..=1550).contains(&n), "seed {seed}: {n} people");
        }
    }

    #[test]
    fn references_resolve_and_identifiers_are_unique() {
        for seed in [0, 7, 1234] {
            let files = generate(seed, as_of());
            let locations = rows(&files, "locations.csv");
            let country: HashMap<&str, &str> =
                locations.iter().map(|l| (l["code"].as_str(), l["country"].as_str())).collect();
            unique(locations.iter().map(|l| l["code"].as_str()), "location code");
            for l in locations.iter().filter(|l| !l["parent_code"].is_empty()) {
                assert_eq!(country.get(l["parent_code"].as_str()), Some(&l["country"].as_str()), "{l:?}");
            }
            let ccs = rows(&files, "cost-centres.csv");
            let cc_codes = unique(ccs.iter().map(|c| c["code"].as_str()), "cost centre code");
            let currency: HashMap<&str, &str> =
                ccs.iter().map(|c| (c["code"].as_str(), c["currency"].as_str())).collect();
            for parent in ccs.iter().map(|c| c["parent_code"].as_str()).filter(|p| !p.is_empty()) {
                assert!(cc_codes.contains(parent), "cost centre parent {parent}");
            }

            let people = rows(&files, "people.csv");
            let ids = unique(people.iter().map(|p| p["employee_id"].as_str()), "employee_id");
            let emails: Vec<String> = people.iter().map(|p| p["email"].to_lowercase()).collect();
            unique(emails.iter().map(String::as_str), "email");
            for p in &people {
                let (email, cc, loc) =
                    (&p["email"], p["cost_centre_code"].as_str(), p["location_code"].as_str());
                assert!(email.ends_with("@corp.example") && email.contains('.'), "{email}");
                assert!(
                    email.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-@".contains(c))
                );
                assert!(cc_codes.contains(cc) && country.contains_key(loc), "{p:?}");
                let manager = p["manager_employee_id"].as_str();
                assert!(manager.is_empty() || ids.contains(manager), "manager {manager}");
                assert!(!p["name"].is_empty() && !p["job_title"].is_empty());
                // Regional cost centres keep their people in their region.
                let allowed: &[&str] = match (cc, currency[cc]) {
                    ("CC-3300", _) => &["DE"],
                    (_, "GBP") => &["GB", "IE"],
                    (_, "EUR") => &["DE", "FR", "NL", "IE"],
                    _ => &["US", "GB", "DE", "FR", "NL", "IE"],
                };
                assert!(allowed.contains(&country[loc]), "{p:?}");
            }

            let owners = rows(&files, "cost-centre-owners.csv");
            assert_eq!(unique(owners.iter().map(|o| o["code"].as_str()), "owned cost centre"), cc_codes);
            let by_id: HashMap<&str, &Row> = people.iter().map(|p| (p["employee_id"].as_str(), p)).collect();
            for o in &owners {
                let head = by_id[o["owner_employee_id"].as_str()];
                assert_eq!(head["cost_centre_code"], o["code"], "the owner heads that cost centre");
                assert!(head["status"] == "active" && head["leave_date"].is_empty(), "heads never leave");
            }
            let services = rows(&files, "services.csv");
            unique(services.iter().map(|s| s["code"].as_str()), "service code");
            for s in &services {
                assert!(cc_codes.contains(s["owner_cost_centre_code"].as_str()), "{s:?}");
            }
        }
    }

    #[test]
    fn management_chain_is_a_tree_rooted_at_the_ceo() {
        let files = generate(99, as_of());
        let (people, ccs) = (rows(&files, "people.csv"), rows(&files, "cost-centres.csv"));
        let owners = rows(&files, "cost-centre-owners.csv");
        let manager: HashMap<&str, &str> =
            people.iter().map(|p| (p["employee_id"].as_str(), p["manager_employee_id"].as_str())).collect();
        let owner: HashMap<&str, &str> =
            owners.iter().map(|o| (o["code"].as_str(), o["owner_employee_id"].as_str())).collect();
        let roots: Vec<&Row> = people.iter().filter(|p| p["manager_employee_id"].is_empty()).collect();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0]["job_title"], "Chief Executive Officer");
        let ceo = roots[0]["employee_id"].as_str();
        for p in &people {
            let (mut at, mut steps) = (p["employee_id"].as_str(), 0);
            while !manager[at].is_empty() {
                at = manager[at];
                steps += 1;
                assert!(steps <= people.len(), "manager cycle from {}", p["employee_id"]);
            }
            assert_eq!(at, ceo);
        }
        // Division heads report to the CEO; department heads to their parent cost centre's head.
        for c in &ccs {
            let expected = if c["parent_code"].is_empty() { ceo } else { owner[c["parent_code"].as_str()] };
            assert_eq!(manager[owner[c["code"].as_str()]], expected, "{c:?}");
        }
        // Everyone else reports to the head of their own cost centre.
        let heads: HashSet<&str> = owner.values().copied().collect();
        for p in
            people.iter().filter(|p| !heads.contains(p["employee_id"].as_str()) && p["employee_id"] != ceo)
        {
            assert_eq!(p["manager_employee_id"], owner[p["cost_centre_code"].as_str()], "{p:?}");
        }
    }

    #[test]
    fn leavers_and_scheduled_departures() {
        let d = as_of();
        let (earliest, latest) =
            (d.checked_sub(Span::new().days(120)).unwrap(), d.checked_add(Span::new().days(30)).unwrap());
        for seed in [3, 2024] {
            let people = rows(&generate(seed, d), "people.csv");
            let (mut leavers, mut scheduled) = (0, 0);
            for p in &people {
                let leave: Option<Date> =
                    (!p["leave_date"].is_empty()).then(|| p["leave_date"].parse().unwrap());
                match (p["status"].as_str(), leave) {
                    ("leaver", Some(left)) => {
                        leavers += 1;
                        assert!(left < d && left >= earliest, "{p:?}");
                    }
                    ("active", Some(leaves)) => {
                        scheduled += 1;
                        assert!(leaves > d && leaves <= latest, "{p:?}");
                    }
                    ("active", None) => {}
                    _ => panic!("bad status/leave_date: {p:?}"),
                }
            }
            let share = leavers as f64 / people.len() as f64;
            assert!((0.01..=0.06).contains(&share), "seed {seed}: {leavers} leavers of {}", people.len());
            assert!((1..=30).contains(&scheduled), "seed {seed}: {scheduled} scheduled departures");
        }
    }

    #[test]
    fn vendor_aliases_are_unique_and_never_a_name() {
        let vendors = rows(&generate(5, as_of()), "vendors.csv");
        let names = unique(vendors.iter().map(|v| v["name"].as_str()), "vendor name");
        let names: HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
        let mut aliases = HashSet::new();
        for v in &vendors {
            assert!(v["website"].starts_with("https://"), "{v:?}");
            for alias in v["aliases"].split(';') {
                assert!(!alias.is_empty() && alias.trim() == alias, "{v:?}");
                assert!(!names.contains(&alias.to_lowercase()), "alias {alias} is a vendor name");
                assert!(aliases.insert(alias.to_lowercase()), "duplicate alias {alias}");
            }
        }
        let aws = vendors.iter().find(|v| v["name"] == "Amazon Web Services").unwrap();
        assert!(aws["aliases"].split(';').any(|a| a == "Amazon Web Services, Inc."));
    }

    #[test]
    fn values_are_short_and_clean_and_codes_well_formed() {
        let files = generate(11, as_of());
        let code_columns = ["code", "parent_code", "country", "currency", "employee_id", "cost_centre_code"]
            .into_iter()
            .chain(["location_code", "manager_employee_id", "owner_employee_id", "owner_cost_centre_code"])
            .collect::<Vec<_>>();
        for f in &files {
            for row in rows(&files, f.name) {
                for (column, value) in &row {
                    assert!(value.chars().count() <= 200, "{}: {column} too long", f.name);
                    assert!(!value.chars().any(char::is_control), "{}: {column} {value:?}", f.name);
                    if code_columns.contains(&column.as_str()) && !value.is_empty() {
                        assert!(is_code(value), "{}: {column} {value:?} is not a code", f.name);
                    }
                }
            }
        }
        assert_eq!(ascii_slug("Ó Súilleabháin"), "osuilleabhain");
        assert_eq!(ascii_slug("van der Meer"), "vandermeer");
        assert_eq!(ascii_slug("Müller"), "mueller");
        assert_eq!(ascii_slug("Jean-Baptiste"), "jean-baptiste");
        assert_eq!(ascii_slug("Élodie O'Brien"), "elodieobrien");
    }
}
