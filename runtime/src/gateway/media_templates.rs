//! Mapping templates keyed by media type (`application/json`, `application/xml`, ...), and
//! how API Gateway picks one: by the request's `Content-Type` on the way in, by `Accept`
//! on the way out.

use crate::vtl::Template;

/// Templates by lowercase media type, in the order of their types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaTemplates {
    templates: Vec<(String, Template)>,
}

impl MediaTemplates {
    /// Parses each template; an error names the media type and says where the template fails.
    pub fn parse<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<MediaTemplates, (String, String)> {
        let mut templates = Vec::new();
        for (media_type, source) in sources {
            let key = media_type.trim().to_ascii_lowercase();
            if !is_media_type(&key) {
                return Err((
                    media_type.to_owned(),
                    format!("`{media_type}` is not a media type like application/json"),
                ));
            }
            let template = Template::parse(source)
                .map_err(|e| (media_type.to_owned(), format!("`{media_type}`: {e}")))?;
            templates.push((key, template));
        }
        templates.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(MediaTemplates { templates })
    }

    /// Whether no template is defined.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// The template for a request's media type (exact match, parameters ignored).
    pub fn for_content_type(&self, media_type: &str) -> Option<(&str, &Template)> {
        self.templates
            .iter()
            .find(|(k, _)| k == media_type)
            .map(|(k, t)| (k.as_str(), t))
    }

    /// The template for a response: the first `Accept`ed type that has one, else
    /// `application/json`, else the first template.
    pub fn for_accept(&self, accept: Option<&str>) -> Option<(&str, &Template)> {
        let accepted = accept
            .into_iter()
            .flat_map(|a| a.split(','))
            .map(media_type);
        for wanted in accepted {
            if let Some(found) = self.for_content_type(&wanted) {
                return Some(found);
            }
        }
        self.for_content_type("application/json")
            .or_else(|| self.templates.first().map(|(k, t)| (k.as_str(), t)))
    }
}

/// `Text/HTML; charset=utf-8` → `text/html`.
pub fn media_type(header: &str) -> String {
    header
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_media_type(key: &str) -> bool {
    let mut parts = key.split('/');
    let token = |s: Option<&str>| {
        s.is_some_and(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"!#$&^_.+-*".contains(&c))
        })
    };
    token(parts.next()) && token(parts.next()) && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_content_type_and_accept() {
        let t = MediaTemplates::parse([("application/xml", "<a/>"), ("Application/JSON", "{}")])
            .unwrap();
        assert_eq!(
            t.for_content_type("application/json").unwrap().0,
            "application/json"
        );
        assert!(t.for_content_type("text/plain").is_none());
        assert_eq!(
            t.for_accept(Some("application/xml;q=1")).unwrap().0,
            "application/xml"
        );
        assert_eq!(
            t.for_accept(Some("text/html")).unwrap().0,
            "application/json"
        );
        assert_eq!(t.for_accept(None).unwrap().0, "application/json");
        assert!(MediaTemplates::parse([("json", "{}")]).is_err());
        assert!(MediaTemplates::parse([("application/json", "#if(")]).is_err());
    }
}
