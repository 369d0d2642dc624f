// Submits the LTI auto-post form (id_token to a proctoring tool, or the replayed auth
// request) as soon as the page loads. Without JavaScript the visible button does the same.
const form = document.querySelector("form[data-autosubmit]");
if (form) form.submit();
