// User HTML (the values of `editor` fields) goes into the page only
// through here. Anything else from the server is shown with text bindings
// ({value}), never {@html} or innerHTML: the dashboard's CSP requires
// Trusted Types, so a string handed to an HTML sink throws instead of
// running.
import DOMPurify from "dompurify";

// Links may point to the web, mail and phone, or stay relative; anything
// else (javascript:, data:, vbscript:, ...) is dropped with the attribute.
const SAFE_URL = /^(?:(?:https?|mailto|tel):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;

const purify = DOMPurify(window);

// Links open in a new tab that cannot reach back into the dashboard, and
// never carry the dashboard's address.
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const config = {
  // HTML only: no SVG or MathML, whose parsing differences are where
  // sanitiser bypasses come from.
  USE_PROFILES: { html: true },
  // No forms (they could post the superuser's input elsewhere or submit
  // the record form), no styles (the CSP refuses inline styles, and a
  // style can cover the dashboard with a lookalike), no frames or media.
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "iframe", "frame", "frameset", "object", "embed", "video", "audio", "source", "track", "picture", "template", "dialog"],
  FORBID_ATTR: ["style", "srcset", "action", "formaction", "ping", "background"],
  ALLOWED_URI_REGEXP: SAFE_URL,
  ALLOW_DATA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
};

/** The safe DOM of untrusted HTML, ready to insert without parsing again. */
export function sanitizeFragment(html: string): DocumentFragment {
  return purify.sanitize(html ?? "", { ...config, RETURN_DOM_FRAGMENT: true });
}

/** The safe HTML of untrusted HTML, as a string to store or compare. */
export function sanitizeHTML(html: string): string {
  return purify.sanitize(html ?? "", config);
}

/** Whether url is one a link may point to (see SAFE_URL). */
export function isSafeURL(url: string): boolean {
  return SAFE_URL.test(url.trim());
}
