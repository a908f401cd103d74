//! The platform's spell checking in the page, in the writer's language. macOS and Windows
//! webviews check spelling wherever the page asks (`spellcheck="true"`); WebKitGTK does only
//! once its web context turns it on.

/// Turns spell checking on for `window`'s webview, where the platform needs it.
pub fn turn_on(window: &tauri::WebviewWindow) {
    #[cfg(target_os = "linux")]
    {
        let languages = languages(std::env::var("LANGUAGE").ok(), std::env::var("LANG").ok());
        let done = window.with_webview(move |webview| {
            use webkit2gtk::{WebContextExt, WebViewExt};
            if let Some(context) = webview.inner().context() {
                let names: Vec<&str> = languages.iter().map(String::as_str).collect();
                context.set_spell_checking_languages(&names);
                context.set_spell_checking_enabled(true);
            }
        });
        if let Err(e) = done {
            tracing::warn!("spell checking stays off: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// The writer's languages as enchant names them ("en_US"), from `LANGUAGE` (a list, in order
/// of preference) or else `LANG` ("de_DE.UTF-8"); English when neither names one.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn languages(language: Option<String>, lang: Option<String>) -> Vec<String> {
    let named = |s: &str| {
        let name = s.split(['.', '@']).next().unwrap_or_default().to_owned();
        (!name.is_empty() && name != "C" && name != "POSIX").then_some(name)
    };
    let mut out: Vec<String> = language.iter().flat_map(|l| l.split(':')).filter_map(named).collect();
    if out.is_empty() {
        out.extend(lang.as_deref().and_then(named));
    }
    if out.is_empty() {
        out.push("en_US".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::languages;

    #[test]
    fn the_writers_languages_come_from_the_locale() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(languages(None, s("de_DE.UTF-8")), ["de_DE"]);
        assert_eq!(languages(s("fr_FR:en_GB"), s("de_DE.UTF-8")), ["fr_FR", "en_GB"]);
        assert_eq!(languages(None, s("C.UTF-8")), ["en_US"]);
        assert_eq!(languages(s(""), None), ["en_US"]);
        assert_eq!(languages(None, s("sr_RS@latin")), ["sr_RS"]);
    }
}
