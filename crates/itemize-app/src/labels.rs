//! Printable asset labels: a QR code of the asset's tag beside its tag, name and serial, laid out on an A4
//! sheet of 3 × 8 labels (70 × 37 mm, the common label stock). As SVG (one page per 24 labels, stacked) and as
//! PDF (drawn with rectangles and the standard Helvetica font in WinAnsiEncoding, so no font is embedded and
//! Western European names print as written).

use crate::{App, AppError, ListParams};
use itemize_core::assets::Asset;
use itemize_core::auth::Actor;
use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write;

const COLS: usize = 3;
const ROWS: usize = 8;
const LABEL_W: f64 = 70.0;
const LABEL_H: f64 = 37.0;
const PAGE_W: f64 = 210.0;
const PAGE_H: f64 = 297.0;
const MARGIN_TOP: f64 = (PAGE_H - LABEL_H * ROWS as f64) / 2.0;
const QR_SIZE: f64 = 27.0;

/// What a label shows.
#[derive(Debug, Clone)]
pub struct Label {
    pub tag: String,
    pub name: String,
    pub serial: Option<String>,
}

impl From<&Asset> for Label {
    fn from(a: &Asset) -> Self {
        Label { tag: a.fields.tag.clone(), name: a.fields.name.clone(), serial: a.fields.serial.clone() }
    }
}

/// The QR code's modules (true = dark), row by row, for `text`.
pub fn qr_modules(text: &str) -> Result<(usize, Vec<bool>), AppError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Refused(format!("`{text}` cannot be put in a QR code: {e}")))?;
    let w = code.width();
    Ok((w, code.to_colors().into_iter().map(|c| c == Color::Dark).collect()))
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// Where label `i` of a page sits (left, top) in millimetres.
fn slot(i: usize) -> (f64, f64) {
    let (r, c) = (i / COLS, i % COLS);
    (c as f64 * LABEL_W, MARGIN_TOP + r as f64 * LABEL_H)
}

/// An SVG document: one A4 page per 24 labels, stacked vertically, in millimetres.
pub fn svg(labels: &[Label]) -> Result<String, AppError> {
    let pages = labels.len().div_ceil(COLS * ROWS).max(1);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}mm" height="{h}mm" viewBox="0 0 {PAGE_W} {h}">"#,
        h = PAGE_H * pages as f64
    );
    for (i, l) in labels.iter().enumerate() {
        let page = i / (COLS * ROWS);
        let (x, y) = slot(i % (COLS * ROWS));
        let y = y + page as f64 * PAGE_H;
        let (w, modules) = qr_modules(&l.tag)?;
        let m = QR_SIZE / w as f64;
        let _ = write!(out, r#"<g class="label" data-tag="{}">"#, xml(&l.tag));
        let _ = write!(
            out,
            r##"<rect x="{x}" y="{y}" width="{LABEL_W}" height="{LABEL_H}" fill="none" stroke="#ccc" stroke-width="0.2"/>"##
        );
        let mut path = String::new();
        for (k, dark) in modules.iter().enumerate() {
            if *dark {
                let _ = write!(
                    path,
                    "M{:.3} {:.3}h{m:.3}v{m:.3}h-{m:.3}z",
                    x + 4.0 + (k % w) as f64 * m,
                    y + 5.0 + (k / w) as f64 * m
                );
            }
        }
        let _ = write!(out, r##"<path d="{path}" fill="#000"/>"##);
        let tx = x + 4.0 + QR_SIZE + 3.0;
        let _ = write!(
            out,
            r#"<text x="{tx}" y="{}" font-family="Helvetica,Arial,sans-serif" font-size="4.2" font-weight="bold">{}</text>"#,
            y + 12.0,
            xml(&clip(&l.tag, 18))
        );
        let _ = write!(
            out,
            r#"<text x="{tx}" y="{}" font-family="Helvetica,Arial,sans-serif" font-size="3">{}</text>"#,
            y + 18.0,
            xml(&clip(&l.name, 22))
        );
        if let Some(s) = &l.serial {
            let _ = write!(
                out,
                r#"<text x="{tx}" y="{}" font-family="Helvetica,Arial,sans-serif" font-size="2.6">S/N {}</text>"#,
                y + 23.0,
                xml(&clip(s, 20))
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    Ok(out)
}

/// The byte WinAnsiEncoding (the standard fonts' encoding, which the labels' font names) gives a character:
/// Latin-1 as it is, and the typographic characters it adds in 0x80-0x9F (€, dashes, quotes, Œ, Š, Ž, ...).
fn win_ansi(c: char) -> Option<u8> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8a),
        ('‹', 0x8b),
        ('Œ', 0x8c),
        ('Ž', 0x8e),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9a),
        ('›', 0x9b),
        ('œ', 0x9c),
        ('ž', 0x9e),
        ('Ÿ', 0x9f),
    ];
    match c as u32 {
        0x20..=0x7e | 0xa0..=0xff => Some(c as u8),
        _ => HIGH.iter().find(|(h, _)| *h == c).map(|(_, b)| *b),
    }
}

