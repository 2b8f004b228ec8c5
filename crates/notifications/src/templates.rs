//! The texts of each event and channel, kept as files in `templates/` (e-mail: subject, plain
//! text and HTML; SMS: at most 160 characters).

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Protocollazione and smistamento to the sede: e-mail and SMS.
    Registered,
    /// E-mail.
    TakenInCharge,
    /// A public operator comment: e-mail.
    Commented,
    /// E-mail.
    Rerouted,
    /// E-mail and SMS, with the esito.
    Closed,
}

pub const SMS_MAX: usize = 160;

struct Texts {
    subject: &'static str,
    text: &'static str,
    html: &'static str,
    sms: Option<&'static str>,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Registered => "registered",
            Event::TakenInCharge => "taken_in_charge",
            Event::Commented => "commented",
            Event::Rerouted => "rerouted",
            Event::Closed => "closed",
        }
    }

    fn texts(self) -> Texts {
        match self {
            Event::Registered => Texts {
                subject: include_str!("../templates/registered.subject.txt"),
                text: include_str!("../templates/registered.txt"),
                html: include_str!("../templates/registered.html"),
                sms: Some(include_str!("../templates/registered.sms.txt")),
            },
            Event::TakenInCharge => Texts {
                subject: include_str!("../templates/taken_in_charge.subject.txt"),
                text: include_str!("../templates/taken_in_charge.txt"),
                html: include_str!("../templates/taken_in_charge.html"),
                sms: None,
            },
            Event::Commented => Texts {
                subject: include_str!("../templates/commented.subject.txt"),
                text: include_str!("../templates/commented.txt"),
                html: include_str!("../templates/commented.html"),
                sms: None,
            },
            Event::Rerouted => Texts {
                subject: include_str!("../templates/rerouted.subject.txt"),
                text: include_str!("../templates/rerouted.txt"),
                html: include_str!("../templates/rerouted.html"),
                sms: None,
            },
            Event::Closed => Texts {
                subject: include_str!("../templates/closed.subject.txt"),
                text: include_str!("../templates/closed.txt"),
                html: include_str!("../templates/closed.html"),
                sms: Some(include_str!("../templates/closed.sms.txt")),
            },
        }
    }

    pub fn has_sms(self) -> bool {
        self.texts().sms.is_some()
    }
}

/// The values a template may use: `protocollo`, `sede`, `sede_codice`, `sede_precedente`,
/// `stato`, `oggetto`, `matricola`, `esito`, `esito_testo`, `commento`.
pub type Vars = BTreeMap<&'static str, String>;

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

fn render(template: &str, vars: &Vars, escape: bool) -> String {
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = after[..end].trim();
                let value = vars.get(key).map(String::as_str).unwrap_or("");
                if escape {
                    out.push_str(&html_escape(value));
                } else {
                    out.push_str(value);
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// An e-mail: subject (one line), plain text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn email(event: Event, vars: &Vars) -> Email {
    let t = event.texts();
    let subject: String = render(t.subject, vars, false).lines().next().unwrap_or("").chars().take(200).collect();
    Email { subject, text: render(t.text, vars, false), html: render(t.html, vars, true) }
}

/// The SMS text of an event, within 160 characters: the sede's name is shortened first, then
/// the text is cut.
pub fn sms(event: Event, vars: &Vars) -> Option<String> {
    let t = event.texts().sms?;
    let mut vars = vars.clone();
    let mut text = render(t, &vars, false);
    while text.chars().count() > SMS_MAX {
        let Some(sede) = vars.get("sede").cloned().filter(|s| s.chars().count() > 8) else { break };
        let shorter: String = sede.chars().take(sede.chars().count() - 4).collect();
        vars.insert("sede", format!("{}.", shorter.trim_end_matches('.')));
        text = render(t, &vars, false);
    }
    if text.chars().count() > SMS_MAX {
        text = text.chars().take(SMS_MAX - 1).collect::<String>() + "…";
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.insert("protocollo", "INPS.7002.26/11/2026.0000001".into());
        v.insert("sede", "Roma Tiburtino".into());
        v.insert("sede_codice", "7002".into());
        v.insert("stato", "Aperta".into());
        v.insert("oggetto", "DURC <non> regolare".into());
        v.insert("matricola", "7002000011".into());
        v.insert("esito", "Accolta".into());
        v.insert("esito_testo", "Posizione regolare.".into());
        v
    }

    #[test]
    fn every_event_renders_its_protocollo_and_sede() {
        for e in [Event::Registered, Event::TakenInCharge, Event::Commented, Event::Rerouted, Event::Closed] {
            let m = email(e, &vars());
            assert!(m.subject.contains("INPS.7002.26/11/2026.0000001"), "{e:?}: {}", m.subject);
            assert!(m.text.contains("Roma Tiburtino"), "{e:?}");
            assert!(!m.text.contains("{{"), "{e:?} left a placeholder");
            assert!(m.html.contains("DURC &lt;non&gt; regolare"), "{e:?}: HTML is escaped");
        }
        assert!(email(Event::Closed, &vars()).text.contains("Esito: Accolta"));
    }

    #[test]
    fn sms_fit_in_160_characters() {
        let mut v = vars();
        assert!(sms(Event::Registered, &v).unwrap().chars().count() <= SMS_MAX);
        v.insert("sede", "Una sede dal nome lunghissimo che non finisce mai più e poi ancora".into());
        v.insert("esito", "Non di competenza".into());
        for e in [Event::Registered, Event::Closed] {
            let text = sms(e, &v).unwrap();
            assert!(text.chars().count() <= SMS_MAX, "{}", text);
            assert!(text.contains("INPS.7002.26/11/2026.0000001"));
        }
        assert!(sms(Event::TakenInCharge, &v).is_none());
    }
}
