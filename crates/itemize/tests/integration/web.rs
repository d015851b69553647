//! The web interface's forms and views over HTTP, on SQLite and PostgreSQL: a signed-in browser session (a
//! cookie and its CSRF token), forms that keep what was typed and name each problem beside its field, stale
//! versions refused, scanning an audit, uploading a broken bill, previewing and applying rules, the explorer's
//! drill-down and downloads, and what API tokens may not do with page forms.

use crate::harness::{ADMIN, PASSWORD, Server, seed_small, sys};
use itemize_app::cost::{ImportOptions, Progress};
use itemize_core::assets::State;
use itemize_core::refdata::CostCentre;
use rust_decimal::Decimal;
use serde_json::json;
use std::sync::Arc;

/// A signed-in browser: the session cookie and the CSRF token its forms carry.
struct Browser {
    cookie: String,
    csrf: String,
    http: reqwest::Client,
    base: String,
}

impl Browser {
    async fn sign_in(s: &Server, user: &str, password: &str) -> Browser {
        let r = s
            .anonymous
            .post(s.url("/api/v1/session"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "signing in as {user}");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let body: serde_json::Value = r.json().await.unwrap();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { cookie, csrf: body["csrf_token"].as_str().unwrap().to_string(), http, base: s.base.clone() }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a form (the CSRF token added unless `csrf` is false); returns status, Location and body.
    async fn post(&self, path: &str, fields: &[(&str, &str)], csrf: bool) -> (u16, Option<String>, String) {
        let mut f: Vec<(&str, &str)> = fields.to_vec();
        if csrf {
            f.push(("csrf", &self.csrf));
        }
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&f)
            .send()
            .await
            .unwrap();
        let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        (r.status().as_u16(), loc, r.text().await.unwrap())
    }

    /// Uploads a file through the imports page's multipart form.
    async fn upload(&self, name: &str, content: &str) -> (u16, Option<String>, String) {
        let boundary = "itemize-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\n\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n",
            self.csrf
        );
        let r = self
            .http
            .post(format!("{}/imports", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        (r.status().as_u16(), loc, r.text().await.unwrap())
    }
}

impl Browser {
    /// Posts a multipart form: text parts (the CSRF token added) and at most one file (name, content).
    async fn multipart(
        &self,
        path: &str,
        parts: &[(&str, &str)],
        file: Option<(&str, &str)>,
    ) -> (u16, String) {
        let boundary = "itemize-test-boundary";
        let mut body = String::new();
        for (k, v) in parts.iter().chain([("csrf", self.csrf.as_str())].iter()) {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        if let Some((name, content)) = file {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: text/csv\r\n\r\n{content}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// The value of the hidden input `name` in rendered HTML.
fn hidden<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    &rest[..rest.find('"').unwrap()]
}

/// The text of the element with `id` (its first text run), from rendered HTML.
fn by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap();
    rest[open..open + close].trim()
}

// The page's disposal form asks for what a disposal needs (the sanitization attestation of a device that stores
// data, the proceeds of a sale), and a refusal names every problem beside its field.
both!(the_disposal_form_disposes_of_a_laptop_with_its_attestation, |t| {
    let (_, cc, loc, _) = seed_small(&t).await;
    let a = t
        .app
        .create_asset(
            &sys(),
            json!({"tag": "LT-9", "name": "Old laptop", "class": "laptop", "cost_centre_id": cc,
            "location_id": loc, "currency": "USD", "purchase_cost": "900.00", "purchase_date": "2022-01-10"}),
        )
        .await
        .unwrap();
    t.app.transition_asset(&sys(), a.id, None, json!({"to": "retired", "reason": "old"})).await.unwrap();
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let path = format!("/assets/{}/transition", a.id);
    let sale = [
        ("to", "disposed"),
        ("reason", "sold"),
        ("disposal_method", "resell"),
        ("disposal_date", "2026-11-20"),
    ];
    // Without a reference or the attestation: both named, beside their fields and in the summary.
    let (status, _, html) = b.post(&path, &sale, true).await;
    assert_eq!(status, 422, "{html}");
    let summary = by_id(&html, "form-error");
    assert!(summary.contains("disposal.reference: is required"), "{summary}");
    assert!(summary.contains("disposal.sanitization: a laptop stores data"), "{summary}");
    assert!(html.contains("<span class=\"field-error\" role=\"alert\">a laptop stores data"), "{html}");
    assert!(html.contains("value=\"2026-11-20\""), "what was typed is kept");
    assert_eq!(t.app.get_asset(&sys(), a.id).await.unwrap().state, State::Retired, "nothing changed");
    // With them, and the proceeds of the sale: disposed, the attestation and proceeds on record.
    let mut full = sale.to_vec();
    full.extend([
        ("disposal_reference", "RESALE-7"),
        ("disposal_proceeds", "$150.00"),
        ("disposal_sanitization_method", "NIST 800-88 purge"),
        ("disposal_sanitization_attested_by", "GreenIT Ltd"),
        ("disposal_sanitization_date", "2026-11-18"),
        ("disposal_sanitization_certificate", "CERT-77"),
    ]);
    let (status, _, html) = b.post(&path, &full, true).await;
    assert_eq!(status, 303, "{html}");
    let now = t.app.get_asset(&sys(), a.id).await.unwrap();
    assert_eq!(now.state, State::Disposed);
    let d = now.disposal.unwrap();
    assert_eq!((d.reference.as_str(), d.proceeds.as_deref()), ("RESALE-7", Some("150.00")));
    let san = d.sanitization.unwrap();
    assert_eq!((san.attested_by.as_str(), san.certificate.as_deref()), ("GreenIT Ltd", Some("CERT-77")));
    // Its books are closed: the figures it was written off with are not edited; its notes still are.
    let e = t.app.update_asset(&sys(), a.id, None, json!({"purchase_cost": "99999.00"})).await.unwrap_err();
    assert!(format!("{e:?}").contains("purchase_cost") && format!("{e:?}").contains("is closed"), "{e:?}");
    t.app.update_asset(&sys(), a.id, None, json!({"notes": "sold to a colleague"})).await.unwrap();
    // A disposed-of asset is neither checked out nor in: its page offers neither.
    let (_, html) = b.get(&format!("/assets/{}", a.id)).await;
    assert!(!html.contains(">Check out</button>") && !html.contains(">Check in</button>"), "{html}");
    // The API refuses a disposal field it does not know instead of dropping it.
    let b2 = t
        .app
        .create_asset(
            &sys(),
            json!({"tag": "LT-10", "name": "Another", "class": "peripheral", "cost_centre_id": cc}),
        )
        .await
        .unwrap();
    t.app.transition_asset(&sys(), b2.id, None, json!({"to": "retired", "reason": "old"})).await.unwrap();
    let e = t
        .app
        .transition_asset(
            &sys(),
            b2.id,
            None,
            json!({"to": "disposed", "disposal": {"method": "recycle",
            "date": "2026-11-20", "reference": "R-1", "certificate": "C-1"}}),
        )
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("certificate"), "{e:?}");
    assert_eq!(t.app.get_asset(&sys(), b2.id).await.unwrap().state, State::Retired);
});

// The register takes a new asset from its page: references typed as people know them (a cost centre's code, an
// employee id), every problem beside its field with what was typed kept, nothing saved on a refusal; only a role
// that may change assets is offered the form.
both!(a_new_asset_is_registered_through_its_page, |t| {
    let (_, cc, loc, person) = seed_small(&t).await;
    let lenovo = t
        .app
        .create::<itemize_core::refdata::Vendor>(
            &sys(),
            json!({"name": "Lenovo", "aliases": ["Lenovo Group Ltd"]}),
        )
        .await
        .unwrap()
        .id
        .get();
    t.user("viewer-2", "viewer", vec![]).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (_, list) = b.get("/assets").await;
    assert!(list.contains("id=\"new-asset\"") && list.contains("id=\"import-assets\""), "{list}");
    let (status, html) = b.get("/assets/new").await;
    assert_eq!(status, 200);
    assert!(html.contains("<select id=\"f-class\" name=\"class\">"), "{html}");
    assert!(html.contains("<option value=\"in-stock\" selected>"), "a new asset starts in stock unless told");

    let typed = [
        ("tag", "LT-50"),
        ("name", "New laptop"),
        ("class", "laptop"),
        ("state", "in-use"),
        ("cost_centre_id", "CC-9"),
        ("assignee_person_id", "E404"),
        ("purchase_cost", "1299.00"),
        ("currency", "EUR"),
        ("useful_life_months", "three"),
        ("warranty_end", "2026-02-30"),
    ];
    let (status, _, html) = b.post("/assets/new", &typed, true).await;
    assert_eq!(status, 422, "{html}");
    // The register's own checks run too, so a date that is none is named in the same answer as the codes.
    assert!(html.contains("id=\"e-warranty_end\""), "{html}");
    assert_eq!(by_id(&html, "e-cost_centre_id"), "no cost centre has the code `CC-9`");
    assert_eq!(by_id(&html, "e-assignee_person_id"), "no person has the employee id `E404`");
    assert_eq!(by_id(&html, "e-useful_life_months"), "`three` is not a whole number");
    assert!(html.contains("value=\"LT-50\"") && html.contains("value=\"1299.00\""), "what was typed is kept");
    assert!(html.contains("<option value=\"laptop\" selected>"), "the class chosen is kept");
    assert!(html.contains("<option value=\"in-use\" selected>"), "the state chosen is kept");
    assert!(t.app.find_asset(&sys(), "LT-50").await.is_err(), "nothing was saved");

    // In use with nobody and nowhere: the register's own rule, named; nothing saved.
    let mut nowhere = typed.to_vec();
    nowhere.retain(|(k, _)| {
        !matches!(*k, "cost_centre_id" | "assignee_person_id" | "useful_life_months" | "warranty_end")
    });
    let (status, _, html) = b.post("/assets/new", &nowhere, true).await;
    assert_eq!(status, 422, "{html}");
    assert!(by_id(&html, "form-error").contains("Nothing was saved"), "{html}");
    assert!(html.contains("assignee or a location"), "{html}");
    assert!(t.app.find_asset(&sys(), "LT-50").await.is_err());

    let mut good = nowhere.clone();
    good.extend([
        ("cost_centre_id", "cc-2"),
        ("assignee_person_id", "E1"),
        ("location_id", "LON"),
        ("purchase_date", "2026-01-15"),
        ("depreciation_method", "declining-balance"),
        ("useful_life_months", "36"),
        // A vendor typed as its invoices spell it (an alias) is that vendor.
        ("vendor_id", "lenovo group ltd"),
    ]);
    let (status, location, html) = b.post("/assets/new", &good, true).await;
    assert_eq!(status, 303, "{html}");
    let a = t.app.find_asset(&sys(), "LT-50").await.unwrap();
    assert_eq!(location.as_deref(), Some(format!("/assets/{}?done=created", a.id).as_str()));
    assert_eq!(a.state, State::InUse);
    assert_eq!((a.custody.assignee_person_id, a.custody.location_id), (Some(person), Some(loc)));
    assert_eq!((a.fields.cost_centre_id, a.fields.vendor_id), (Some(cc), Some(lenovo)));
    assert_eq!((a.fields.purchase_cost, a.fields.currency.code()), (Some(Decimal::new(129900, 2)), "EUR"));
    assert_eq!(
        (a.fields.useful_life_months, a.fields.depreciation_method.as_str()),
        (Some(36), "declining-balance")
    );
    let (_, html) = b.get(&format!("/assets/{}?done=created", a.id)).await;
    assert!(html.contains("Registered."), "{html}");
    let history = t.app.asset_history(&sys(), a.id).await.unwrap();
    assert_eq!(history.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["created"]);
    // A tag the register holds already is refused, beside the tag.
    let (status, _, html) = b.post("/assets/new", &good, true).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("id=\"form-error\""), "{html}");

    // Handed out at registration as at a check-out: to someone leaving, only with a due-back date by their last
    // day; never to a leaver, which is said together with the form's other problems.
    t.app
        .update::<itemize_core::refdata::Person>(&sys(), person, None, json!({"leave_date": "2026-12-10"}))
        .await
        .unwrap();
    let leaving = [
        ("tag", "LT-60"),
        ("name", "For Ada"),
        ("class", "laptop"),
        ("state", "in-use"),
        ("assignee_person_id", "E1"),
    ];
    let (status, _, html) = b.post("/assets/new", &leaving, true).await;
    assert_eq!(status, 422, "{html}");
    assert!(by_id(&html, "e-expected_return").contains("Ada Lovelace leaves on 2026-12-10"), "{html}");
    let mut back = leaving.to_vec();
    back.push(("expected_return", "2026-12-09"));
    assert_eq!(b.post("/assets/new", &back, true).await.0, 303);
    assert_eq!(
        t.app
            .find_asset(&sys(), "LT-60")
            .await
            .unwrap()
            .custody
            .expected_return
            .map(|d| d.to_string())
            .as_deref(),
        Some("2026-12-09")
    );
    t.app
        .create::<itemize_core::refdata::Person>(
            &sys(),
            json!({"employee_id": "E9", "name": "Gone Person", "email": "gone@corp.example", "status": "leaver", "leave_date": "2026-10-01"}),
        )
        .await
        .unwrap();
    let gone = [
        ("tag", "LT-61"),
        ("name", "x"),
        ("class", "laptop"),
        ("state", "in-use"),
        ("assignee_person_id", "E9"),
        ("warranty_end", "2026-02-30"),
    ];
    let (status, _, html) = b.post("/assets/new", &gone, true).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        by_id(&html, "e-assignee_person_id").contains("is a leaver")
            && html.contains("id=\"e-warranty_end\""),
        "{html}"
    );

    // A viewer is not offered the form, and cannot post it.
    let v = Browser::sign_in(&s, "viewer-2", PASSWORD).await;
    let (_, list) = v.get("/assets").await;
    assert!(!list.contains("id=\"new-asset\"") && !list.contains("id=\"import-assets\""), "{list}");
    assert_eq!(v.get("/assets/new").await.0, 403);
    assert_eq!(v.get("/assets/import").await.0, 403);
    let (status, _, _) =
        v.post("/assets/new", &[("tag", "LT-51"), ("name", "X"), ("class", "laptop")], true).await;
    assert_eq!(status, 403);
    assert!(t.app.find_asset(&sys(), "LT-51").await.is_err());
});

// Assets come in through the import page as through the API: a preview checks every row and writes nothing, then
// imports the very file previewed (kept by the server, not sent again); a strict file with a bad row is refused
// whole, naming row, column, value and why; lenient imports the good rows.
both!(assets_are_imported_through_the_page_after_a_preview, |t| {
    seed_small(&t).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (status, html) = b.get("/assets/import").await;
    assert!(status == 200 && html.contains("enctype=\"multipart/form-data\""), "{html}");

    // A strict file with a bad row: refused whole, the problem named, no import offered, nothing written.
    let bad = "tag,name,class,cost_centre\nIM-1,Laptop one,laptop,CC-2\nIM-2,Toaster,toaster,CC-2\n";
    let (status, html) =
        b.multipart("/assets/import", &[("action", "preview")], Some(("bad.csv", bad))).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("<tr><td>3</td><td>class</td><td>toaster</td>"), "{html}");
    assert!(
        !html.contains("id=\"import-confirm\""),
        "a file that would be refused is not offered for import"
    );
    assert!(t.app.find_asset(&sys(), "IM-1").await.is_err());
    // Imported anyway, strictly: still nothing written.
    let (status, html) = b.multipart("/assets/import", &[("action", "import")], Some(("bad.csv", bad))).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("Not imported: nothing was written"), "{html}");
    assert!(t.app.find_asset(&sys(), "IM-1").await.is_err());

