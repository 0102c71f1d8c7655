// Warn before a session ends for inactivity, and let the person extend it (RGAA 13.1, WCAG 2.2.1).
//
// The page carries, from the server, the seconds its session has left and how long before the end
// to warn (data attributes of #session-avertissement, see base.html). Before warning and at the end,
// the script asks /session/restant, which does not keep the session alive: another tab may have used
// it meanwhile. Only « Rester connecté » extends it, by sending its form in the background, so that
// what was typed on the page stays. Without JavaScript none of this shows and the pages work as before.
"use strict";

(function () {
  var warning = document.getElementById("session-avertissement");
  var ended = document.getElementById("session-terminee");
  if (!warning || !ended || typeof warning.showModal !== "function") {
    return;
  }
  var lead = Number(warning.dataset.avertir) * 1000;
  var endText = document.getElementById("session-heure-fin");
  var form = warning.querySelector("form");
  var timer = null;
  var returnFocus = null;

  function schedule(check, delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, Math.max(0, delay));
  }

  function endsAt(left) {
    var end = new Date(Date.now() + left);
    var minutes = Math.max(1, Math.ceil(left / 60000));
    var hour = end.getHours() + " h " + String(end.getMinutes()).padStart(2, "0");
    return "à " + hour + " (dans " + (minutes > 1 ? minutes + " minutes" : "moins d'une minute") + ")";
  }

  function open(dialog) {
    if (!dialog.open) {
      if (!warning.open && !ended.open) {
        returnFocus = document.activeElement;
      }
      dialog.showModal();
    }
    var first = dialog.querySelector("button, a");
    if (first) {
      first.focus();
    }
  }

  function close(dialog) {
    if (dialog.open) {
      dialog.close();
    }
  }

  // Focus goes back where the person was typing when the message closes (button, Escape).
  function restoreFocus() {
    if (!warning.open && !ended.open && returnFocus && document.contains(returnFocus)) {
      returnFocus.focus();
    }
  }
  warning.addEventListener("close", restoreFocus);
  ended.addEventListener("close", restoreFocus);

  // Milliseconds the session has left, as the server sees it now; null when it cannot be asked.
  function askLeft() {
    return fetch("/session/restant", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        return answer === null ? null : Number(answer.restant) * 1000;
      })
      .catch(function () {
        return null;
      });
  }

  function check() {
    askLeft().then(function (left) {
      if (left === null) {
        schedule(check, 10000); // server out of reach for a moment: ask again
      } else if (left <= 0) {
        close(warning);
        open(ended);
      } else if (left > lead) {
        close(warning); // kept alive meanwhile (another tab): warn later
        schedule(check, left - lead);
      } else {
        endText.textContent = endsAt(left);
        open(warning);
        schedule(check, left + 500);
      }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      body: new URLSearchParams(new FormData(form)),
    })
      .then(function (response) {
        return response.ok ? response.json() : { restant: 0 };
      })
      .then(function (answer) {
        var left = Number(answer.restant) * 1000;
        if (left <= 0) {
          close(warning);
          open(ended);
          return;
        }
        close(warning);
        schedule(check, left - lead);
      })
      .catch(function () {
        schedule(check, 0);
      });
  });

  // Escape answers the warning as the button does: closing it alone would let the session end unnoticed.
  warning.addEventListener("cancel", function (event) {
    event.preventDefault();
    form.requestSubmit();
  });
  ended.querySelector("[data-fermer]").addEventListener("click", function () {
    close(ended);
  });
  // Timers of a tab in the background are slowed down: look again when it comes back.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      check();
    }
  });

  schedule(check, Number(warning.dataset.restant) * 1000 - lead);
})();
