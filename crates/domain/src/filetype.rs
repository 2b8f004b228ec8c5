//! What an attached file really is, decided by its first bytes (magic numbers), never by its
//! name or its declared type; and a safe name for it inside the bundle.
//!
//! Accepted: PDF, signed P7M, XML, plain text, CSV, PNG, JPEG, GIF, TIFF and office documents
//! (OOXML, OpenDocument, legacy Office). Refused: executables, scripts, archives and anything
//! unrecognised.

/// Bytes of the head of a file that `detect` looks at.
pub const HEAD_LEN: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub content_type: &'static str,
    /// The extension the stored name must end with.
    pub extension: &'static str,
}

const fn kind(content_type: &'static str, extension: &'static str) -> Detected {
    Detected { content_type, extension }
}

const SCRIPT_EXTENSIONS: &[&str] = &[
    "exe", "com", "bat", "cmd", "ps1", "sh", "js", "vbs", "vbe", "wsf", "jar", "msi", "scr", "dll", "py", "pl", "php",
];

fn extension_of(name: &str) -> String {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

/// Decides the type of a file from `head` (its first `HEAD_LEN` bytes, or all of it when
/// shorter). The error is an Italian sentence for the user.
pub fn detect(head: &[u8], name: &str) -> Result<Detected, String> {
    let ext = extension_of(name);
    let starts = |magic: &[u8]| head.starts_with(magic);
    if head.is_empty() {
        return Err("il file è vuoto".into());
    }
    if starts(b"MZ")
        || starts(b"\x7fELF")
        || starts(&[0xfe, 0xed, 0xfa, 0xce])
        || starts(&[0xfe, 0xed, 0xfa, 0xcf])
        || starts(&[0xce, 0xfa, 0xed, 0xfe])
        || starts(&[0xcf, 0xfa, 0xed, 0xfe])
        || starts(&[0xca, 0xfe, 0xba, 0xbe])
        || starts(b"#!")
    {
        return Err("i programmi eseguibili e gli script non sono ammessi".into());
    }
    if starts(b"%PDF-") {
        return Ok(kind("application/pdf", "pdf"));
    }
    if starts(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        return Ok(kind("image/png", "png"));
    }
    if starts(&[0xff, 0xd8, 0xff]) {
        return Ok(kind("image/jpeg", "jpg"));
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Ok(kind("image/gif", "gif"));
    }
    if starts(b"II*\0") || starts(b"MM\0*") {
        return Ok(kind("image/tiff", "tif"));
    }
    if is_signed_der(head) || (ext == "p7m" && starts(b"MII")) {
        return Ok(kind("application/pkcs7-mime", "p7m"));
    }
    if starts(b"PK\x03\x04") {
        return detect_zip_office(head, &ext);
    }
    if starts(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]) {
        return match ext.as_str() {
            "doc" => Ok(kind("application/msword", "doc")),
            "xls" => Ok(kind("application/vnd.ms-excel", "xls")),
            "ppt" => Ok(kind("application/vnd.ms-powerpoint", "ppt")),
            _ => Err("documento Office non riconosciuto: sono ammessi .doc, .xls e .ppt".into()),
        };
    }
    if is_text(head) {
        if SCRIPT_EXTENSIONS.contains(&ext.as_str()) {
            return Err("i programmi eseguibili e gli script non sono ammessi".into());
        }
        let trimmed = trim_text_start(head);
        if trimmed.starts_with(b"<?xml") || (ext == "xml" && trimmed.starts_with(b"<")) {
            return Ok(kind("application/xml", "xml"));
        }
        if ext == "csv" {
            return Ok(kind("text/csv", "csv"));
        }
        return Ok(kind("text/plain", "txt"));
    }
    Err("tipo di file non ammesso: sono accettati PDF, P7M, XML, TXT, CSV, immagini e documenti Office".into())
}

/// A DER/BER PKCS#7 signedData envelope (CAdES `.p7m`): a SEQUENCE whose first element is the
/// signedData OID 1.2.840.113549.1.7.2.
fn is_signed_der(head: &[u8]) -> bool {
    const OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    head.first() == Some(&0x30)
        && head.iter().take(32).count() > OID.len()
        && head[..head.len().min(32)].windows(OID.len()).any(|w| w == OID)
}

