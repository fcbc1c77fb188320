"""The setup page: one self-contained HTML document (nothing to fetch: the store may be offline)."""

SETUP_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fynlo appliance setup</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 2rem auto; padding: 0 1rem;
         color: #1d2330; }
  h1 { font-size: 1.5rem; }
  label { display: block; margin-top: 1rem; font-weight: 600; }
  input[type=text], input[type=url] { width: 100%; padding: .5rem; font-size: 1rem;
         box-sizing: border-box; }
  .check { font-weight: normal; }
  button { margin-top: 1.5rem; padding: .6rem 1.4rem; font-size: 1rem; }
  #error { color: #a31515; }
  #result li { font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1>Set up this appliance</h1>
<p>Link it to your Fynlo relay with the one-time enrollment code the owner created for this
store. The appliance then downloads the menu and staff and starts selling.</p>
<form id="setup">
  <label for="relay_url">Relay address</label>
  <input id="relay_url" name="relay_url" type="url" required placeholder="https://relay.example.com">
  <label for="code">Enrollment code</label>
  <input id="code" name="code" type="text" required autocomplete="off">
  <label for="name">Name of this appliance</label>
  <input id="name" name="name" type="text" value="appliance" required>
  <label class="check"><input id="demo" name="demo" type="checkbox">
    Start with the demo café menu (only for the organisation's first store)</label>
  <button id="submit" type="submit">Enroll</button>
</form>
<p id="error" role="alert"></p>
<div id="result" role="status" hidden>
  <h2>Enrolled</h2>
  <ul id="lines"></ul>
  <p>Pair the first tablet with this code (valid <span id="minutes"></span> minutes):
    <strong id="pairing_code"></strong></p>
  <p id="state">Starting the store&hellip;</p>
</div>
<script>
const form = document.getElementById("setup");
const error = document.getElementById("error");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const button = document.getElementById("submit");
  button.disabled = true;
  const body = {
    relay_url: form.relay_url.value.trim(),
    code: form.code.value.trim(),
    name: form.name.value.trim() || "appliance",
    demo: form.demo.checked,
  };
  try {
    const response = await fetch("/api/v1/setup/enroll", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) {
      error.textContent = answer.detail || answer.title || "Enrollment failed.";
      button.disabled = false;
      return;
    }
    form.hidden = true;
    const list = document.getElementById("lines");
    for (const line of answer.lines) {
      const item = document.createElement("li");
      item.textContent = line;
      list.appendChild(item);
    }
    document.getElementById("pairing_code").textContent = answer.pairing_code;
    // The appliance's clock, not this tablet's, decides: show how long, not until when.
    const minutes = Math.max(1, Math.round(answer.pairing_code_valid_s / 60));
    document.getElementById("minutes").textContent = minutes;
    document.getElementById("result").hidden = false;
    waitForStore();
  } catch (failure) {
    error.textContent = "The appliance did not answer: " + failure;
    button.disabled = false;
  }
});
async function waitForStore() {
  const state = document.getElementById("state");
  for (;;) {
    try {
      const health = await (await fetch("/health", {cache: "no-store"})).json();
      // The store's app answers "ok" once it has taken over this address from the setup app.
      if (health.status === "ok") {
        state.textContent = "Ready: the store is serving. Pair the first tablet with the code.";
        return;
      }
    } catch (restarting) { /* the store is taking over this address: ask again */ }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
</script>
</body>
</html>
"""
