/*
 * The card payment page: mount Stripe.js's card element, confirm the PaymentIntent with it,
 * then go to our return page, which asks Stripe for the result and shows it.
 *
 * Everything this script needs comes from data attributes on #card-payment-form (no inline
 * script, so the page works under a strict Content-Security-Policy). Offline, Stripe.js is
 * localstripe's stand-in: its card element is decoration and its confirmCardPayment completes
 * the 3-D Secure step of an intent the server already confirmed with a test card.
 */
(function () {
  "use strict";

  var form = document.getElementById("card-payment-form");
  if (!form) {
    return;
  }
  var errors = document.getElementById("card-errors");
  var button = document.getElementById("card-submit");

  function showError(message) {
    errors.textContent = message || form.dataset.genericError;
    button.disabled = false;
  }

  if (typeof window.Stripe !== "function") {
    showError(form.dataset.loadError);
    button.disabled = true;
    return;
  }

  var stripe = window.Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errors.textContent = "";
    button.disabled = true;
    stripe
      .confirmCardPayment(form.dataset.clientSecret, { payment_method: { card: card } })
      .then(function (result) {
        if (result.error && result.error.type === "validation_error") {
          // Incomplete or invalid card details: nothing was sent, let the client fix them.
          showError(result.error.message);
          return;
        }
        // Paid, refused or abandoned: the return page asks Stripe and says which.
        window.location.assign(form.dataset.returnUrl);
      })
      .catch(function () {
        showError(form.dataset.genericError);
      });
  });
})();
