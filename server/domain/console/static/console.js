// Tech Pal support console: live updates. One EventSource per page on /console/events (every ticket's events, for
// signed-in staff); each event asks the parts of the page that show tickets to catch up:
//  - [data-live-queue] lists get htmx's "queue-changed" event (they re-fetch themselves, see _queue_list.html);
//  - [data-live-ticket="<id>"] notices of that ticket are shown ("this ticket changed").
// The page works without this file; it only saves a reload.
(function () {
  "use strict";

  var KINDS = ["created", "changed", "message"];
  // Events are coalesced: the first one schedules one refresh this long after it, and events until then ride along.
  // (A debounce would never fire on a busy server, where events keep coming.)
  var COALESCE_MS = 500;
  var refreshPending = false;

  function refreshLists() {
    refreshPending = false;
    document.querySelectorAll("[data-live-queue]").forEach(function (list) {
      if (window.htmx) {
        window.htmx.trigger(list, "queue-changed");
      }
    });
  }

  function announce(event) {
    var data = {};
    try {
      data = JSON.parse(event.data);
    } catch (ignored) {
      return;
    }
    if (!refreshPending) {
      refreshPending = true;
      window.setTimeout(refreshLists, COALESCE_MS);
    }
    document.querySelectorAll("[data-live-ticket]").forEach(function (notice) {
      if (notice.getAttribute("data-live-ticket") === data.ticket_id) {
        notice.hidden = false;
      }
    });
  }

  function listen() {
    var url = document.body.getAttribute("data-events");
    if (!url || !window.EventSource) {
      return;
    }
    // The browser reconnects by itself after a network error; a refusal (the session ended) closes it for good.
    var source = new window.EventSource(url);
    KINDS.forEach(function (kind) {
      source.addEventListener(kind, announce);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", listen);
  } else {
    listen();
  }
})();
