// Submits an LTI auto-post form as soon as the page loads: an id_token to a proctoring tool,
// a replayed auth request, or a deep linking answer (a signed JWT) back to the platform.
// Without JavaScript the visible button in the form does the same.
const form = document.querySelector("form[data-autosubmit], form#lti-autopost");
if (form) form.submit();