    // A good file: previewed (nothing written), then imported from what the server kept.
    let good = "Asset No,name,class,cost_centre,purchase_cost,currency\nIM-1,Laptop one,laptop,CC-2,1200.50,EUR\n\
                IM-2,Laptop two,laptop,CC-2,980.00,EUR\n";
    let parts = [("action", "preview"), ("map", "Asset No=tag")];
    let (status, html) = b.multipart("/assets/import", &parts, Some(("laptops.csv", good))).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!((by_id(&html, "import-rows"), by_id(&html, "import-created")), ("2", "2"));
    assert!(html.contains("<td>IM-2</td><td>Laptop two</td>") && html.contains("1200.50 EUR"), "{html}");
    assert!(t.app.find_asset(&sys(), "IM-1").await.is_err(), "a preview writes nothing");
    let staged = hidden(&html, "staged").to_string();
    assert_eq!(hidden(&html, "map"), "Asset No=tag", "the confirmation keeps the mapping");
    assert_eq!(hidden(&html, "expect"), "2,0");
    // The register changes before the import is confirmed (IM-2 registered meanwhile): the confirmation would
    // not do what the preview said, so it does nothing and says so.
    t.app
        .create_asset(&sys(), json!({"tag": "IM-2", "name": "Registered meanwhile", "class": "desktop"}))
        .await
        .unwrap();
    let confirm =
        [("action", "import"), ("staged", staged.as_str()), ("map", "Asset No=tag"), ("expect", "2,0")];
    let (status, html) = b.multipart("/assets/import", &confirm, None).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("The register changed since the preview"), "{html}");
    assert!(t.app.find_asset(&sys(), "IM-1").await.is_err());
    assert_eq!(t.app.find_asset(&sys(), "IM-2").await.unwrap().fields.name, "Registered meanwhile");
    // Previewed again, it says what it will do now, and does it.
    let (_, html) = b.multipart("/assets/import", &parts, Some(("laptops.csv", good))).await;
    assert_eq!(hidden(&html, "expect"), "1,1");
    let confirm =
        [("action", "import"), ("staged", staged.as_str()), ("map", "Asset No=tag"), ("expect", "1,1")];
    let (status, html) = b.multipart("/assets/import", &confirm, None).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<h2>Imported"), "{html}");
    let one = t.app.find_asset(&sys(), "IM-1").await.unwrap();
    assert_eq!(one.fields.purchase_cost, Some(Decimal::new(120050, 2)));
    assert!(t.app.find_asset(&sys(), "IM-2").await.is_ok());
    // The kept file is gone once imported; a made-up one is no file at all.
    for name in [staged.as_str(), "../../etc/passwd"] {
        let (status, html) =
            b.multipart("/assets/import", &[("action", "import"), ("staged", name)], None).await;
        assert_eq!(status, 422, "{html}");
        assert!(html.contains("no longer kept"), "{html}");
    }

    // Lenient: the good rows go in, the bad one is listed.
    let mixed = "tag,name,class\nIM-3,Phone,mobile\nIM-4,Toaster,toaster\n";
    let (status, html) = b
        .multipart("/assets/import", &[("action", "import"), ("lenient", "on")], Some(("mixed.csv", mixed)))
        .await;
    assert_eq!(status, 200, "{html}");
    assert_eq!((by_id(&html, "import-created"), by_id(&html, "import-rejected")), ("1", "1"));
    assert!(
        t.app.find_asset(&sys(), "IM-3").await.is_ok() && t.app.find_asset(&sys(), "IM-4").await.is_err()
    );

    // A PDF is said to be one, not read as a table of unknown columns; a header alone has nothing to import.
    let (status, html) =
        b.multipart("/assets/import", &[("action", "preview")], Some(("scan.pdf", "%PDF-1.4\nbinary"))).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("the file is a PDF document, not a CSV or XLSX file of assets"), "{html}");
    let (_, html) = b
        .multipart("/assets/import", &[("action", "preview")], Some(("empty.csv", "tag,name,class\n")))
        .await;
    assert!(html.contains("id=\"import-empty\"") && !html.contains("id=\"import-confirm\""), "{html}");
    // No file, an unknown action, a mapping that is not one: each said, nothing written.
    let (status, html) = b.multipart("/assets/import", &[("action", "preview")], None).await;
    assert!(status == 422 && html.contains("Choose a CSV or XLSX file"), "{html}");
    let (status, html) = b.multipart("/assets/import", &[("action", "delete")], Some(("x.csv", mixed))).await;
    assert!(status == 422 && html.contains("`delete` is not an action"), "{html}");
    let (status, html) =
        b.multipart("/assets/import", &[("action", "import"), ("map", "tag")], Some(("x.csv", mixed))).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("file column=field") && html.contains("Nothing was imported"), "{html}");
    // Without the form's token nothing happens.
    let r = b
        .http
        .post(format!("{}/assets/import", b.base))
        .header("cookie", &b.cookie)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nimport\r\n--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
});

