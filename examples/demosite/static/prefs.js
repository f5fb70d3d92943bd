// A first-party "functional" script: it only marks the page, so the demo can show whether it ran.
document.documentElement.dataset.prefs = "loaded";
