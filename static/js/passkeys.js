// Passkeys (WebAuthn) for the forms marked data-passkey-form: register (Security page) or
// authenticate (sign-in second step, sudo mode, the console's step-up). The server sends the
// options as JSON and verifies the browser's answer; this file only translates between JSON
// (base64url) and the ArrayBuffers navigator.credentials uses. No inline script (CSP).
(function () {
  "use strict";

  function toBuffer(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  }

  function toText(buffer) {
    let binary = "";
    new Uint8Array(buffer).forEach((b) => { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function publicKeyOptions(options, mode) {
    options.challenge = toBuffer(options.challenge);
    if (mode === "register") {
      options.user.id = toBuffer(options.user.id);
      (options.excludeCredentials || []).forEach((c) => { c.id = toBuffer(c.id); });
    } else {
      (options.allowCredentials || []).forEach((c) => { c.id = toBuffer(c.id); });
    }
    return options;
  }

  function credentialJSON(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) { response.transports = r.getTransports(); }
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) { response.userHandle = toText(r.userHandle); }
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  async function post(url, token, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {}),
    });
    const type = response.headers.get("Content-Type") || "";
    if (response.redirected || !type.includes("application/json")) {
      // A gate asked for the password first, or the session ended: reload to be told.
      window.location.reload();
      throw new Error("reload");
    }
    return { ok: response.ok, data: await response.json() };
  }

  function field(form, name) {
    const input = form.querySelector(`[name="${name}"]`);
    return input ? input.value : "";
  }

  function showError(form, text) {
    const box = form.querySelector("[data-passkey-error]");
    if (box) { box.textContent = text; box.hidden = false; }
  }

  async function run(form) {
    const mode = form.dataset.passkeyMode;
    const token = field(form, "csrfmiddlewaretoken");
    const button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    try {
      const options = await post(form.dataset.optionsUrl, token, {});
      if (!options.ok) { showError(form, options.data.error || "Try again."); return; }
      const publicKey = publicKeyOptions(options.data, mode);
      const credential = mode === "register"
        ? await navigator.credentials.create({ publicKey })
        : await navigator.credentials.get({ publicKey });
      const answer = await post(form.dataset.verifyUrl, token, {
        credential: credentialJSON(credential),
        name: field(form, "name"),
        next: field(form, "next"),
        resume: field(form, "resume"),
      });
      if (answer.data.redirect) { window.location.assign(answer.data.redirect); return; }
      showError(form, answer.data.error || "Try again.");
    } catch (error) {
      if (error.message !== "reload") {
        showError(form, "The passkey was not used (cancelled, or not available here).");
      }
    } finally {
      if (button) { button.disabled = false; }
    }
  }

  document.querySelectorAll("[data-passkey-form]").forEach((form) => {
    if (!window.PublicKeyCredential) {
      showError(form, "This browser cannot use passkeys here.");
      return;
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (form.reportValidity()) { run(form); }
    });
  });
})();