// Contracts are registered, edited, archived and restored from their pages: vendor, owner and cost centre typed as
// people know them, the covered assets by tag; each problem beside its field, nothing saved on a refusal, a form
// read before someone else's change refused; a viewer is offered none of it.
both!(contracts_are_kept_through_their_pages, |t| {
    let (_, cc, _, person) = seed_small(&t).await;
    let vendor =
        t.app.create::<itemize_core::refdata::Vendor>(&sys(), json!({"name": "Dell"})).await.unwrap();
    for tag in ["CT-1", "CT-2"] {
        t.app.create_asset(&sys(), json!({"tag": tag, "name": "Laptop", "class": "laptop"})).await.unwrap();
    }
    t.user("viewer-3", "viewer", vec![]).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (_, list) = b.get("/contracts").await;
    assert!(list.contains("id=\"new-contract\""), "{list}");
    let (status, html) = b.get("/contracts/new").await;
    assert!(status == 200 && html.contains("<option value=\"annual\" selected>"), "{html}");

    let typed = [
        ("number", "CARE-7"),
        ("name", "Laptop care"),
        ("kind", "maintenance"),
        ("vendor_id", "Del"),
        ("value", "1200.00"),
        ("currency", "EUR"),
        ("billing_frequency", "annual"),
        ("start_date", "2026-01-01"),
        ("end_date", "2026-12-31"),
        ("renewal", "auto"),
        ("notice_days", "60"),
        ("owner_person_id", "E1"),
        ("cost_centre_id", "CC-2"),
        ("assets", "CT-1; CT-9"),
    ];
    let (status, _, html) = b.post("/contracts/new", &typed, true).await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(by_id(&html, "e-vendor_id"), "no vendor is named `Del`");
    assert_eq!(by_id(&html, "e-assets"), "no asset has the tag or serial `CT-9`");
    assert!(
        html.contains("value=\"CT-1; CT-9\"") && html.contains("<option value=\"auto\" selected>"),
        "{html}"
    );
    assert!(t.app.contracts(&sys()).await.unwrap().is_empty(), "nothing was saved");
    // The register's own rules, beside their fields.
    let mut backwards = typed.to_vec();
    backwards.retain(|(k, _)| !matches!(*k, "vendor_id" | "assets" | "end_date"));
    backwards.push(("end_date", "2025-12-31"));
    let (status, _, html) = b.post("/contracts/new", &backwards, true).await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(by_id(&html, "e-end_date"), "must not be before the start date");
    assert!(t.app.contracts(&sys()).await.unwrap().is_empty());

    let mut good = typed.to_vec();
    good.retain(|(k, _)| !matches!(*k, "vendor_id" | "assets"));
    good.extend([("vendor_id", "dell"), ("assets", "CT-1;CT-2")]);
    let (status, location, html) = b.post("/contracts/new", &good, true).await;
    assert_eq!(status, 303, "{html}");
    let c = t.app.contracts(&sys()).await.unwrap().remove(0);
    assert_eq!(location.as_deref(), Some(format!("/contracts/{}?done=created", c.id).as_str()));
    assert_eq!(
        (c.vendor_id, c.owner_person_id, c.cost_centre_id),
        (Some(vendor.id.get()), Some(person), Some(cc))
    );
    assert_eq!(
        (c.value.as_str(), c.currency.as_str(), c.notice_days, c.asset_ids.len()),
        ("1200.00", "EUR", 60, 2)
    );
    let (_, html) = b.get(&format!("/contracts/{}?done=created", c.id)).await;
    assert!(
        html.contains("Registered.") && html.contains("<dt>Owner</dt><dd>Ada Lovelace (E1)</dd>"),
        "the owner is shown: {html}"
    );
    assert!(
        html.contains("60 days: the notice deadline, 2026-11-01, has passed; the term ends 2026-12-31"),
        "the notice deadline is shown, and that it has passed: {html}"
    );

    // The edit form shows it as typed; a change lands, and a form read before it is then stale.
    let edit = format!("/contracts/{}/edit", c.id);
    let (_, html) = b.get(&edit).await;
    assert!(html.contains("value=\"CT-1; CT-2\"") && html.contains("value=\"CC-2\""), "{html}");
    let etag = hidden(&html, "etag").to_string();
    let (status, _, html) =
        b.post(&edit, &[("etag", &etag), ("notice_days", "90"), ("assets", "CT-2")], true).await;
    assert_eq!(status, 303, "{html}");
    let now = t.app.contract(&sys(), c.id).await.unwrap();
    assert_eq!((now.notice_days, now.asset_ids.clone()), (90, vec![c.asset_ids[1]]));
    let (status, _, html) = b.post(&edit, &[("etag", &etag), ("name", "Overwrite")], true).await;
    assert_eq!(status, 412, "{html}");
    assert_eq!(t.app.contract(&sys(), c.id).await.unwrap().name, "Laptop care");

    // Archived and restored from its page.
    let archive = format!("/contracts/{}/archive", c.id);
    let (status, _, _) = b.post(&archive, &[("archived", "true")], true).await;
    assert_eq!(status, 303);
    assert!(t.app.contract(&sys(), c.id).await.unwrap().archived_at.is_some());
    let (_, html) = b.get(&format!("/contracts/{}?done=archived", c.id)).await;
    assert!(html.contains(">Restore</button>"), "{html}");
    let title = &html[html.find("<title>").unwrap() + 7..html.find("</title>").unwrap()];
    assert!(!title.contains('<') && !title.contains("csrf"), "the title is text alone: {title}");
    let (status, _, _) = b.post(&archive, &[("archived", "false")], true).await;
    assert_eq!(status, 303);
    assert!(t.app.contract(&sys(), c.id).await.unwrap().archived_at.is_none());
    assert_eq!(b.post(&archive, &[("archived", "maybe")], true).await.0, 400);

    // The list comes up by the end of each contract's current term: one that renewed itself past the end it was
    // entered with comes after one ending sooner; a kind the list does not know is refused.
    for (number, start, end, renewal) in
        [("AUTO-1", "2025-01-01", "2025-12-31", "auto"), ("SOON-1", "2026-01-01", "2026-12-15", "manual")]
    {
        t.app
            .create_contract(
                &sys(),
                json!({"number": number, "name": number, "kind": "subscription", "value": "10.00",
                "start_date": start, "end_date": end, "renewal": renewal}),
            )
            .await
            .unwrap();
    }
    let (_, html) = b.get("/contracts").await;
    let at = |n: &str| html.find(&format!(">{n}</a>")).unwrap_or_else(|| panic!("{n} in {html}"));
    assert!(at("SOON-1") < at("AUTO-1"), "{html}");
    assert!(html.contains("2026-12-31 (renewed 1×)"), "{html}");
    assert_eq!(b.get("/contracts?kind=bogus").await.0, 400);
    let auto = t.app.contracts(&sys()).await.unwrap().into_iter().find(|c| c.number == "AUTO-1").unwrap();
    let (_, html) = b.get(&format!("/contracts/{}", auto.id)).await;
    assert!(
        html.contains("0 days: give notice by 2026-12-31, or the term ending 2026-12-31 renews itself"),
        "{html}"
    );
    // A notice longer than the whole term is a typing mistake, named beside its field.
    let version = t.app.contract(&sys(), c.id).await.unwrap().version.to_string();
    let (status, _, html) = b.post(&edit, &[("etag", &version), ("notice_days", "900")], true).await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(by_id(&html, "e-notice_days"), "is 900 days, longer than the term (365 days)");

    // A viewer sees the contract but is offered no form, and cannot post one.
    let v = Browser::sign_in(&s, "viewer-3", PASSWORD).await;
    let (_, html) = v.get(&format!("/contracts/{}", c.id)).await;
    assert!(!html.contains("id=\"edit-contract\"") && !html.contains(">Archive</button>"), "{html}");
    assert_eq!(v.get("/contracts/new").await.0, 403);
    assert_eq!(v.get(&edit).await.0, 403);
    assert_eq!(v.post(&archive, &[("archived", "true")], true).await.0, 403);
    assert!(t.app.contract(&sys(), c.id).await.unwrap().archived_at.is_none());
});

