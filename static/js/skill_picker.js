/*
 * Skill picker: a click on a search result fills in the <select> it was searched for
 * (data-skill-target names the select's id, data-skill-id the skill). A file rather than an
 * hx-on attribute, so that the Content-Security-Policy needs neither inline script nor eval.
 * Loaded once per page; the listener is delegated, so results swapped in by htmx work too.
 */
(function () {
  "use strict";

  if (window.siriusSkillPicker) {
    return;
  }
  window.siriusSkillPicker = true;

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-skill-target]");
    if (!button) {
      return;
    }
    var select = document.getElementById(button.dataset.skillTarget);
    if (!select) {
      return;
    }
    select.value = button.dataset.skillId;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    select.focus();
  });
})();