/// Text for a PDF string literal in WinAnsiEncoding: printable ASCII as it is (with `\ ( )` escaped), the
/// encoding's other characters (ü, ø, é, ß, €, –, ...) as octal escapes so the content stays ASCII, and `?`
/// for a character the standard fonts cannot show.
fn pdf_text(s: &str) -> String {
    s.chars()
        .map(|c| match (c, win_ansi(c)) {
            ('\\' | '(' | ')', _) => format!("\\{c}"),
            (_, Some(b)) if b < 0x7f => c.to_string(),
            (_, Some(b)) => format!("\\{b:03o}"),
            (_, None) => "?".to_string(),
        })
        .collect()
}

/// A PDF document: one A4 page per 24 labels.
pub fn pdf(labels: &[Label]) -> Result<Vec<u8>, AppError> {
    const PT: f64 = 72.0 / 25.4;
    let per_page = COLS * ROWS;
    let pages: Vec<&[Label]> =
        if labels.is_empty() { vec![&[][..]] } else { labels.chunks(per_page).collect() };
    // Objects: 1 catalog, 2 pages, 3 font, then per page: page object and its content stream.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let n_pages = pages.len();
    let kids: Vec<String> = (0..n_pages).map(|i| format!("{} 0 R", 4 + i * 2)).collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n_pages} >>", kids.join(" ")).into_bytes());
    objects
        .push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec());
    for (p, chunk) in pages.iter().enumerate() {
        let mut content = String::new();
        for (i, l) in chunk.iter().enumerate() {
            let (x, top) = slot(i);
            // PDF's origin is bottom-left, in points.
            let y = PAGE_H - top;
            let _ = writeln!(
                content,
                "0.8 G 0.5 w {:.2} {:.2} {:.2} {:.2} re S",
                x * PT,
                (y - LABEL_H) * PT,
                LABEL_W * PT,
                LABEL_H * PT
            );
            let (w, modules) = qr_modules(&l.tag)?;
            let m = QR_SIZE / w as f64;
            content.push_str("0 g\n");
            for (k, dark) in modules.iter().enumerate() {
                if *dark {
                    let mx = x + 4.0 + (k % w) as f64 * m;
                    let my = y - 5.0 - (k / w + 1) as f64 * m;
                    let _ = writeln!(
                        content,
                        "{:.2} {:.2} {:.2} {:.2} re f",
                        mx * PT,
                        my * PT,
                        m * PT + 0.01,
                        m * PT + 0.01
                    );
                }
            }
            let tx = (x + 4.0 + QR_SIZE + 3.0) * PT;
            let _ = writeln!(
                content,
                "BT /F1 12 Tf {tx:.2} {:.2} Td ({}) Tj ET",
                (y - 12.0) * PT,
                pdf_text(&clip(&l.tag, 18))
            );
            let _ = writeln!(
                content,
                "BT /F1 8.5 Tf {tx:.2} {:.2} Td ({}) Tj ET",
                (y - 18.0) * PT,
                pdf_text(&clip(&l.name, 22))
            );
            if let Some(s) = &l.serial {
                let _ = writeln!(
                    content,
                    "BT /F1 7.5 Tf {tx:.2} {:.2} Td (S/N {}) Tj ET",
                    (y - 23.0) * PT,
                    pdf_text(&clip(s, 20))
                );
            }
        }
        let content_id = 5 + p * 2;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {:.2} {:.2}] /Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>",
                PAGE_W * PT,
                PAGE_H * PT
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend(content.as_bytes());
        stream.extend(b"\nendstream");
        objects.push(stream);
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    Ok(out)
}