both!(asset_forms_keep_what_was_typed_and_refuse_stale_versions, |t| {
    let (top, cc, loc, person) = seed_small(&t).await;
    let a = t
        .app
        .create_asset(&sys(), json!({"tag": "LT-1", "name": "Laptop one", "class": "laptop", "cost_centre_id": cc, "location_id": loc}))
        .await
        .unwrap();
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    // A parameter given twice is refused as a page, in the frame of whoever asked; the API still answers JSON.
    let r = b
        .http
        .get(format!("{}/assets?state=in-use&state=lost", b.base))
        .header("cookie", &b.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains("query parameter `state` is given twice") && html.contains("Sign out"), "{html}");
    let r = s.client.get(s.url("/api/v1/assets?state=in-use&state=lost")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    // Pages read their parameters as the API does: no renewals over 0 days, one leaver's checklist by id.
    assert_eq!(b.get("/contracts/renewals?days=0").await.0, 400);
    assert_eq!(b.get("/assets/offboarding?person_id=abc").await.0, 400);
    let (status, html) = b.get("/assets/offboarding?person_id=999999").await;
    assert!(status == 200 && html.contains("Leavers (0)"), "{html}");
    // A location's list (a link from the location's page) names its filter and keeps it when the form is applied.
    let (_, html) = b.get(&format!("/assets?location_id={loc}&sort=-purchase_date")).await;
    assert!(html.contains("<span class=\"chip\">Location: London"), "{html}");
    assert!(
        html.contains(&format!("<input type=\"hidden\" name=\"location_id\" value=\"{loc}\">")),
        "{html}"
    );
    assert!(html.contains("<input type=\"hidden\" name=\"sort\" value=\"-purchase_date\">"), "{html}");
    // In stock: it may be checked out, and there is nothing to check in.
    let (_, html) = b.get(&format!("/assets/{}", a.id)).await;
    assert!(html.contains(">Check out</button>") && !html.contains(">Check in</button>"), "{html}");
    let (status, html) = b.get(&format!("/assets/{}/edit", a.id)).await;
    assert_eq!(status, 200);
    let etag = a.etag();
    assert!(html.contains("name=\"etag\""), "the form carries the version it was read at");

    // The cost centre shows as it is typed (its code), not as a database id.
    assert!(
        html.contains("id=\"f-cost_centre_id\" name=\"cost_centre_id\" type=\"text\" value=\"CC-2\""),
        "{html}"
    );
    // A value that is not a number, a code no cost centre has: each named beside its field, what was typed kept,
    // nothing saved.
    let path = format!("/assets/{}/edit", a.id);
    let (status, _, html) = b
        .post(
            &path,
            &[("etag", &etag), ("name", "Renamed"), ("cost_centre_id", "abc"), ("useful_life_months", "3y")],
            true,
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(by_id(&html, "e-cost_centre_id"), "no cost centre has the code `abc`");
    assert_eq!(by_id(&html, "e-useful_life_months"), "`3y` is not a whole number");
    assert!(html.contains(
        "id=\"f-useful_life_months\" name=\"useful_life_months\" type=\"text\" inputmode=\"numeric\" value=\"3y\""
    ));
    assert!(html.contains("value=\"Renamed\"") && html.contains("value=\"abc\""), "what was typed is kept");
    assert_eq!(t.app.get_asset(&sys(), a.id).await.unwrap().fields.name, "Laptop one");
    // A cost centre typed by its code moves the asset there.
    let (status, _, html) = b.post(&path, &[("etag", &etag), ("cost_centre_id", "cc-1")], true).await;
    assert_eq!(status, 303, "{html}");
    let moved = t.app.get_asset(&sys(), a.id).await.unwrap();
    assert_eq!(moved.fields.cost_centre_id, Some(top));
    let etag = moved.etag();

    // A value the register refuses: the use case's problem beside the field.
    let (status, _, html) = b.post(&path, &[("etag", &etag), ("purchase_cost", "-5")], true).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        by_id(&html, "e-purchase_cost").contains("negative") || by_id(&html, "e-purchase_cost").len() > 5,
        "{html}"
    );
    assert!(html.contains("value=\"-5\""));

    // Without the form's CSRF token, nothing happens.
    let (status, _, _) = b.post(&path, &[("etag", &etag), ("name", "Sneaky")], false).await;
    assert_eq!(status, 403);
    // An API token cannot use page forms at all.
    let r =
        s.client.post(s.url(&path)).form(&[("etag", etag.as_str()), ("name", "Token")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(t.app.get_asset(&sys(), a.id).await.unwrap().fields.name, "Laptop one");

    // A good edit lands, with its history; the old version is then stale.
    let (status, loc, _) =
        b.post(&path, &[("etag", &etag), ("name", "Laptop 1"), ("serial", "SN-9")], true).await;
    assert_eq!((status, loc.as_deref()), (303, Some(format!("/assets/{}?done=edit", a.id).as_str())));
    let now = t.app.get_asset(&sys(), a.id).await.unwrap();
    assert_eq!((now.fields.name.as_str(), now.fields.serial.as_deref()), ("Laptop 1", Some("SN-9")));
    let (_, html) = b.get(&format!("/assets/{}?done=edit", a.id)).await;
    assert!(html.contains("name: Laptop one → Laptop 1"), "the history shows before and after");
    let (status, _, html) = b.post(&path, &[("etag", &etag), ("name", "Overwrite")], true).await;
    assert_eq!(status, 412, "a change made meanwhile is not overwritten");
    assert!(html.contains("id=\"form-error\""));
    assert_eq!(t.app.get_asset(&sys(), a.id).await.unwrap().fields.name, "Laptop 1");

    // A transition the lifecycle refuses names the allowed ones; a good one moves the asset.
    let (status, _, html) = b
        .post(&format!("/assets/{}/transition", a.id), &[("to", "disposed"), ("reason", "gone")], true)
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("allowed:"), "{html}");
    assert!(html.contains("value=\"gone\""), "the reason typed is kept");
    let (status, _, html) =
        b.post(&format!("/assets/{}/check-out", a.id), &[("assignee_person_id", "not-a-number")], true).await;
    assert_eq!(status, 422);
    assert!(html.contains("no person has the employee id or e-mail `not-a-number`"), "{html}");
    // A refused check-out keeps the person as typed (an employee id, not the database id it resolved to) and
    // marks the return date it needs beside its field.
    t.app
        .update::<itemize_core::refdata::Person>(&sys(), person, None, json!({"leave_date": "2026-12-10"}))
        .await
        .unwrap();
    let (status, _, html) = b
        .post(
            &format!("/assets/{}/check-out", a.id),
            &[("assignee_person_id", "E1"), ("expected_return", "2027-01-31")],
            true,
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"c-person\" name=\"assignee_person_id\" value=\"E1\""), "{html}");
    assert!(by_id(&html, "e-check-out-expected_return").contains("after Ada Lovelace leaves"), "{html}");
    let (status, _, _) = b
        .post(&format!("/assets/{}/transition", a.id), &[("to", "in-repair"), ("reason", "hinge")], true)
        .await;
    assert_eq!(status, 303);
    assert_eq!(t.app.get_asset(&sys(), a.id).await.unwrap().state.to_string(), "in-repair");
    let dock = t
        .app
        .create_asset(
            &sys(),
            json!({"tag": "DOCK-1", "name": "Dock", "class": "peripheral", "cost_centre_id": cc}),
        )
        .await
        .unwrap();
    t.app.add_relation(&sys(), dock.id, json!({"kind": "depends-on", "to_asset_id": a.id})).await.unwrap();
    let (_, html) = b.get(&format!("/assets/{}", a.id)).await;
    let relations = &html[html.find("id=\"relations\"").expect("relationships are shown")..];
    assert!(relations.contains(&format!("<a href=\"/assets/{}\">DOCK-1 Dock</a>", dock.id)), "{relations}");
    let history = &html[html.find("id=\"history\"").unwrap()..];
    assert!(
        history.contains("in-stock (tagged) → in-repair: hinge</td>"),
        "the history reads as a sentence: {history}"
    );

    // People are named as people know them: an employee id or an e-mail, not a database id.
    let out = format!("/assets/{}/check-out", a.id);
    let (status, _, html) = b.post(&out, &[("assignee_person_id", "nobody@corp.example")], true).await;
    assert_eq!(status, 422);
    assert!(html.contains("no person has the employee id or e-mail `nobody@corp.example`"), "{html}");
    assert!(html.contains("value=\"nobody@corp.example\""), "what was typed is kept");
    let (status, _, html) =
        b.post(&out, &[("assignee_person_id", "e1"), ("expected_return", "2026-12-09")], true).await;
    assert_eq!(status, 303, "{html}");
    let now = t.app.get_asset(&sys(), a.id).await.unwrap();
    assert_eq!((now.state.to_string().as_str(), now.custody.assignee_person_id), ("in-use", Some(person)));
});

both!(an_audit_is_scanned_from_its_page, |t| {
    let (_, cc, loc, _) = seed_small(&t).await;
    for tag in ["SCAN-1", "SCAN-2"] {
        let a =
            json!({"tag": tag, "name": tag, "class": "desktop", "cost_centre_id": cc, "location_id": loc});
        assert_eq!(t.app.create_asset(&sys(), a).await.unwrap().state.to_string(), "in-stock");
    }
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (status, loc_header, _) = b.post("/audits", &[("location_id", &loc.to_string())], true).await;
    assert_eq!(status, 303);
    let audit = loc_header.unwrap();
    let (status, next, _) = b.post(&format!("{audit}/scans"), &[("input", "scan-1")], true).await;
    assert_eq!(status, 303);
    let (_, html) = b.get(&next.unwrap()).await;
    assert!(by_id(&html, "scan-result").starts_with("scan-1: found"), "{}", by_id(&html, "scan-result"));
    assert!(html.contains("autofocus"), "the scan input is ready for the next scan");
    let found = &html[html.find("id=\"found\"").unwrap()..];
    assert!(found[..found.find("</ul>").unwrap()].contains("SCAN-1"));
    let (status, _, html) = b.post(&format!("{audit}/scans"), &[("input", "  ")], true).await;
    assert_eq!(status, 422);
    assert!(by_id(&html, "scan-error").contains("scan a tag"));
    let (status, _, _) = b.post(&format!("{audit}/close"), &[("mark_missing", "on")], true).await;
    assert_eq!(status, 303);
    let id: i64 = audit.rsplit('/').next().unwrap().parse().unwrap();
    let view = t.app.audit_view(&sys(), id).await.unwrap();
    assert_eq!((view.status.as_str(), view.found.len(), view.missing.len()), ("closed", 1, 1));
    let missing = t.app.get_asset(&sys(), view.missing[0]).await.unwrap();
    assert_eq!((missing.fields.tag.as_str(), missing.state.to_string().as_str()), ("SCAN-2", "missing"));
});

const RULES: &str = r#"name = "page rules"
effective_from = "2000-01"
[[tag]]
name = "cost centre"
when = { "tag:cost_centre" = { present = true } }
cost_centre_from = "tag:cost_centre"
"#;

/// Imports `text` as a cost file and allocates it with `rules`.
async fn import_and_allocate(t: &crate::harness::TestApp, text: &str, rules: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bill = dir.path().join("bill.csv");
    std::fs::write(&bill, text).unwrap();
    let s =
        t.app.import_cost_file(&sys(), &bill, ImportOptions::default(), Arc::new(Progress::default())).await;
    assert_eq!(s.unwrap().status, "active");
    t.app.apply_rule_set(&sys(), rules).await.unwrap();
}

fn focus(lines: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BilledCost,\
         EffectiveCost,ListCost,ContractedCost,BillingCurrency,ChargeCategory,ProviderName,ServiceName,InvoiceId,Tags\n",
    );
    for (i, (cost, cc)) in lines.iter().enumerate() {
        let tags = if cc.is_empty() { String::new() } else { format!(r#""{{""cost_centre"": ""{cc}""}}""#) };
        s.push_str(&format!(
            "A-{i},2026-05-01T00:00:00Z,2026-06-01T00:00:00Z,2026-05-0{d}T00:00:00Z,2026-05-0{d}T01:00:00Z,\
             {cost},{cost},{cost},{cost},USD,Usage,Acme Cloud,Compute,INV-1,{tags}\n",
            d = i % 9 + 1
        ));
    }
    s
}

both!(the_cost_pages_drill_down_download_and_preview, |t| {
    seed_small(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let bill = dir.path().join("may.csv");
    std::fs::write(&bill, focus(&[("10.00", "CC-2"), ("5.50", "CC-2"), ("1.25", "")])).unwrap();
    let opts = ImportOptions::default();
    let first = t.app.import_cost_file(&sys(), &bill, opts, Arc::new(Progress::default())).await.unwrap();
    assert_eq!(first.status, "active");
    t.app.apply_rule_set(&sys(), RULES).await.unwrap();
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;

    // The explorer by cost centre: each group links to its lines, and the lines add up to it.
    let (status, html) = b.get("/costs?from=2026-05&to=2026-05&group_by=cost_centre&granularity=none").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(by_id(&html, "total"), "16.75");
    assert!(html.contains("<svg"), "a chart");
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&cost_centre=CC-2").await;
    assert_eq!((by_id(&lines, "line-count"), by_id(&lines, "lines-effective")), ("2", "15.50"));
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&cost_centre=(none)").await;
    assert_eq!(
        (by_id(&lines, "line-count"), by_id(&lines, "lines-effective")),
        ("1", "1.25"),
        "untagged spend stays visible"
    );
    // Adding a filter through the form becomes a URL of its own, which captures the view.
    let (status, loc, _) = b.post("/costs", &[], false).await;
    assert_eq!(status, 405, "the explorer is read with GET only");
    let r = b
        .http
        .get(format!(
            "{}/costs?from=2026-05&to=2026-05&group_by=provider&add_filter=cost_centre&value=CC-2",
            b.base
        ))
        .header("cookie", &b.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let shared = r.headers()["location"].to_str().unwrap().to_string();
    assert!(shared.contains("cost_centre=CC-2") && !shared.contains("add_filter"), "{shared}");
    let _ = loc;
    let (_, html) = b.get(&shared).await;
    assert_eq!(by_id(&html, "total"), "15.50");
    // A second value of the same dimension is added to the filter, not put in its place.
    let r = b
        .http
        .get(format!("{}{shared}&add_filter=cost_centre&value=CC-1", b.base))
        .header("cookie", &b.cookie)
        .send()
        .await
        .unwrap();
    let both = r.headers()["location"].to_str().unwrap().to_string();
    assert!(both.contains("cost_centre=CC-2%2CCC-1"), "{both}");
    // A filter given under the cube's other spelling of its dimension is merged too, not ANDed as a second one.
    let r = b
        .http
        .get(format!(
            "{}/costs?from=2026-05&to=2026-05&account=A-0&add_filter=billing_account_id&value=A-1",
            b.base
        ))
        .header("cookie", &b.cookie)
        .send()
        .await
        .unwrap();
    let merged = r.headers()["location"].to_str().unwrap().to_string();
    assert!(merged.contains("billing_account_id=A-0%2CA-1") && !merged.contains("account=A-0&"), "{merged}");
    assert_eq!(b.get("/costs?from=2026-05&to=2026-05&account=A-0&billing_account_id=A-1").await.0, 400);
    // A month given two ways is refused on the pages as on the API.
    for page in ["/costs", "/costs/lines"] {
        let (status, html) = b.get(&format!("{page}?period=2026-05&from=2026-01&to=2026-03")).await;
        assert!(status == 400 && html.contains("not both"), "{page}: {html}");
    }
    // The cube's own spelling of a dimension groups the explorer too; an unknown one lists those there are.
    let (status, html) = b.get("/costs?from=2026-05&to=2026-05&group_by=account").await;
    assert_eq!(status, 200, "{html}");
    let (status, html) = b.get("/costs?from=2026-05&to=2026-05&group_by=colour").await;
    assert!(status == 400 && html.contains("provider, billing_account_id"), "{html}");
    // The CSV is the table, exactly.
    let r = b
        .http
        .get(format!(
            "{}/costs?from=2026-05&to=2026-05&group_by=cost_centre&granularity=none&format=csv",
            b.base
        ))
        .header("cookie", &b.cookie)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let csv = r.text().await.unwrap();
    assert_eq!(
        csv,
        "Cost centre,Name,Billed,Effective,Lines\nCC-2,Platform (CC-2),15.50,15.50,2\n(none),,1.25,1.25,1\n\
         Total,,16.75,16.75,3\n",
        "{csv}"
    );
    let r = b
        .http
        .get(format!("{}/costs?from=2026-05&to=2026-05&group_by=provider&format=xlsx", b.base))
        .header("cookie", &b.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(&r.bytes().await.unwrap()[..2], b"PK", "an XLSX workbook");

    // The statement: each cost centre's line leads to its own breakdown and to its line items.
    let (status, html) = b.get("/showback?period=2026-05").await;
    assert_eq!(status, 200);
    // The first month has no previous one to compare with: "—", not 0.00 and the whole amount as its change.
    let foot = &html[html.find("<tfoot>").unwrap()..];
    assert!(foot.contains("<th class=\"num\">—</th>"), "{foot}");
    assert!(!html.contains("id=\"no-cost\""), "May has cost");
    // A month nothing was imported for says so, rather than that it is not allocated yet.
    let (_, empty) = b.get("/showback?period=2020-01").await;
    assert!(
        empty.contains("No cost was imported for 2020-01") && !empty.contains("not allocated yet"),
        "{empty}"
    );
    let breakdown = "/costs?from=2026-05&#38;to=2026-05&#38;cost_centre=CC-2&#38;group_by=service_name&#38;granularity=none";
    assert!(html.contains(breakdown), "{html}");
    let (_, html) = b.get(&breakdown.replace("&#38;", "&")).await;
    assert_eq!(by_id(&html, "total"), "15.50", "the breakdown adds up to the statement's line");

    // A preview shows what would change and saves nothing; apply saves a version and re-allocates.
    let before = t.app.rule_sets(&sys()).await.unwrap().len();
    let changed = format!(
        "{RULES}\n[[default]]\nname = \"rest\"\nwhen = {{ provider = \"Acme Cloud\" }}\ncost_centre = \"CC-1\"\n"
    );
    let (status, _, html) =
        b.post("/allocation/rules/preview", &[("body", &changed), ("period", "2026-05")], true).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Preview of 2026-05"), "{html}");
    assert_eq!(t.app.rule_sets(&sys()).await.unwrap().len(), before, "a preview saves nothing");
    let (status, _, html) =
        b.post("/allocation/rules/preview", &[("body", "name = "), ("period", "2026-05")], true).await;
    assert!(status == 400 || status == 422, "{status}");
    assert!(html.contains("id=\"rules-error\"") && html.contains("name = "), "the error, and the text kept");
    let (status, _, html) = b.post("/allocation/rules/apply", &[("body", &changed)], true).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("applied: 1 month(s) allocated again"), "{html}");
    assert_eq!(t.app.rule_sets(&sys()).await.unwrap().len(), before + 1);
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&cost_centre=CC-1").await;
    assert_eq!(by_id(&lines, "lines-effective"), "1.25", "the default rule now takes the untagged line");

    // A broken bill uploaded through the page: the import says which row, column and value, and why.
    let bad = focus(&[("1.00", ""), ("two", ""), ("3.00", "")]);
    let (status, loc, _) = b.upload("broken.csv", &bad).await;
    assert_eq!(status, 303);
    let page = loc.unwrap();
    let mut html = String::new();
    for _ in 0..200 {
        html = b.get(&page).await.1;
        if !html.contains("status-queued") && !html.contains("status-running") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(by_id(&html, "import-status"), "rejected", "{html}");
    let id: i64 = page.rsplit('/').next().unwrap().parse().unwrap();
    assert!(t.app.import_progress(id).is_none(), "a finished import is no longer tracked as running");
    assert!(!html.contains("id=\"import-progress\""));
    let errors = &html[html.find("id=\"import-errors\"").unwrap()..];
    assert!(errors.contains("<td>3</td><td>BilledCost</td><td>two</td>"), "{errors}");
    let total = t.app.ledger_totals(&sys(), &Default::default()).await.unwrap().total.effective_cost;
    assert_eq!(total, "16.75".parse::<Decimal>().unwrap(), "a rejected file changes nothing");
    let (status, _, html) = b.upload("", "").await;
    assert!(status == 422 || status == 303, "{status} {html}");

    // A SaaS invoice uploaded from the page is read through the mapping installed for it (as the inbox does);
    // without one it is refused as a file no reader recognises.
    let invoice = "Invoice Date,Invoice No,Supplier,Amount\n2026-05-10,INV-9,Slack,120.00\n";
    let finished = |page: String| {
        let b = &b;
        async move {
            for _ in 0..200 {
                let html = b.get(&page).await.1;
                if !html.contains("status-queued") && !html.contains("status-running") {
                    return html;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            panic!("{page} did not finish")
        }
    };
    // "Lenient" ticked below the file (as the page lays the form out) is the mode the import runs and records.
    let body = format!(
        "--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
         --x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"late.csv\"\r\n\r\n{bad}\r\n\
         --x\r\nContent-Disposition: form-data; name=\"lenient\"\r\n\r\non\r\n--x--\r\n",
        b.csrf
    );
    let r = b
        .http
        .post(format!("{}/imports", b.base))
        .header("cookie", &b.cookie)
        .header("content-type", "multipart/form-data; boundary=x")
        .body(body)
        .send()
        .await
        .unwrap();
    let page = r.headers()["location"].to_str().unwrap().to_string();
    finished(page.clone()).await;
    let id: i64 = page.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(t.app.cost_import(&sys(), id).await.unwrap().mode, "lenient");
    let (_, loc, _) = b.upload("slack-may.csv", invoice).await;
    assert_eq!(by_id(&finished(loc.unwrap()).await, "import-status"), "rejected");
    std::fs::create_dir_all(t.app.mappings_dir()).unwrap();
    std::fs::write(
        t.app.mappings_dir().join("saas.toml"),
        "name = \"SaaS\"\n[columns]\ndate = \"Invoice Date\"\namount = \"Amount\"\nvendor = \"Supplier\"\n\
         invoice = \"Invoice No\"\n[defaults]\ncurrency = \"USD\"\n",
    )
    .unwrap();
    let (_, loc, _) = b.upload("slack-may-2.csv", &invoice.replace("INV-9", "INV-10")).await;
    let html = finished(loc.unwrap()).await;
    assert_eq!(by_id(&html, "import-status"), "active", "{html}");
    let q = itemize_app::ledger::LedgerQuery { account: Some("SaaS".into()), ..Default::default() };
    assert_eq!(t.app.ledger_totals(&sys(), &q).await.unwrap().total.billed_cost, Decimal::new(12000, 2));
});

both!(reference_data_is_created_and_edited_from_forms, |t| {
    let (top, _, _, person) = seed_small(&t).await;
    t.user("viewer-1", "viewer", vec![]).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (status, html) = b.get("/cost-centres").await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/cost-centres/new\""), "a way to add one");
    assert!(html.contains(&format!("href=\"/cost-centres/{top}\"")), "each row opens its record");

    // References are typed as codes and employee ids; an unknown one is named beside its field.
    let (status, _, html) = b
        .post("/cost-centres/new", &[("code", "CC-9"), ("name", "Nine"), ("parent_id", "CC-404")], true)
        .await;
    assert_eq!(status, 422);
    assert_eq!(by_id(&html, "e-parent_id"), "no cost centre has the key `CC-404`");
    assert!(html.contains("value=\"CC-404\"") && html.contains("value=\"Nine\""), "what was typed is kept");
    // The register's own rules, beside their fields.
    let (status, _, html) =
        b.post("/cost-centres/new", &[("code", "CC-9"), ("name", "Nine"), ("currency", "XXX")], true).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"e-currency\""), "{html}");
    assert_eq!(
        t.app.list::<CostCentre>(&sys(), &Default::default()).await.unwrap().items.len(),
        2,
        "nothing saved"
    );

    let (status, loc, _) = b
        .post(
            "/cost-centres/new",
            &[
                ("code", "CC-9"),
                ("name", "Nine"),
                ("parent_id", "cc-1"),
                ("owner_id", "E1"),
                ("currency", "EUR"),
            ],
            true,
        )
        .await;
    assert_eq!(status, 303);
    let loc = loc.unwrap();
    assert!(loc.ends_with("?done=created"), "{loc}");
    let id: i64 = loc.trim_start_matches("/cost-centres/").split('?').next().unwrap().parse().unwrap();
    let rec = t.app.get::<CostCentre>(&sys(), id).await.unwrap();
    assert_eq!(rec.fields.parent_id.map(|p| p.get()), Some(top));
    assert_eq!(rec.fields.owner_id.map(|p| p.get()), Some(person));
    let (_, html) = b.get(&loc).await;
    assert!(html.contains("Created."));
    assert!(html.contains("id=\"f-parent_id\" name=\"parent_id\" type=\"text\" value=\"CC-1\""), "{html}");
    assert!(html.contains("name=\"owner_id\" type=\"text\" value=\"E1\""));

    // Saving sends only what changed; a form read before someone else's change does not overwrite it.
    let etag = rec.etag();
    let path = format!("/cost-centres/{id}");
    let (status, _, _) = b
        .post(
            &path,
            &[
                ("etag", &etag),
                ("code", "CC-9"),
                ("name", "Nine Ltd"),
                ("parent_id", "CC-1"),
                ("owner_id", ""),
            ],
            true,
        )
        .await;
    assert_eq!(status, 303);
    let rec = t.app.get::<CostCentre>(&sys(), id).await.unwrap();
    assert_eq!(
        (rec.fields.name.as_str(), rec.fields.owner_id),
        ("Nine Ltd", None),
        "an emptied field is cleared"
    );
    let (status, _, html) = b.post(&path, &[("etag", &etag), ("name", "Stale")], true).await;
    assert_eq!(status, 412);
    assert!(html.contains("id=\"form-error\""));
    assert_eq!(t.app.get::<CostCentre>(&sys(), id).await.unwrap().fields.name, "Nine Ltd");

    // Archived, it leaves the list; restored, it returns. Nothing is deleted.
    let etag = t.app.get::<CostCentre>(&sys(), id).await.unwrap().etag();
    let (status, _, _) = b.post(&format!("{path}/archive"), &[("etag", &etag)], true).await;
    assert_eq!(status, 303);
    assert!(!b.get("/cost-centres").await.1.contains("Nine Ltd"));
    assert!(b.get(&path).await.1.contains(">archived<"));
    let etag = t.app.get::<CostCentre>(&sys(), id).await.unwrap().etag();
    let (status, _, _) = b.post(&format!("{path}/restore"), &[("etag", &etag)], true).await;
    assert_eq!(status, 303);
    assert!(b.get("/cost-centres").await.1.contains("Nine Ltd"));

    // A user limited to CC-2 does not learn its parent's code, nor can they point at a cost centre outside.
    let cc2 =
        t.app.id_by_key(&sys(), itemize_core::refdata::Kind::CostCentre, "CC-2").await.unwrap().unwrap();
    t.user("scoped-1", "finance", vec![cc2]).await;
    let sc = Browser::sign_in(&s, "scoped-1", PASSWORD).await;
    let (status, html) = sc.get(&format!("/cost-centres/{cc2}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"parent_id\" type=\"text\" value=\"\""), "the parent outside is not named");
    assert!(!html.contains("value=\"CC-1\""));
    let (status, _, html) = sc
        .post("/cost-centres/new", &[("code", "CC-22"), ("name", "Mine too"), ("parent_id", "CC-1")], true)
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("no cost centre has the key `CC-1`"),
        "outside their scope it does not exist: {html}"
    );

    // A viewer reads the form but cannot save it.
    let v = Browser::sign_in(&s, "viewer-1", PASSWORD).await;
    let (_, html) = v.get(&path).await;
    assert!(html.contains("readonly") && !html.contains(">Save<"));
    let (status, _, _) = v.post(&path, &[("name", "Viewer was here")], true).await;
    assert_eq!(status, 403);
    assert_eq!(t.app.get::<CostCentre>(&sys(), id).await.unwrap().fields.name, "Nine Ltd");
});

both!(users_and_tokens_are_managed_from_pages, |t| {
    seed_small(&t).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let user = [
        ("username", "carla"),
        ("role", "finance"),
        ("cost_centres", "CC-404"),
        ("password", "a long passphrase"),
    ];
    let (status, _, html) = b.post("/admin/users", &user, true).await;
    assert_eq!(status, 422);
    assert!(html.contains("no cost centre has the code `CC-404`"), "{html}");
    assert!(
        html.contains("value=\"carla\"") && !html.contains("a long passphrase"),
        "kept, but never the password"
    );
    let user = [
        ("username", "carla"),
        ("role", "finance"),
        ("cost_centres", "cc-2"),
        ("password", "a long passphrase"),
    ];
    let (status, loc, _) = b.post("/admin/users", &user, true).await;
    assert_eq!(status, 303);
    let carla = t.app.find_user(&sys(), "carla").await.unwrap();
    assert_eq!((carla.role.to_string().as_str(), carla.cost_centres.len()), ("finance", 1));
    let (_, html) = b.get(&loc.unwrap()).await;
    assert!(html.contains("value=\"CC-2\""), "scope shown as codes");
    let (status, _, _) = b
        .post(
            &format!("/admin/users/{}", carla.id),
            &[("etag", &carla.etag()), ("role", "viewer"), ("cost_centres", ""), ("disabled", "on")],
            true,
        )
        .await;
    assert_eq!(status, 303);
    let carla = t.app.find_user(&sys(), "carla").await.unwrap();
    assert_eq!(
        (carla.role.to_string().as_str(), carla.cost_centres.len(), carla.disabled),
        ("viewer", 0, true)
    );

    // A token is shown once, works at once, and stops working when revoked.
    let (status, _, html) =
        b.post("/admin/tokens", &[("name", "ci"), ("days", "30"), ("read_only", "on")], true).await;
    assert_eq!(status, 200);
    let token = by_id(&html, "new-token").to_string();
    assert!(token.starts_with("itm_"), "{token}");
    assert_eq!(s.get_as(&token, "/api/v1/me").await.status(), 200);
    let (_, html) = b.get("/admin/tokens").await;
    assert!(!html.contains(&token), "never shown again");
    let id = t.app.list_tokens(&sys()).await.unwrap().into_iter().find(|x| x.name == "ci").unwrap().id;
    let (status, _, _) = b.post(&format!("/admin/tokens/{id}/revoke"), &[], true).await;
    assert_eq!(status, 303);
    assert_eq!(s.get_as(&token, "/api/v1/me").await.status(), 401);
    let (status, _, _) = b.post("/admin/tokens", &[("name", "long"), ("days", "9999")], true).await;
    assert_eq!(status, 422);

    // The audit log, filtered from its form (empty fields filter nothing).
    let (status, html) = b.get("/admin/audit?kind=user&record_id=&actor_id=&action=update&from=&to=").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<td>update</td><td>user</td>"), "{html}");
    assert!(!html.contains("<td>create</td>"), "only updates");
    assert!(html.contains("name=\"kind\" value=\"user\""), "the form shows the filter");
});

both!(lists_filter_sort_and_page_without_javascript, |t| {
    let (_, cc, _, _) = seed_small(&t).await;
    for (n, kind, value) in [("L-1", "lease", "900"), ("L-2", "lease", "1500"), ("M-1", "maintenance", "300")]
    {
        let c = json!({"number": n, "name": format!("{kind} {n}"), "kind": kind, "value": value,
            "start_date": "2026-01-01", "end_date": "2026-12-31", "cost_centre_id": cc});
        t.app.create_contract(&sys(), c).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        let bill = dir.path().join(format!("b{i}.csv"));
        std::fs::write(&bill, focus(&[(&format!("{i}.50"), "")])).unwrap();
        t.app
            .import_cost_file(&sys(), &bill, ImportOptions::default(), Arc::new(Progress::default()))
            .await
            .unwrap();
    }
    t.app.apply_rule_set(&sys(), RULES).await.unwrap();
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (_, html) = b.get("/contracts?kind=lease&sort=-value").await;
    let (l2, l1) = (html.find(">L-2<").unwrap(), html.find(">L-1<").unwrap());
    assert!(l2 < l1, "largest value first");
    assert!(!html.contains(">M-1<"), "filtered by kind");
    let (status, _) = b.get("/contracts?sort=colour").await;
    assert_eq!(status, 400);
    // An archived contract leaves the list, and is shown, marked, when asked for.
    let m1 = t.app.contracts(&sys()).await.unwrap().into_iter().find(|c| c.number == "M-1").unwrap().id;
    t.app.set_contract_archived(&sys(), m1, true).await.unwrap();
    let (_, html) = b.get("/contracts").await;
    assert!(html.contains(">L-1<") && !html.contains(">M-1<"), "active contracts only");
    let (_, html) = b.get("/contracts?archived=true").await;
    assert!(html.contains(">M-1<") && html.contains("maintenance M-1 (archived)") && !html.contains(">L-1<"));
    let (_, html) = b.get(&format!("/contracts/{m1}")).await;
    assert!(html.contains("<dt>Archived</dt><dd>20"), "the archive date");
    assert_eq!(b.get("/contracts?archived=maybe").await.0, 400);
    let (_, html) = b.get("/imports?status=superseded").await;
    assert_eq!(html.matches("superseded</td>").count(), 2, "two bills restated by the third: {html}");
    // A superseded import's page names and links the import that replaced it.
    let active = t.app.cost_imports(&sys(), Some("active"), None, 10).await.unwrap()[0].id;
    let old = t.app.cost_imports(&sys(), Some("superseded"), None, 10).await.unwrap()[0].id;
    let (_, page) = b.get(&format!("/imports/{old}")).await;
    let replaced = &page[page.find("id=\"replaced-by\"").expect("the replacement is named")..];
    assert!(replaced.contains(&format!("<a href=\"/imports/{active}\">import {active}</a>")), "{replaced}");
    // Three imports fit on a page: no link to older ones; a parameter the page does not know is named.
    let (_, html) = b.get("/imports").await;
    assert!(!html.contains("Older imports"), "{html}");
    assert!(
        html.contains("2026-11-22 09:00 UTC") && !html.contains("2026-11-22T09:00:00"),
        "times as people read them"
    );
    let (status, html) = b.get("/imports?period=2026-05").await;
    assert_eq!(status, 400);
    assert!(html.contains("period"), "{html}");
    let (_, html) = b.get("/imports?status=active").await;
    assert_eq!(html.matches(">active</td>").count(), 1);
    // The explorer draws trend lines on request, and keeps that choice in its links.
    let (_, html) =
        b.get("/costs?from=2026-05&to=2026-05&group_by=provider&granularity=day&chart=lines").await;
    assert!(html.contains("<g class=\"line\"") && !html.contains("<rect class=\"seg\""), "a line chart");
    assert!(html.contains("chart=lines"), "the view's links keep the chart");
});

both!(drill_down_links_lead_to_the_lines_they_sum, |t| {
    let (_, cc2, _, _) = seed_small(&t).await;
    // The untagged line (account A-2) goes into a shared pool, split over the cost centres that have cost.
    let pooled = format!(
        "{RULES}\n[[pool]]\nname = \"shared\"\nwhen = {{ account = \"A-2\" }}\nsplit = \"proportional\"\n"
    );
    import_and_allocate(&t, &focus(&[("10.00", "CC-2"), ("5.50", "CC-2"), ("1.25", "")]), &pooled).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;

    // A pooled line is on no cost centre of its own, not even "none": the cube has no none-group for it.
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&cost_centre=(none)").await;
    assert_eq!(by_id(&lines, "line-count"), "0");
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&target=pool:shared").await;
    assert_eq!((by_id(&lines, "line-count"), by_id(&lines, "lines-effective")), ("1", "1.25"));
    assert!(!lines.contains("id=\"beside-lines\""), "the pool's own lines are listed, not shares of them");
    // A cost centre's lines are its own; its share of the pool is given beside them, and the two together are
    // what the statement and the explorer give it (CC-2 is the only cost centre with cost: all of the pool).
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&cost_centre=CC-2").await;
    assert_eq!((by_id(&lines, "line-count"), by_id(&lines, "lines-effective")), ("2", "15.50"));
    assert!(lines.contains("<th scope=\"row\">pool:shared</th>"), "{lines}");
    // A page of one line downloads every line it is a page of.
    let (_, page) = b.get("/costs/lines?from=2026-05&to=2026-05&cost_centre=CC-2&limit=1").await;
    let link = page.split("href=\"").find(|h| h.contains("format=csv")).unwrap().split('"').next().unwrap();
    assert!(!link.contains("limit") && !link.contains("offset"), "{link}");
    let (_, csv) = b.get("/costs/lines?from=2026-05&to=2026-05&cost_centre=CC-2&limit=1&format=csv").await;
    // A header, both lines (traced to their import and row), the pool's share beside them, and the total the
    // statement gives.
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        &head[9..],
        ["Billed (USD)", "Effective (USD)", "Cost centre", "Business service", "Import", "Row"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert_eq!((&rows[0][11], rows[0][13].parse::<u64>().is_ok()), ("CC-2", true), "{csv}");
    assert_eq!((&rows[2][8], &rows[2][10]), ("pool:shared", "1.25"), "{csv}");
    assert_eq!(
        (&rows[3][0], rows[3][10].parse::<Decimal>().unwrap()),
        ("Total", Decimal::new(1675, 2)),
        "{csv}"
    );
    assert_eq!(by_id(&lines, "with-shares-effective"), "16.75");
    let (_, st) = s.get_json("/api/v1/allocation/showback?period=2026-05").await;
    let row = st["rows"].as_array().unwrap().iter().find(|r| r["code"] == "CC-2").unwrap().clone();
    assert_eq!(by_id(&lines, "with-shares-lines"), row["lines"].to_string(), "the statement's count: {st}");
    // With "(none)" beside it, the cost centre's share is still counted (the pool has no "none" part).
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&cost_centre=CC-2,(none)").await;
    assert_eq!(by_id(&lines, "with-shares-effective"), "16.75", "{lines}");
    // A user limited to CC-2 never sees the pool's lines (other teams' too), whatever the filter: the share is
    // counted beside their lines, so a provider's lines come to what the explorer shows them for it.
    t.user("cc2-viewer", "viewer", vec![cc2]).await;
    let viewer = Browser::sign_in(&s, "cc2-viewer", PASSWORD).await;
    let (_, lines) = viewer.get("/costs/lines?from=2026-05&to=2026-05&provider=Acme+Cloud").await;
    assert_eq!(by_id(&lines, "lines-effective"), "15.50", "{lines}");
    assert_eq!(by_id(&lines, "with-shares-effective"), "16.75", "{lines}");
    // Asked for lines without a region ("(none)": none of these lines has one), the same: the cube answers
    // "(none)" too.
    let (_, lines) = viewer.get("/costs/lines?from=2026-05&to=2026-05&region=(none)").await;
    assert_eq!(by_id(&lines, "lines-effective"), "15.50", "{lines}");
    assert_eq!(by_id(&lines, "with-shares-effective"), "16.75", "{lines}");
    let (_, cube) = s
        .get_json("/api/v1/allocation/cube?from=2026-05&to=2026-05&granularity=none&region=(none),nowhere")
        .await;
    assert_eq!(cube["total_effective"], "16.75", "the cube's cells without a region: {cube}");
    let (_, cube) = s.get_json("/api/v1/allocation/cube?from=2026-05&to=2026-05&group_by=cost_centre").await;
    let row = cube["rows"].as_array().unwrap().iter().find(|r| r["keys"][0] == "CC-2").unwrap().clone();
    assert_eq!(row["effective"], "16.75", "{cube}");
    let (_, api) =
        s.get_json("/api/v1/allocation/cube?from=2026-05&to=2026-05&group_by=rule&cost_centre=CC-2").await;
    assert!(api["rows"].as_array().unwrap().iter().any(|r| r["keys"][0] == "pool:shared"), "{api}");

    // A view filtered by what it groups by: its links name the group once, and they answer.
    let (status, html) =
        b.get("/costs?from=2026-05&to=2026-05&group_by=cost_centre&granularity=day&cost_centre=CC-2").await;
    assert_eq!(status, 200, "{html}");
    let links: Vec<String> = html
        .split("href=\"")
        .skip(1)
        .map(|p| p.split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&"))
        .filter(|h| h.starts_with("/costs/lines?"))
        .collect();
    assert!(!links.is_empty(), "{html}");
    for l in &links {
        assert_eq!(l.matches("cost_centre=").count(), 1, "{l}");
        let (status, page) = b.get(l).await;
        assert_eq!(status, 200, "{l}: {page}");
    }
    // A day's link keeps the view's months and names the day.
    assert!(
        links.iter().any(|l| l.contains("from=2026-05") && l.contains("day_from=2026-05-01")),
        "{links:?}"
    );
    // The explorer takes one of its dimensions to group by, and says which are.
    let (status, html) = b.get("/costs?from=2026-05&to=2026-05&group_by=provider,region").await;
    assert_eq!(status, 400);
    assert!(html.contains("is not one of the explorer"), "{html}");
});

// The explorer's rows are in cents that add up to its total, as a statement's are: three accounts of half a cent
// each show 0.01, 0.01 and 0.00 under a total of 0.02 (each rounded alone, 0.03 under 0.02).
both!(explorer_rows_add_up_to_its_total_in_cents, |t| {
    seed_small(&t).await;
    import_and_allocate(&t, &focus(&[("0.005", "CC-2"), ("0.005", "CC-2"), ("0.005", "CC-2")]), RULES).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    for granularity in ["none", "month"] {
        let (_, html) = b
            .get(&format!(
                "/costs?from=2026-05&to=2026-05&group_by=billing_account_id&granularity={granularity}"
            ))
            .await;
        let body = &html[html.find("<tbody").unwrap()..html.find("</tbody>").unwrap()];
        // By the whole range, billed and effective each 0.01, 0.01 and 0.00; by month, the rows' Total column so
        // (the month's own cells are each rounded).
        let (zeros, cents) = (body.matches(">0.00<").count(), body.matches(">0.01<").count());
        let want = if granularity == "none" { (2, 4) } else { (1, 5) };
        assert_eq!((zeros, cents), want, "{granularity}: {body}");
        let foot = &html[html.find("<tfoot>").unwrap()..];
        assert!(foot.contains(">0.02</th>"), "{granularity}: {foot}");
    }
});

// An explanation lists a pool's lines, which are the whole pool's: each says what of it the target holds, so the
// lines listed come to what the target holds, not to the pools' totals.
both!(an_explanation_gives_each_pooled_lines_share, |t| {
    seed_small(&t).await;
    let pooled = format!(
        "{RULES}\n[[pool]]\nname = \"shared\"\nwhen = {{ account = \"A-2\" }}\nsplit = \"proportional\"\n"
    );
    // CC-2 has 10.00 of direct cost, CC-1 5.00: the pool's 3.00 splits 2.00 and 1.00.
    import_and_allocate(&t, &focus(&[("10.00", "CC-2"), ("5.00", "CC-1"), ("3.00", "")]), &pooled).await;
    let s = t.serve().await;
    let (_, x) = s.get_json("/api/v1/allocation/explain?period=2026-05&target=cc:CC-2").await;
    let lines: Vec<(String, String, String)> = x["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["rule"].as_str().unwrap().to_string(),
                l["effective"].to_string(),
                l["share_effective"].to_string(),
            )
        })
        .collect();
    let pool = lines.iter().find(|l| l.0 == "pool:shared").expect("the pool's line is listed");
    assert_eq!(
        (pool.1.as_str(), pool.2.trim_matches('"').parse::<Decimal>().unwrap()),
        ("\"3.00\"", Decimal::new(2, 0)),
        "{x}"
    );
    let held: Decimal = lines.iter().map(|l| l.2.trim_matches('"').parse::<Decimal>().unwrap()).sum();
    assert_eq!(held, x["total_effective"].as_str().unwrap().parse::<Decimal>().unwrap(), "{x}");
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (_, html) = b.get("/allocation/explain?period=2026-05&target=cc:CC-2").await;
    assert!(html.contains("Held here") && html.contains(">2.00</td>"), "{html}");
});

both!(lines_left_unallocated_say_which_pool_could_not_split, |t| {
    seed_small(&t).await;
    // A pool split by a metric nobody imported has no basis: all of it (the untagged
    // line of account A-1) is left unallocated.
    let pooled = format!(
        "{RULES}\n[[pool]]\nname = \"shared\"\nwhen = {{ account = \"A-1\" }}\nsplit = \"driver\"\ndriver = \"metric:cpu-hours\"\n"
    );
    import_and_allocate(&t, &focus(&[("10.00", "CC-2"), ("1.25", "")]), &pooled).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&target=unallocated").await;
    assert!(lines.contains("<th scope=\"row\">pool:shared</th><td>What pool shared gave no team"), "{lines}");
    assert_eq!(by_id(&lines, "with-shares-effective"), "1.25", "{lines}");
    // Asked about a team beside it, a pool's amount is the selection's share of it.
    let (_, lines) = b.get("/costs/lines?from=2026-05&to=2026-05&target=unallocated,cc:CC-2").await;
    assert!(!lines.contains("What pool shared gave no team"), "{lines}");
    assert!(lines.contains("<td>Share of pool shared in this selection"), "{lines}");
});

// A month is closed from the chargeback page by whoever may close months: the allocated open months are offered,
// the close shows its journal, and a second close of the same month is refused on the page; a viewer is offered
// no form.
both!(a_month_is_closed_from_the_chargeback_page, |t| {
    seed_small(&t).await;
    let rules = format!(
        "{RULES}[journal]\nprovider_cost_centre = \"CC-1\"\ncredit_account = \"7990\"\n[journal.gl_accounts]\ndefault = \"7900\"\n"
    );
    import_and_allocate(&t, &focus(&[("10.00", "CC-2"), ("1.25", "")]), &rules).await;
    t.user("viewer-4", "viewer", vec![]).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (status, html) = b.get("/chargeback").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("id=\"close-form\"") && html.contains("<option value=\"2026-05\" selected>"),
        "{html}"
    );
    let (status, location, html) = b.post("/chargeback/close", &[("period", "2026-05")], true).await;
    assert_eq!(status, 303, "{html}");
    assert_eq!(location.as_deref(), Some("/chargeback?period=2026-05&closed=2026-05"));
    let closed = t.app.closed_periods(&sys()).await.unwrap();
    assert_eq!(closed.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["2026-05"]);
    let (_, html) = b.get("/chargeback?period=2026-05&closed=2026-05").await;
    assert!(by_id(&html, "close-done").contains("2026-05 is closed"), "{html}");
    assert!(
        html.contains("Balanced") && !html.contains("id=\"close-form\""),
        "nothing left to close: {html}"
    );
    let (status, _, html) = b.post("/chargeback/close", &[("period", "2026-05")], true).await;
    assert_eq!(status, 409, "{html}");
    assert!(by_id(&html, "close-error").contains("already closed"), "{html}");
    let v = Browser::sign_in(&s, "viewer-4", PASSWORD).await;
    let (_, html) = v.get("/chargeback").await;
    assert!(!html.contains("id=\"close-form\""), "{html}");
});

both!(a_cost_centre_budgeting_in_another_currency_sees_its_row_in_it, |t| {
    seed_small(&t).await; // CC-2 budgets in EUR, CC-1 in the reporting currency
    import_and_allocate(&t, &focus(&[("100.00", "CC-2"), ("20.045", "CC-2"), ("7.005", "CC-1")]), RULES)
        .await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;

    // No rate yet: the row says so, and the API names the missing rate; nothing is translated at 1.
    let (_, st) = s.get_json("/api/v1/allocation/showback?period=2026-05").await;
    let row = |st: &serde_json::Value, code: &str| {
        st["rows"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap().clone()
    };
    let local = row(&st, "CC-2")["local"].clone();
    assert_eq!((local["currency"].as_str(), local["amount"].is_null()), (Some("EUR"), true), "{st}");
    let missing = local["missing"].as_str().unwrap();
    assert!(missing.contains("USD to EUR") && missing.contains("2026-05-31"), "{missing}");
    assert!(row(&st, "CC-1").get("local").is_none(), "CC-1 budgets in the reporting currency: {st}");
    let (_, html) = b.get("/showback?period=2026-05").await;
    assert!(html.contains("In its own currency") && html.contains("no EUR rate"), "{html}");

    // With the month's rates (ECB style, against EUR), the row is translated at the last day's rate.
    t.app
        .import_rates(&sys(), "date,from,to,rate\n2026-05-29,EUR,USD,1.25\n2026-05-31,EUR,USD,1.28\n", "test")
        .await
        .unwrap();
    let (_, st) = s.get_json("/api/v1/allocation/showback?period=2026-05").await;
    let local = row(&st, "CC-2")["local"].clone();
    // 120.045 USD at 1/1.28 EUR a dollar: 93.78515625 EUR, to the cent.
    assert_eq!(row(&st, "CC-2")["amount"], "120.045");
    assert_eq!((local["amount"].as_str(), local["rate_date"].as_str()), (Some("93.79"), Some("2026-05-31")));
    assert_eq!(local["rate"], "0.78125", "{local}");
    let (_, html) = b.get("/showback?period=2026-05").await;
    assert!(html.contains("<td class=\"num\">93.79 EUR</td>"), "{html}");
    assert!(by_id(&html, "own-rates").contains("1 USD = 0.78125 EUR (2026-05-31)"), "{html}");
    let csv = s.get("/api/v1/allocation/showback?period=2026-05&format=csv").await.text().await.unwrap();
    assert!(
        csv.lines().any(|l| l.contains(",CC-2,") && l.contains(",EUR,93.79,0.78125,2026-05-31,")),
        "{csv}"
    );
    // Beside the exact amounts, the ones the page shows: in cents adding up to the total (120.045 and 7.005
    // each rounded alone would come to a cent more than 127.05).
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let at = r.headers().unwrap().iter().position(|h| h == "amount_shown").unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let (total, parts) = rows.split_last().unwrap();
    let sum: Decimal = parts.iter().map(|p| p[at].parse::<Decimal>().unwrap()).sum();
    assert_eq!(sum.to_string(), total[at].to_string(), "{csv}");
    assert_eq!(&total[at], "127.05");
    // The workbook: the rows in cents as the page shows them, adding up to the total (120.045 and 7.005 each
    // rounded half up would come to a cent more than 127.05), and the rate beside the euro amount.
    let xlsx = s.get("/api/v1/allocation/showback?period=2026-05&format=xlsx").await.bytes().await.unwrap();
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(xlsx.to_vec())).unwrap();
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> =
        sheet.rows().skip(3).map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let (total, parts) = rows.split_last().unwrap();
    let cents = |v: &str| (v.parse::<f64>().unwrap() * 100.0).round() as i64;
    // By cost centre there is no column naming each row's cost centre: the code is it.
    let head: Vec<String> = sheet.rows().nth(2).unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(&head[..4], ["Code", "Name", "Amount", "Previous"], "{head:?}");
    assert_eq!(parts.iter().map(|r| cents(&r[2])).sum::<i64>(), cents(&total[2]), "{rows:?}");
    let cc2 = parts.iter().find(|r| r[0] == "CC-2").unwrap();
    assert_eq!(
        (&cc2[7], cents(&cc2[8]), &cc2[9], &cc2[10]),
        (&"EUR".to_string(), 9379, &"0.78125".to_string(), &"2026-05-31".to_string())
    );
    // A wrong choice is named as itself.
    let (status, html) = b.get("/showback?period=2026-05&measure=x").await;
    assert_eq!(status, 400);
    assert!(html.contains("query parameter `measure` `x` is not effective or billed"), "{html}");
    // By service there is no cost centre's own currency to give.
    let (_, st) = s.get_json("/api/v1/allocation/showback?period=2026-05&by=service").await;
    assert!(st["rows"].as_array().unwrap().iter().all(|r| r.get("local").is_none()), "{st}");
    // and its workbook names each service's cost centre beside it.
    let xlsx = s
        .get("/api/v1/allocation/showback?period=2026-05&by=service&format=xlsx")
        .await
        .bytes()
        .await
        .unwrap();
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(xlsx.to_vec())).unwrap();
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    let head: Vec<String> = sheet.rows().nth(2).unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(&head[..4], ["Code", "Name", "Cost centre", "Amount"], "{head:?}");
    let codes: Vec<String> = sheet.rows().skip(3).map(|r| r[2].to_string()).collect();
    assert!(codes.iter().any(|c| c == "CC-2"), "{codes:?}");
    // Closed, the month's statement keeps the translation it was closed with: a rate imported later for its last
    // day, or the cost centre moving to another currency, changes an open month's statement, not this one.
    t.app.close_period(&sys(), "2026-05").await.unwrap();
    let imported =
        t.app.import_rates(&sys(), "date,from,to,rate\n2026-05-31,EUR,USD,1.5\n", "late.csv").await.unwrap();
    assert_eq!(imported.replaced, ["2026-05-31 EUR/USD 1.28 → 1.5"], "a rate replaced is said to be");
    let cc2 =
        t.app.id_by_key(&sys(), itemize_core::refdata::Kind::CostCentre, "CC-2").await.unwrap().unwrap();
    t.app.update::<CostCentre>(&sys(), cc2, None, json!({"currency": "GBP"})).await.unwrap();
    let (_, st) = s.get_json("/api/v1/allocation/showback?period=2026-05").await;
    let local = row(&st, "CC-2")["local"].clone();
    assert_eq!(
        (local["currency"].as_str(), local["amount"].as_str(), local["rate"].as_str()),
        (Some("EUR"), Some("93.79"), Some("0.78125")),
        "{st}"
    );
    // The audit log has the close, the rate replaced (before and after) and the rules and runs that made the month.
    let (_, log) = s.get_json("/api/v1/audit?kind=periods&action=close").await;
    let close = &log["items"][0];
    assert_eq!(
        (close["after"]["period"].as_str(), close["after"]["translations"]["CC-2"]["rate"].as_str()),
        (Some("2026-05"), Some("0.78125")),
        "{log}"
    );
    let (_, log) = s.get_json("/api/v1/audit?kind=exchange-rates").await;
    let late = &log["items"][0];
    assert_eq!(late["before"]["replaced"][0]["rate"], "1.28", "{log}");
    assert_eq!(late["after"]["replaced"][0], "2026-05-31 EUR/USD 1.28 → 1.5", "{log}");
    let (_, log) = s.get_json("/api/v1/audit?kind=rule-sets").await;
    assert_eq!(log["items"].as_array().map(Vec::len), Some(1), "{log}");
    let (_, log) = s.get_json("/api/v1/audit?kind=allocation-runs&action=allocate").await;
    assert_eq!(log["items"][0]["after"]["period"], "2026-05", "{log}");
    // The other direction for a day whose rate is held decides conversions from then on: said as well; and a
    // day and pair given twice in one file is refused, nothing imported.
    let imported =
        t.app.import_rates(&sys(), "date,from,to,rate\n2026-05-31,USD,EUR,0.5\n", "x.csv").await.unwrap();
    assert_eq!(
        imported.replaced,
        ["2026-05-31 USD/EUR 0.5 (the EUR/USD 1.5 held for that day gave 0.666667)"]
    );
    let e = t
        .app
        .import_rates(
            &sys(),
            "date,from,to,rate\n2026-05-29,EUR,USD,1.11\n2026-05-29,EUR,USD,1.12\n",
            "x.csv",
        )
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("the 2026-05-29 EUR/USD rate is given twice"), "{e:?}");
});

