// Post the deep linking answer (a signed JWT) back to the platform at once; the button in
// the form does the same for people without JavaScript.
const form = document.getElementById("lti-autopost");
if (form) form.submit();