impl App {
    /// Labels for every asset a list's filters match (or `ids`, comma-separated), as SVG or PDF; at most 2,400.
    pub async fn asset_labels(
        &self,
        actor: &Actor,
        params: &ListParams,
        format: &str,
    ) -> Result<Vec<u8>, AppError> {
        if !matches!(format, "svg" | "pdf") {
            return Err(AppError::bad_param("format", "must be svg or pdf"));
        }
        let mut assets: Vec<Asset> = Vec::new();
        if let Some(ids) = params.get("ids") {
            for raw in ids.split(',') {
                let id: i64 = raw
                    .trim()
                    .parse()
                    .map_err(|_| AppError::bad_param("ids", format!("`{raw}` is not an id")))?;
                assets.push(self.get_asset(actor, id).await?);
            }
        } else {
            assets = self
                .all_matching(
                    actor,
                    params.clone(),
                    Some((2400, "more than 2,400 labels: narrow the filters")),
                )
                .await?;
        }
        if assets.is_empty() {
            // Not a blank sheet to print.
            let why = "no asset matches these filters: there is no label to print";
            return Err(AppError::BadRequest {
                message: why.into(),
                details: vec![itemize_core::FieldError::new("filters", why)],
            });
        }
        let labels: Vec<Label> = assets.iter().map(Label::from).collect();
        match format {
            "pdf" => pdf(&labels),
            _ => svg(&labels).map(String::into_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<Label> {
        (0..n)
            .map(|i| Label {
                tag: format!("LT-{i:05}"),
                name: "Laptop <14\">".into(),
                serial: Some("SN(1)".into()),
            })
            .collect()
    }

    /// The modules drawn on a label, as a scanner sees them (four pixels a module inside a quiet zone of four
    /// modules), decode back to the tag, whatever characters it holds.
    #[test]
    fn qr_codes_decode_to_the_tag() {
        for tag in ["LT-00001", "srv-ams-0042", "Zürich/Ø-7", "A-VERY-LONG-ASSET-TAG-2026-000123456"] {
            let (w, m) = qr_modules(tag).unwrap();
            assert_eq!(m.len(), w * w);
            let (scale, quiet) = (4usize, 4usize);
            let side = (w + 2 * quiet) * scale;
            let mut img = rqrr::PreparedImage::prepare_from_bitmap(side, side, |x, y| {
                let (mx, my) = (x / scale, y / scale);
                (quiet..quiet + w).contains(&mx)
                    && (quiet..quiet + w).contains(&my)
                    && m[(my - quiet) * w + (mx - quiet)]
            });
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1, "{tag}");
            let (_, content) = grids[0].decode().unwrap();
            assert_eq!(content, tag);
        }
        assert_eq!(qr_modules("LT-00001").unwrap().0, 21, "a short tag fits version 1");
    }

    /// Names in other languages print: WinAnsi's characters as octal escapes in the font's encoding, only what
    /// the standard fonts cannot show as `?`.
    #[test]
    fn pdf_text_is_win_ansi() {
        assert_eq!(pdf_text("Zürich – Büro (3) €5"), "Z\\374rich \\226 B\\374ro \\(3\\) \\2005");
        assert_eq!(pdf_text("Ørsted ß Œuvre"), "\\330rsted \\337 \\214uvre");
        assert_eq!(pdf_text("Łódź 東京"), "?\\363d? ??");
        let p = pdf(&[Label { tag: "LT-1".into(), name: "Malmö Kontor".into(), serial: None }]).unwrap();
        let text = String::from_utf8_lossy(&p);
        assert!(text.contains("/Encoding /WinAnsiEncoding") && text.contains("(Malm\\366 Kontor) Tj"));
    }

    #[test]
    fn svg_has_one_group_per_label_and_escapes_text() {
        let s = svg(&labels(25)).unwrap();
        assert_eq!(s.matches(r#"class="label""#).count(), 25);
        assert!(s.contains("Laptop &lt;14&quot;&gt;"));
        assert!(s.contains(&format!("height=\"{}mm\"", PAGE_H * 2.0)));
    }

    #[test]
    fn pdf_is_well_formed_with_a_page_per_24_labels() {
        let p = pdf(&labels(30)).unwrap();
        let text = String::from_utf8_lossy(&p);
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.contains("/Count 2"));
        assert!(text.contains("(SN\\(1\\))") || text.contains("S/N SN\\(1\\)"));
        // Every xref offset points at its object.
        let xref_at: usize =
            text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        let xref = &text[xref_at..];
        for (i, line) in xref.lines().skip(3).take_while(|l| l.ends_with(" n ")).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(text[off..].starts_with(&format!("{} 0 obj", i + 1)), "object {}", i + 1);
        }
    }
}