both!(a_name_with_a_comma_is_one_filter_value, |t| {
    seed_small(&t).await;
    // Two lines of a vendor whose name holds a comma, one of another whose name begins the same.
    let text = focus(&[("10.00", "CC-2"), ("2.50", "CC-2"), ("4.00", "CC-2")])
        .replacen(",Compute,", ",\"Okta, Inc.\",", 2)
        .replacen(",Compute,", ",Okta,", 1);
    import_and_allocate(&t, &text, RULES).await;
    let s = t.serve().await;
    let b = Browser::sign_in(&s, ADMIN, PASSWORD).await;
    let (_, html) = b.get("/costs?from=2026-05&to=2026-05&group_by=service_name&granularity=none").await;
    let links: Vec<String> = html
        .split("href=\"")
        .skip(1)
        .map(|p| p.split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&"))
        .filter(|h| h.starts_with("/costs/lines?") && h.contains("Okta%5C%2C"))
        .collect();
    assert!(!links.is_empty(), "the comma is escaped in the link: {html}");
    let (_, lines) = b.get(&links[0]).await;
    assert_eq!((by_id(&lines, "line-count"), by_id(&lines, "lines-effective")), ("2", "12.50"), "{lines}");
    // Typed by hand, escaped, and beside another value.
    let (_, lines) = b.get("/costs/lines?period=2026-05&service_name=Okta%5C%2C+Inc.,Okta").await;
    assert_eq!((by_id(&lines, "line-count"), by_id(&lines, "lines-effective")), ("3", "16.50"), "{lines}");
    let (_, cube) = s
        .get_json(
            "/api/v1/allocation/cube?from=2026-05&to=2026-05&granularity=none&service_name=Okta%5C%2C+Inc.",
        )
        .await;
    assert_eq!(cube["total_effective"], "12.50", "{cube}");
});