fn detect_zip_office(head: &[u8], ext: &str) -> Result<Detected, String> {
    let refuse = || Err("gli archivi compressi non sono ammessi: allegare i file singolarmente".into());
    if head.len() < 30 {
        return refuse();
    }
    let name_len = u16::from_le_bytes([head[26], head[27]]) as usize;
    let extra_len = u16::from_le_bytes([head[28], head[29]]) as usize;
    let Some(first) = head.get(30..30 + name_len) else { return refuse() };
    if first == b"mimetype" {
        // OpenDocument: the first entry, stored uncompressed, is the media type itself.
        let start = 30 + name_len + extra_len;
        let rest = head.get(start..).unwrap_or(&[]);
        for (prefix, detected) in [
            (&b"application/vnd.oasis.opendocument.text"[..], kind("application/vnd.oasis.opendocument.text", "odt")),
            (
                b"application/vnd.oasis.opendocument.spreadsheet",
                kind("application/vnd.oasis.opendocument.spreadsheet", "ods"),
            ),
            (
                b"application/vnd.oasis.opendocument.presentation",
                kind("application/vnd.oasis.opendocument.presentation", "odp"),
            ),
        ] {
            if rest.starts_with(prefix) {
                return Ok(detected);
            }
        }
        return refuse();
    }
    let ooxml = first == b"[Content_Types].xml"
        || first.starts_with(b"_rels/")
        || first.starts_with(b"docProps/")
        || first.starts_with(b"word/")
        || first.starts_with(b"xl/")
        || first.starts_with(b"ppt/");
    if !ooxml {
        return refuse();
    }
    match ext {
        "docx" => Ok(kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")),
        "xlsx" => Ok(kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")),
        "pptx" => Ok(kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")),
        _ => Err("documento Office non riconosciuto: sono ammessi .docx, .xlsx e .pptx".into()),
    }
}

fn trim_text_start(head: &[u8]) -> &[u8] {
    let head = head.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(head);
    let skip = head.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &head[skip..]
}

/// Text: no NUL and no control characters but tab, new line, carriage return and form feed.
/// Bytes above 0x7f are accepted (UTF-8 or Latin-1 files exported by Italian software).
fn is_text(head: &[u8]) -> bool {
    head.iter().all(|&b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
}

/// A name safe to store and to offer for download: no path, no control or reserved characters,
/// at most 100 characters, ending with the detected extension (appended when the given one
/// differs: `fattura.exe` sent as a PDF is stored as `fattura.exe.pdf`).
pub fn sanitize_file_name(raw: &str, detected: &Detected) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut clean: String = base
        .chars()
        .map(|c| if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | '%') { '_' } else { c })
        .collect();
    clean = clean.trim().trim_start_matches('.').trim().to_owned();
    if clean.is_empty() {
        clean = "allegato".into();
    }
    let has_ext = extension_of(&clean) == detected.extension
        || (detected.extension == "jpg" && extension_of(&clean) == "jpeg")
        || (detected.extension == "tif" && extension_of(&clean) == "tiff");
    if !has_ext {
        clean = format!("{clean}.{}", detected.extension);
    }
    if clean.chars().count() > 100 {
        let ext = extension_of(&clean);
        let stem: String = clean.chars().take(100 - ext.len() - 1).collect();
        clean = format!("{stem}.{ext}");
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(head: &[u8], name: &str) -> Result<&'static str, String> {
        detect(head, name).map(|d| d.content_type)
    }

    #[test]
    fn recognises_accepted_types_by_content() {
        assert_eq!(ct(b"%PDF-1.7\n...", "x.bin"), Ok("application/pdf"));
        assert_eq!(ct(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0], "a"), Ok("image/png"));
        assert_eq!(ct(&[0xff, 0xd8, 0xff, 0xe0], "a.jpg"), Ok("image/jpeg"));
        assert_eq!(ct(b"\xef\xbb\xbf  <?xml version=\"1.0\"?><a/>", "a.txt"), Ok("application/xml"));
        assert_eq!(ct(b"matricola;importo\n1;2\n", "dati.csv"), Ok("text/csv"));
        assert_eq!(ct("Gentile sede, àèìòù\r\n".as_bytes(), "nota"), Ok("text/plain"));
        let p7m = [0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80];
        assert_eq!(ct(&p7m, "contratto.pdf.p7m"), Ok("application/pkcs7-mime"));
    }

    fn zip_with_first_entry(name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut v = b"PK\x03\x04".to_vec();
        v.extend_from_slice(&[0u8; 22]);
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(&0u16.to_le_bytes());
        v.extend_from_slice(name);
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn office_documents_by_their_first_entry() {
        let docx = zip_with_first_entry(b"[Content_Types].xml", b"<?xml");
        assert_eq!(
            ct(&docx, "lettera.docx"),
            Ok("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        assert!(ct(&docx, "lettera.zip").is_err());
        let odt = zip_with_first_entry(b"mimetype", b"application/vnd.oasis.opendocument.spreadsheet");
        assert_eq!(ct(&odt, "conti.bin"), Ok("application/vnd.oasis.opendocument.spreadsheet"));
        let plain_zip = zip_with_first_entry(b"virus.exe", b"MZ");
        assert!(ct(&plain_zip, "documenti.docx").is_err());
    }

    #[test]
    fn refuses_executables_whatever_their_name() {
        for head in [&b"MZ\x90\x00"[..], b"\x7fELF\x02", b"#!/bin/sh\nrm -rf /", &[0xcf, 0xfa, 0xed, 0xfe]] {
            assert!(detect(head, "fattura.pdf").is_err());
        }
        assert!(detect(b"echo hi", "script.sh").is_err());
        assert!(detect(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], "setup.msi").is_err());
        assert!(detect(b"\x00\x01\x02binary", "dati.csv").is_err());
        assert!(detect(b"", "vuoto.txt").is_err());
    }

    #[test]
    fn names_are_sanitised() {
        let pdf = kind("application/pdf", "pdf");
        assert_eq!(sanitize_file_name("../../etc/passwd", &pdf), "passwd.pdf");
        assert_eq!(sanitize_file_name("C:\\Users\\x\\Fattura 12.PDF", &pdf), "Fattura 12.PDF");
        assert_eq!(sanitize_file_name("fattura.exe", &pdf), "fattura.exe.pdf");
        assert_eq!(sanitize_file_name("a\u{0}b\nc<d>.pdf", &pdf), "a_b_c_d_.pdf");
        assert_eq!(sanitize_file_name("...", &pdf), "allegato.pdf");
        assert_eq!(sanitize_file_name(&"x".repeat(300), &pdf).chars().count(), 100);
    }
}
